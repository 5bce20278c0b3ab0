#pragma once

// The KV-cached decoder, for the merged graph and for the split pair alike: the two differ only
// in which graph runs and which inputs it declares, and both are looked up by name.
//   prefill: no-cache graph (merged: use_cache_branch=false, placeholder pasts) over the T
//            prompt tokens -> the last position's logits, and every present.* kept: decoder
//            K/V (length T) and encoder K/V (length S);
//   step n:  cached graph, input_ids = the last token only, pasts = the cache, encoder K/V
//            from the prefill -> logits and decoder K/V one longer (encoder presents ignored).
#include <vector>

#include "decoder/decoder_state.h"
#include "decoder/kv_cache.h"

namespace opusrt {

class CachedDecoder final : public DecoderState {
 public:
  CachedDecoder(const DecoderGraphs& graphs, EncoderOutput encoder);

  StepLogits prefill(std::span<const int64_t> ids, int64_t length) override;
  StepLogits step(std::span<const int64_t> tokens) override;
  void select_rows(std::span<const int64_t> rows) override;
  int64_t rows() const override { return encoder_.rows; }
  int64_t past_length() const override { return cache_.decoder_length(); }
  const KvCache& cache() const { return cache_; }

 private:
  std::vector<runtime::Tensor> run_prefill(const runtime::Tensor& input_ids);
  std::vector<runtime::Tensor> run_cached_step(const runtime::Tensor& input_ids);
  void drop_encoder_hidden_states();

  const DecoderGraphs& graphs_;
  EncoderOutput encoder_;              // after step 0 its hidden states are an empty [B, 0, D]
  std::vector<int64_t> encoder_rows_;  // which source sentence each row decodes
  KvCache cache_;
  runtime::Tensor logits_;
  const runtime::Tensor use_cache_;    // [1] true, fed to every cached step
  std::vector<float> widened_logits_;  // a prefill's last positions, and float16 logits
};

}  // namespace opusrt
