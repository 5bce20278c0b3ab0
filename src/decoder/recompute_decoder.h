#pragma once

// The no-cache oracle: every step reruns the no-cache graph over the whole prefix, exactly what
// the system opusrt replaced did at every step. Quadratic; kept to prove the cache right.
#include <vector>

#include "decoder/decoder_state.h"

namespace opusrt {

class RecomputeDecoder final : public DecoderState {
 public:
  RecomputeDecoder(const DecoderGraphs& graphs, EncoderOutput encoder);

  StepLogits prefill(std::span<const int64_t> ids, int64_t length) override;
  StepLogits step(std::span<const int64_t> tokens) override;
  void select_rows(std::span<const int64_t> rows) override;
  int64_t rows() const override { return encoder_.rows; }
  int64_t past_length() const override { return prefix_length_; }

 private:
  StepLogits run_prefixes();

  const DecoderGraphs& graphs_;
  EncoderOutput encoder_;
  std::vector<std::vector<int64_t>> prefixes_;  // per batch row
  int64_t prefix_length_ = 0;
  runtime::Tensor logits_;          // the last run's, read in place when it has one position
  std::vector<float> last_logits_;
};

}  // namespace opusrt
