#pragma once

// Rewrites a decoder graph so that its output projection runs on the last position only:
// `logits` becomes [batch, 1, vocab] where it was [batch, sequence, vocab]. `opusrt prepare`
// applies it to the copies it writes; the engine reads only the last position's logits of every
// decoder run (a step has one position; a prefill of a forced prefix, or a recompute step, many).
//
//   LastPositionStats stats = slice_logits_to_last_position(model);  // decoder_model_merged.onnx
//   // stats.graphs_sliced == 2 (both branches), stats.graphs_left == 0
//
// Why: the Optimum decoder computes the 65,001-wide logits for every position, and in a prefill
// over a 32-token prefix at batch 8 that product was half the run (47 of 106 ms on the
// opus-mt-en-zh-size decoder, ONNX Runtime's profiler); ONNX Runtime does not prune it when only
// the last position is used, and does not prune it when `logits` is not requested either.
//
// What is rewritten, in every graph and subgraph with a `logits` output of rank 3: walking back
// from `logits` through Identity and Cast, and through element-wise Add / Sub / Mul / Div whose
// other input is a constant that cannot vary with the position (an initializer of rank <= 2, or
// of rank 3 with a middle dimension of 1: `final_logits_bias` is [1, vocab]), to a MatMul with a
// constant 2-D weight or a com.microsoft MatMulNBits. Its activation input goes through a
// Slice(starts -1, axis 1) first. Both kinds compute each row on its own, so the last row's
// values are those of the full product; anything else (MatMulInteger after a dynamic
// quantization whose scale spans every position, a Reshape, an unknown op; a model of opset 9 or
// older, whose Slice has another form) leaves the graph as it was and is counted in `graphs_left`.
#include <cstddef>

#include "onnx/onnx_pb.h"

namespace opusrt::quantize {

struct LastPositionStats {
  size_t graphs_sliced = 0;  // graphs whose `logits` now holds the last position only
  size_t graphs_left = 0;    // graphs with a `logits` output the rewrite does not recognise
};

LastPositionStats slice_logits_to_last_position(onnx::ModelProto& model);

}  // namespace opusrt::quantize
