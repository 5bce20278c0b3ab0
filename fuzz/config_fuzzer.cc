// libFuzzer target: ModelConfig::load, GenerationConfig::load and resolve_max_length.
//
// The input is written to config.json and generation_config.json in a per-process temporary
// directory; when it holds a NUL byte, the bytes before the first NUL are config.json and the
// bytes after it generation_config.json (so the fallback of special ids to config.json is
// exercised too), otherwise both files get the whole input. opusrt::Error is the expected answer to
// bad input; any other exception, a sanitizer report or a broken invariant is a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "model/model_config.h"
#include "opusrt/error.h"

namespace {

namespace fs = std::filesystem;

fs::path* directory = nullptr;  // reachable until exit: not a leak
fs::path* config_path = nullptr;
fs::path* generation_path = nullptr;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_config: %s\n", what.c_str());
  std::abort();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) fail("cannot write " + path.string());
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) fail("cannot write " + path.string());
  if (std::fclose(file) != 0) fail("cannot write " + path.string());
}

void remove_directory() {
  std::error_code ec;
  fs::remove_all(*directory, ec);
}

// resolve_max_length: the call's max_new_tokens wins over the config's, must be >= 1, and the
// result (decoder start included) is in [1, max_position_embeddings].
void check_max_length(const opusrt::GenerationConfig& generation, const opusrt::ModelConfig& config,
                      std::optional<int64_t> max_new_tokens) {
  int64_t length = 0;
  try {
    length = opusrt::resolve_max_length(generation, config, max_new_tokens);
  } catch (const opusrt::Error&) {
    if (max_new_tokens && *max_new_tokens < 1) return;
    fail("resolve_max_length threw on max_new_tokens " + std::to_string(max_new_tokens.value_or(0)));
  }
  if (max_new_tokens && *max_new_tokens < 1) fail("resolve_max_length accepted max_new_tokens < 1");
  if (length < 1 || length > config.max_position_embeddings)
    fail("resolve_max_length returned " + std::to_string(length) + " (max_position_embeddings " +
         std::to_string(config.max_position_embeddings) + ")");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  directory = new fs::path(base / ("opusrt-fuzz-config-" + std::to_string(getpid())));
  fs::create_directories(*directory, ec);
  if (ec) fail("cannot create " + directory->string() + ": " + ec.message());
  config_path = new fs::path(*directory / "config.json");
  generation_path = new fs::path(*directory / "generation_config.json");
  std::atexit(remove_directory);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  write_file(*config_path, input.substr(0, nul));
  write_file(*generation_path, nul == std::string_view::npos ? input : input.substr(nul + 1));

  std::optional<opusrt::ModelConfig> config;
  try {
    config = opusrt::ModelConfig::load(*config_path);
  } catch (const opusrt::Error&) {
  }
  if (config) {
    if (config->d_model < 1 || config->encoder_layers < 1 || config->decoder_layers < 1 ||
        config->encoder_attention_heads < 1 || config->decoder_attention_heads < 1 || config->vocab_size < 1 ||
        config->max_position_embeddings < 1 || config->d_model % config->decoder_attention_heads != 0)
      fail("ModelConfig::load accepted a non-positive size or heads that do not divide d_model");
    if (config->decoder_head_size() * config->decoder_attention_heads != config->d_model)
      fail("decoder_head_size is wrong");
  }

  for (const bool with_generation_file : {true, false}) {
    std::optional<opusrt::GenerationConfig> generation;
    try {
      generation = opusrt::GenerationConfig::load(
          with_generation_file ? std::optional<fs::path>(*generation_path) : std::nullopt, *config_path);
    } catch (const opusrt::Error&) {
    }
    if (!generation) continue;
    if (generation->eos_token_ids.empty()) fail("GenerationConfig::load accepted no eos_token_id");
    if (generation->max_length < 1 || generation->num_beams < 1)
      fail("GenerationConfig::load accepted max_length or num_beams < 1");
    if (!(generation->repetition_penalty > 0) || !(generation->temperature > 0))
      fail("GenerationConfig::load accepted a non-positive repetition_penalty or temperature");
    for (const auto& word : generation->bad_words_ids)
      if (word.empty()) fail("GenerationConfig::load accepted an empty bad word");
    if (std::string(to_string(generation->early_stopping)) == "?")
      fail("GenerationConfig::load made an early_stopping outside the enum");
    (void)generation->eos_token_id();
    if (!config) continue;
    check_max_length(*generation, *config, std::nullopt);
    for (const int64_t n : {int64_t{-1}, int64_t{0}, int64_t{1}, config->max_position_embeddings - 1,
                            config->max_position_embeddings, INT64_MAX, INT64_MIN})
      check_max_length(*generation, *config, n);
    if (generation->max_new_tokens) check_max_length(*generation, *config, generation->max_new_tokens);
  }
  return 0;
}
