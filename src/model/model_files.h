#pragma once

// Finds the files of an exported model in either layout a user has:
//   Optimum: every file in one directory;
//   Xenova (transformers.js hub repos): the .onnx graphs in an `onnx/` subfolder.
#include <filesystem>
#include <optional>
#include <string>

namespace opusrt {

struct ModelFiles {
  std::filesystem::path root;      // config, generation config and tokenizer files
  std::filesystem::path onnx_dir;  // the graphs (root or root/onnx)
  std::string variant;             // "" for fp32, else the `_<variant>` file suffix
  std::filesystem::path config;
  std::optional<std::filesystem::path> generation_config;
  std::filesystem::path encoder;
  std::optional<std::filesystem::path> decoder_merged;
  std::optional<std::filesystem::path> decoder;            // no-cache graph
  std::optional<std::filesystem::path> decoder_with_past;  // cached steps of the split pair

  // Throws opusrt::Error naming the directory and the file that is missing.
  static ModelFiles find(const std::filesystem::path& model_dir, const std::string& variant = "");
};

}  // namespace opusrt
