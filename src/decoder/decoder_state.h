#pragma once

// The seam between "how the model is run" and "how tokens are chosen": search code feeds the
// tokens it picked and gets the next position's logits back, without knowing whether a merged
// graph, a split pair or the no-cache oracle is behind it.
//
//   std::unique_ptr<DecoderState> decoder = start_decoding(graphs, encoder.run(batch));
//   StepLogits logits = decoder->prefill(prompt_ids, prompt_length);  // [start] + forced prefix, one run
//   logits = decoder->step(next_tokens);                               // one token per row
//
// A DecoderState is one batch's decoding in progress (its KV cache, its encoder output): made
// per batch, not shared between threads.
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

class DecoderState {
 public:
  virtual ~DecoderState() = default;

  // The first run of a batch: `length` tokens per row (`ids` is rows x length, row-major; the
  // decoder start token first, then any forced target prefix), through the decoder in ONE run
  // of its no-cache graph. Every position's K/V is kept, so the next step() continues after the
  // last token; the returned logits are the last position's. The graph has no decoder attention
  // mask, so every row has the same length (callers group rows by prefix length).
  virtual StepLogits prefill(std::span<const int64_t> ids, int64_t length) = 0;

  // Feeds one token per batch row. The first call of a batch is prefill(tokens, 1). The
  // returned logits stay valid until the next call.
  virtual StepLogits step(std::span<const int64_t> tokens) = 0;

  // Row i of the next step continues row rows[i] of the last one: beam search reorders (and at
  // the start replicates) its beams, a batch drops finished rows. Identity selections cost nothing.
  virtual void select_rows(std::span<const int64_t> rows) = 0;
  virtual int64_t rows() const = 0;

  // Decoder positions the next step attends to: the cached past (or, without cache, the prefix).
  virtual int64_t past_length() const = 0;
};

// Starts decoding a batch in the graphs' mode; the state owns the encoder output from here.
std::unique_ptr<DecoderState> start_decoding(const DecoderGraphs& graphs, EncoderOutput encoder);

// True when rows is 0, 1, ..., n-1 for a batch of n rows.
bool is_identity_selection(std::span<const int64_t> rows, int64_t batch_rows);

// Checks a prefill's arguments: `ids` holds rows x length tokens, length >= 1, and the past is empty.
void check_prefill(std::span<const int64_t> ids, int64_t length, int64_t rows, int64_t past_length);

}  // namespace opusrt
