#include "model/model_files.h"

#include <algorithm>

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

// The variants whose encoder the directory (or its onnx/ subfolder) has: "fp32" for
// encoder_model.onnx, "q4" for encoder_model_q4.onnx, ...; sorted.
std::vector<std::string> variants_present(const std::filesystem::path& model_dir) {
  std::vector<std::string> found;
  for (const std::filesystem::path& dir : {model_dir, model_dir / "onnx"}) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.starts_with("encoder_model") || !name.ends_with(".onnx")) continue;
      const std::string middle = name.substr(13, name.size() - 13 - 5);  // "" or "_q4"
      if (middle.empty()) found.push_back("fp32");
      else if (middle.size() > 1 && middle[0] == '_') found.push_back(middle.substr(1));
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

}  // namespace

const std::vector<std::string>& ModelFiles::required_support_files() {
  static const std::vector<std::string> files = {"config.json", "source.spm", "target.spm", "vocab.json"};
  return files;
}

const std::vector<std::string>& ModelFiles::optional_support_files() {
  static const std::vector<std::string> files = {"generation_config.json", "tokenizer_config.json",
                                                 "special_tokens_map.json", "target_vocab.json"};
  return files;
}

std::vector<std::filesystem::path> ModelFiles::graphs() const {
  std::vector<std::filesystem::path> out = {encoder};
  for (const auto* graph : {&decoder_merged, &decoder, &decoder_with_past})
    if (*graph) out.push_back(**graph);
  return out;
}

std::string ModelFiles::graph_file(const std::string& stem) const { return graph_name(stem, variant); }

std::vector<std::string> ModelFiles::suffixes(const std::string& variant) {
  if (variant.empty() || variant == "fp32") return {""};  // fp32 has no suffix
  // transformers.js maps dtype q8 to the `_quantized` files; `opusrt quantize --bits 8` writes `_q8`.
  if (variant == "q8") return {"q8", "quantized"};
  return {variant};
}

ModelFiles ModelFiles::find(const std::filesystem::path& model_dir, const std::string& requested_variant) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec))
    throw Error(model_dir.string() + ": model directory not found");

  ModelFiles files;
  files.root = model_dir;
  // The first suffix whose encoder exists, in the directory or its onnx/ subfolder.
  std::string looked_for;
  for (const std::string& suffix : suffixes(requested_variant)) {
    const std::string encoder_name = graph_name("encoder_model", suffix);
    looked_for += (looked_for.empty() ? "" : " nor ") + encoder_name;
    if (existing(model_dir / encoder_name)) {
      files.onnx_dir = model_dir;
    } else if (existing(model_dir / "onnx" / encoder_name)) {
      files.onnx_dir = model_dir / "onnx";
    } else {
      continue;
    }
    files.variant = suffix;
    break;
  }
  if (files.onnx_dir.empty()) {
    std::string present;
    for (const std::string& v : variants_present(model_dir)) present += (present.empty() ? "" : ", ") + v;
    throw Error(model_dir.string() + ": no " + looked_for + " (looked in the directory and in its onnx/ subfolder)" +
                (present.empty() ? std::string() : "; its graphs are of the variants " + present + " (--variant)"));
  }
  const std::string& variant = files.variant;
  const std::string encoder_name = graph_name("encoder_model", variant);
  files.encoder = files.onnx_dir / encoder_name;
  files.decoder_merged = existing(files.onnx_dir / graph_name("decoder_model_merged", variant));
  files.decoder = existing(files.onnx_dir / graph_name("decoder_model", variant));
  files.decoder_with_past = existing(files.onnx_dir / graph_name("decoder_with_past_model", variant));
  // decoder_model.onnx alone is an export without past (no KV cache): the decoder graphs run it in
  // recompute mode.
  if (!files.decoder_merged && !files.decoder) {
    throw Error(files.onnx_dir.string() + ": no decoder: need " + graph_name("decoder_model_merged", variant) +
                ", or " + graph_name("decoder_model", variant) + " (with " +
                graph_name("decoder_with_past_model", variant) + " for the KV cache)");
  }

  auto config = existing(model_dir / "config.json");
  if (!config) throw Error((model_dir / "config.json").string() + ": file not found");
  files.config = *config;
  files.generation_config = existing(model_dir / "generation_config.json");
  return files;
}

}  // namespace opusrt
