#include "decoder/decoder_session.h"

#include "decoder/cached_decoder.h"
#include "decoder/recompute_decoder.h"

namespace opusrt {

std::unique_ptr<DecoderSession> start_decoding(const DecoderGraphs& graphs, EncoderOutput encoder) {
  if (graphs.mode() == DecoderMode::kRecompute) return std::make_unique<RecomputeDecoder>(graphs, std::move(encoder));
  return std::make_unique<CachedDecoder>(graphs, std::move(encoder));
}

bool is_identity_selection(std::span<const int64_t> rows, int64_t batch_rows) {
  if (static_cast<int64_t>(rows.size()) != batch_rows) return false;
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i] != static_cast<int64_t>(i)) return false;
  return true;
}

}  // namespace opusrt
