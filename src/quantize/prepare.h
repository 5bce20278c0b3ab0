#pragma once

// `opusrt prepare`: writes each graph of a model again with its weights in an external data file
// (`.opusrt-prepared/` next to the graphs, runtime/prepared_graph.h says why), which every
// session then loads in its place while the source file is unchanged. In the decoder graphs the
// output projection then runs on the last position only (quantize/last_position_logits.h says
// why): `logits` is [batch, 1, vocab], the only position the engine reads. Every value the
// engine reads is computed as before: translations are identical, load time, memory and the
// prefill of a forced prefix are not.
//
//   PrepareOptions options;
//   options.variants = {"", "q4"};                        // fp32 and the q4 variant
//   for (const PreparedGraph& g : prepare_model("models/opus-mt-en-zh", options))
//     std::printf("%s -> %s\n", g.source.c_str(), g.output.c_str());
//
// Lives with the quantizer because it reads and writes ONNX protobuf with libonnx, which the
// opusrt library must not link (tools/opusrt/quantize_forward.cc says why).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace opusrt {

struct PrepareOptions {
  std::vector<std::string> variants = {""};  // "" (or "fp32"): the plain graphs; else a variant suffix
  bool force = false;                        // write again even when the prepared copy is fresh
  bool check_with_onnxruntime = true;        // load each copy in ONNX Runtime before it counts
  bool last_position_logits = true;          // slice the decoders' output projection to the last position
};

struct PreparedGraph {
  std::filesystem::path source;
  std::filesystem::path output;  // the prepared copy
  uint64_t bytes = 0;            // written (graph + data file); 0 when already fresh
  bool already_fresh = false;    // nothing written: the copy matched the source
  // Graphs (an If branch counts as one) whose `logits` now hold the last position only, and those
  // with a `logits` output the rewrite did not recognise and left computing every position.
  size_t logits_sliced = 0, logits_left = 0;
};

// Errors name the model directory, the variant or the graph file (missing, unparsable, changed
// while being read, a directory that cannot be written). A copy that fails is never left looking
// fresh: its stamp is removed before and written after everything else.
std::vector<PreparedGraph> prepare_model(const std::filesystem::path& model_dir, const PrepareOptions& options);

}  // namespace opusrt
