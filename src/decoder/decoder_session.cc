#include "decoder/decoder_session.h"

#include "decoder/cached_decoder.h"
#include "decoder/recompute_decoder.h"

namespace opusrt {

std::unique_ptr<DecoderSession> start_decoding(const DecoderGraphs& graphs, const EncoderOutput& encoder) {
  if (graphs.mode() == DecoderMode::kRecompute) return std::make_unique<RecomputeDecoder>(graphs, encoder);
  return std::make_unique<CachedDecoder>(graphs, encoder);
}

}  // namespace opusrt
