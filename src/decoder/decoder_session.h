#pragma once

// The seam between "how the model is run" and "how tokens are chosen": search code calls
// step() with the tokens it picked and gets the next position's logits back, without knowing
// whether a merged graph, a split pair or the no-cache oracle is behind it.
#include <cstdint>
#include <memory>
#include <span>

#include "decoder/decoder_graphs.h"
#include "encoder/encoder.h"

namespace opusrt {

// One step's logits, one writable row of `vocab` floats per batch row (processors edit in place).
struct StepLogits {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t vocab = 0;
  std::span<float> row(int64_t r) const { return {data + r * vocab, static_cast<size_t>(vocab)}; }
};

class DecoderSession {
 public:
  virtual ~DecoderSession() = default;

  // Feeds one token per batch row (the decoder start token at step 0). The returned logits stay
  // valid until the next call.
  virtual StepLogits step(std::span<const int64_t> tokens) = 0;

  // Row i of the next step continues row rows[i] of the last one: beam search reorders its
  // beams, a batch drops finished rows. Identity selections cost nothing.
  virtual void select_rows(std::span<const int64_t> rows) = 0;
  virtual int64_t rows() const = 0;

  // Decoder positions the next step attends to: the cached past (or, without cache, the prefix).
  virtual int64_t past_length() const = 0;
};

// Starts decoding a batch in the graphs' mode; the session owns the encoder output from here.
std::unique_ptr<DecoderSession> start_decoding(const DecoderGraphs& graphs, EncoderOutput encoder);

// True when rows is 0, 1, ..., n-1 for a batch of n rows.
bool is_identity_selection(std::span<const int64_t> rows, int64_t batch_rows);

}  // namespace opusrt
