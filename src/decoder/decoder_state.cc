#include "decoder/decoder_state.h"

#include "decoder/cached_decoder.h"
#include "decoder/recompute_decoder.h"
#include "opusrt/error.h"

namespace opusrt {

std::unique_ptr<DecoderState> start_decoding(const DecoderGraphs& graphs, EncoderOutput encoder) {
  if (graphs.mode() == DecoderMode::kRecompute) return std::make_unique<RecomputeDecoder>(graphs, std::move(encoder));
  return std::make_unique<CachedDecoder>(graphs, std::move(encoder));
}

bool is_identity_selection(std::span<const int64_t> rows, int64_t batch_rows) {
  if (static_cast<int64_t>(rows.size()) != batch_rows) return false;
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i] != static_cast<int64_t>(i)) return false;
  return true;
}

void check_prefill(std::span<const int64_t> ids, int64_t length, int64_t rows, int64_t past_length) {
  if (past_length != 0)
    throw Error("decoder: prefill on a batch that already decoded " + std::to_string(past_length) + " positions");
  if (length < 1) throw Error("decoder: prefill of " + std::to_string(length) + " tokens per row");
  if (static_cast<int64_t>(ids.size()) != rows * length)
    throw Error("decoder: prefill got " + std::to_string(ids.size()) + " ids for " + std::to_string(rows) +
                " rows of " + std::to_string(length));
}

}  // namespace opusrt
