#include "model/model_files.h"

#include "opusrt/error.h"

namespace opusrt {
namespace {

std::optional<std::filesystem::path> existing(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  return std::nullopt;
}

std::string graph_name(const std::string& stem, const std::string& variant) {
  return variant.empty() ? stem + ".onnx" : stem + "_" + variant + ".onnx";
}

}  // namespace

ModelFiles ModelFiles::find(const std::filesystem::path& model_dir, const std::string& requested_variant) {
  const std::string variant = requested_variant == "fp32" ? "" : requested_variant;  // fp32 has no suffix
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec))
    throw Error(model_dir.string() + ": model directory not found");

  ModelFiles files;
  files.root = model_dir;
  files.variant = variant;
  const std::string encoder_name = graph_name("encoder_model", variant);
  if (existing(model_dir / encoder_name)) {
    files.onnx_dir = model_dir;
  } else if (existing(model_dir / "onnx" / encoder_name)) {
    files.onnx_dir = model_dir / "onnx";
  } else {
    throw Error(model_dir.string() + ": no " + encoder_name + " (looked in the directory and in its onnx/ subfolder)");
  }
  files.encoder = files.onnx_dir / encoder_name;
  files.decoder_merged = existing(files.onnx_dir / graph_name("decoder_model_merged", variant));
  files.decoder = existing(files.onnx_dir / graph_name("decoder_model", variant));
  files.decoder_with_past = existing(files.onnx_dir / graph_name("decoder_with_past_model", variant));
  if (!files.decoder_merged && !(files.decoder && files.decoder_with_past)) {
    throw Error(files.onnx_dir.string() + ": no decoder: need " + graph_name("decoder_model_merged", variant) +
                ", or " + graph_name("decoder_model", variant) + " and " +
                graph_name("decoder_with_past_model", variant));
  }

  auto config = existing(model_dir / "config.json");
  if (!config) throw Error((model_dir / "config.json").string() + ": file not found");
  files.config = *config;
  files.generation_config = existing(model_dir / "generation_config.json");
  return files;
}

}  // namespace opusrt
