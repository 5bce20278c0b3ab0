#pragma once

// Rewrites the MatMuls of one ONNX model whose weight is a constant into com.microsoft
// MatMulNBits (block_quantizer.h has the format).
//
//   RewriteStats stats = rewrite_matmuls(model, {.quantization = {.bits = 4, .block_size = 32}}, "encoder_model.onnx");
//
// What counts as a constant weight: MatMul's input B is a 2-D float32 initializer of the graph
// or of an enclosing graph (the merged decoder's If branches read the top-level initializers),
// or the output of a Transpose (perm [1, 0] or none) of one (a tied output projection that reads
// the shared embedding [vocab, d_model] through a Transpose). Every MatMul of every subgraph is
// visited; a weight several MatMuls share (both branches of the merged decoder, or two
// Transposes of one embedding) is quantized once, its packed initializers placed in the graph
// that holds the float weight. Float weights and Transposes no node reads any more are removed;
// nothing else of the graph changes (names of inputs, outputs and values are kept).
#include <cstddef>
#include <optional>
#include <set>
#include <string>

#include "onnx/onnx_pb.h"
#include "quantize/block_quantizer.h"

namespace opusrt::quantize {

struct RewriteSettings {
  BlockQuantization quantization;
  std::optional<int> accuracy_level;  // MatMulNBits' accuracy_level attribute; unset: not written
  // MatMul node names, B input names or weight initializer names to leave in float32.
  std::set<std::string> skip;
};

struct RewriteStats {
  size_t matmuls = 0;           // MatMul nodes now MatMulNBits
  size_t weights = 0;           // distinct weights quantized
  size_t skipped = 0;           // constant-weight MatMuls left as they were (RewriteSettings::skip)
  std::set<std::string> skip_names_seen;  // the entries of `skip` that named something here
};

// `label` names the model in errors (a weight that cannot be quantized).
RewriteStats rewrite_matmuls(onnx::ModelProto& model, const RewriteSettings& settings, const std::string& label);

}  // namespace opusrt::quantize
