#pragma once

// Weight-only quantization of an exported model: a new graph variant next to the fp32 graphs.
//
//   opusrt::QuantizeOptions options;      // 4 bits, blocks of 32, with zero points
//   opusrt::QuantizeResult result = opusrt::quantize_model("opus-mt-en-zh/", options);
//   // opus-mt-en-zh/encoder_model_q4.onnx, decoder_model_merged_q4.onnx, ... written;
//   opusrt::TranslatorConfig config;
//   config.variant = result.variant;       // "q4"
//   opusrt::Translator translator("opus-mt-en-zh/", config);
//
// Every fp32 graph of the model (encoder, merged decoder, and the split pair when present;
// Optimum or Xenova layout) is read with libonnx, each MatMul with a constant weight (a float32
// initializer or a Transpose of one, in any subgraph; the output projection included) becomes
// com.microsoft MatMulNBits in ONNX Runtime's format (quantize/block_quantizer.h), each weight
// quantized once however many nodes share it, and the graph is checked (onnx::checker, under the
// newest rules of the libonnx linked when the graph's IR version is newer; then loaded by ONNX
// Runtime) before anything appears at its final name. Graphs whose weights were
// in external data (`.onnx_data`) are written with external data too.
//
// Output: without `out`, `<graph>_<variant>.onnx` next to each fp32 graph (an existing file of
// that name is an error; nothing is overwritten). With `out`, a new model directory (it must not
// exist) with the variant's graphs in the source's layout and copies of the config, generation
// config and tokenizer files. Either way everything is written to a temporary directory first
// and renamed into place at the end: on any error nothing is left behind.
//
// This is a library of its own (opusrt_quantize, not part of libopusrt.so) because it links
// libonnx and protobuf, which translation does not need; the CLI and the tests link it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace opusrt {

struct QuantizeOptions {
  int bits = 4;             // 4 or 8
  int block_size = 32;      // values per scale along K: 32, 64 or 128
  bool symmetric = false;   // no zero points (the kernel's 2^(bits-1)); default: a zero point per block
  std::vector<std::string> skip;  // MatMul node names or weight names to keep in float32
  std::filesystem::path out;      // empty: next to the fp32 graphs; else a new model directory
  std::string variant;            // the file suffix; empty: "q4" for 4 bits, "q8" for 8
  // MatMulNBits' accuracy_level (0-4; unset: not written, ONNX Runtime's 0). Default 4 (int8
  // activations): on the opus-mt-en-zh-size model (scripts/bench.sh, 2 threads, rounds against
  // fp32) level 0 ran 4-bit at 2.2x / 1.06x fp32 (batch 1 / 8) and 8-bit at 0.07x (ONNX Runtime
  // has no fast fp32-activation kernel for 8-bit blocks), level 4 at 3.4x / 1.8x and 2.7x / 1.7x;
  // its cost in quality is measured by scripts/train/publish.sh (models/catalogs-en-zh/scores).
  std::optional<int> accuracy_level = 4;
  bool check_with_onnxruntime = true;  // load every written graph in ONNX Runtime before putting it in place
};

struct QuantizedGraph {
  std::filesystem::path source;  // the fp32 graph
  std::filesystem::path output;  // where its variant now is
  size_t matmuls = 0;            // MatMul nodes rewritten
  size_t weights = 0;            // distinct weights quantized
  size_t skipped = 0;            // constant-weight MatMuls kept in float32 (QuantizeOptions::skip)
  uint64_t source_bytes = 0;     // the graph file plus its external data
  uint64_t output_bytes = 0;
  bool external_data = false;    // written with a .onnx_data file
};

struct QuantizeResult {
  std::filesystem::path model_dir;  // load the variant from here
  std::string variant;
  std::vector<QuantizedGraph> graphs;
  std::vector<std::filesystem::path> copied;  // config and tokenizer files copied (with `out`)
};

// Throws opusrt::Error naming the file, option or tensor at fault: bits or block size out of
// range, a model directory without graphs or config, a graph that does not parse or whose
// external data is missing, no MatMul with a constant weight in the whole model, a `skip` name
// that names nothing, an output that exists.
QuantizeResult quantize_model(const std::filesystem::path& model_dir, const QuantizeOptions& options);

}  // namespace opusrt
