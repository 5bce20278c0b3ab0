#pragma once

// Finds the files of an exported model in either layout a user has:
//   Optimum: every file in one directory;
//   Xenova (transformers.js hub repos): the .onnx graphs in an `onnx/` subfolder.
//
// A variant is the file suffix of its graphs: "quantized" -> encoder_model_quantized.onnx.
// What the hub publishes: "" / "fp32" (no suffix), "fp16", "quantized" (dynamic int8,
// MatMulInteger), "int8", "uint8" (the same with int8 / uint8 weights), "q4" (4-bit
// MatMulNBits), "q4f16", "bnb4"; `opusrt quantize` writes "q4" and "q8". One name is an alias:
// "q8" is transformers.js's dtype for the `_quantized` files, so it means `*_q8.onnx` when a
// directory has them (`opusrt quantize --bits 8`) and `*_quantized.onnx` otherwise.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace opusrt {

struct ModelFiles {
  std::filesystem::path root;      // config, generation config and tokenizer files
  std::filesystem::path onnx_dir;  // the graphs (root or root/onnx)
  std::string variant;             // "" for fp32, else the `_<variant>` file suffix found (q8 -> "quantized")
  std::filesystem::path config;
  std::optional<std::filesystem::path> generation_config;
  std::filesystem::path encoder;
  std::optional<std::filesystem::path> decoder_merged;
  std::optional<std::filesystem::path> decoder;            // no-cache graph
  std::optional<std::filesystem::path> decoder_with_past;  // cached steps of the split pair

  // Every graph file found: the encoder, then the merged decoder and the split pair when present.
  std::vector<std::filesystem::path> graphs() const;
  // The file name of graph `stem` ("decoder_with_past_model") in this variant, found or not.
  std::string graph_file(const std::string& stem) const;

  // Throws opusrt::Error naming the directory and the file that is missing.
  static ModelFiles find(const std::filesystem::path& model_dir, const std::string& variant = "");

  // The files of a model directory besides its graphs, all at its root: those the engine needs
  // (config and tokenizer), then those it reads when present.
  static const std::vector<std::string>& required_support_files();
  static const std::vector<std::string>& optional_support_files();

  // The file suffixes a requested variant may stand for, in the order they are tried: {""} for
  // "" and "fp32", {"q8", "quantized"} for "q8", else the name itself.
  static std::vector<std::string> suffixes(const std::string& variant);
};

}  // namespace opusrt
