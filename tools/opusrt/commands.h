#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <vector>
#include <string>

#include "opusrt/error.h"
#include "opusrt/translator.h"
#include "server/language_map.h"

namespace opusrt::cli {

// Number checks for options. CLI11's PositiveNumber / NonNegativeNumber say "Value 0 not in range
// 0.000000 to 1797693134862315708145..." (the range of a double); these say what is wanted.
inline CLI::Validator number_check(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& value) -> std::string {
        char* end = nullptr;
        const double number = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size()) return "'" + value + "' is not a number";
        if (allow_zero ? number >= 0 : number > 0) return "";
        return std::string(allow_zero ? "must be 0 or more" : "must be greater than 0") + ", got " + value;
      },
      allow_zero ? ">= 0" : "> 0");
}
inline const CLI::Validator kPositive = number_check(false);
inline const CLI::Validator kNonNegative = number_check(true);

// --variant's help, the same for every command that loads a model.
inline constexpr const char* kVariantHelp =
    "Graph variant: fp32 (default), or the file suffix of another: quantized, fp16, int8, uint8, q4, ...";

// --target-lang as the server takes `target` (server::LanguageMap::target_lang): the model's
// code (cmn_Hans) or LibreTranslate's (zh, zt; zh-CN, ...) -> TranslateOptions::target_lang.
// Throws opusrt::Error naming `what` and the model's languages.
inline std::string resolve_target_lang(const server::LanguageMap& languages, const std::string& target,
                                       const std::string& what = "--target-lang") {
  if (target.empty()) return target;
  try {
    return languages.target_lang(target);
  } catch (const Error& e) {
    std::string message = e.what();
    if (message.starts_with("Invalid request: ")) message.erase(0, 17);  // the HTTP answer's wording
    throw Error(what + ": " + message);
  }
}

// The loaded model's warnings (ModelInfo::warnings) on stderr, one line each.
inline void print_model_warnings(const ModelInfo& info) {
  for (const std::string& warning : info.warnings) std::cerr << "opusrt: warning: " << warning << "\n";
}

struct TranslateArgs {
  std::string model;
  std::optional<int> beams;
  std::optional<int64_t> max_new_tokens;
  std::optional<double> length_penalty;
  std::optional<std::string> early_stopping;
  std::optional<int> n_best;
  std::optional<int64_t> min_new_tokens;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> no_repeat_ngram_size;
  bool sample = false;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  uint64_t seed = 0;
  std::string prefix;
  int batch_size = 16;
  int maxi_batch = 16;
  bool stream = false;
  std::string split;  // default: auto for text input, none for jsonl input
  std::string output_file;
  bool replace_invalid = false;
  std::string progress = "auto";
  std::string target_lang;
  std::string decoder = "auto";
  std::string variant;
  std::string output = "text";
  std::string input;
  std::string input_format = "text";
  std::string format = "text";  // html: the whole input is one HTML document
  int threads = 0;
};
void add_translate_options(CLI::App& app, TranslateArgs& args);
int run_translate(const TranslateArgs& args);

struct InspectArgs {
  std::string model;
  int threads = 0;
};
void add_inspect_options(CLI::App& app, InspectArgs& args);
int run_inspect(const InspectArgs& args);

struct DownloadArgs {
  std::string model;
  std::string revision = "main";
  std::string variant;
  bool quiet = false;
};
void add_download_options(CLI::App& app, DownloadArgs& args);
int run_download(const DownloadArgs& args);

struct ServeArgs {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 5000;
  int workers = 2;
  int max_batch = 16;
  int batch_wait_ms = 5;
  int64_t max_chars = 10000;
  std::string api_keys;
  int queue_size = 1024;
  int http_threads = 64;
  int threads = 0;
  std::string decoder = "auto";
  std::string variant;
  std::optional<int64_t> max_new_tokens;
  int drain_timeout = 60;
  int stream_port = -1;  // off
  bool no_web = false;
};
void add_serve_options(CLI::App& app, ServeArgs& args);
int run_serve(const ServeArgs& args);

struct StreamArgs {
  std::string model;
  std::string policy = "la2";
  int mask = 0;
  double bias = 0;
  std::optional<int> beams;
  std::optional<int64_t> max_new_tokens;
  std::optional<int64_t> max_tentative_tokens;
  std::string target_lang;
  std::string input;
  std::string replay_words;
  std::string metrics;
  std::string variant;
  int threads = 0;
};
void add_stream_options(CLI::App& app, StreamArgs& args);
int run_stream(const StreamArgs& args);

struct BenchArgs {
  std::string model;
  std::string json;
  std::string peer_json;
  int threads = 2;
  int runs = 5;
  int warmup = 1;
  int64_t new_tokens = 64;
  int64_t source_length = 25;
  bool quick = false;
  bool greedy_only = false;
  std::string decoder = "auto";
  std::string huge_pages = "on";
  std::string variant;
  std::vector<std::string> compare_variants;
};
void add_bench_options(CLI::App& app, BenchArgs& args);
int run_bench(const BenchArgs& args);

struct EvalArgs {
  std::string model;
  std::string source;
  std::string reference;
  std::string target_lang;
  std::optional<int> beams;
  std::optional<int64_t> max_new_tokens;
  std::vector<std::string> variants;
  int batch_size = 16;
  int threads = 0;
  std::string json;
  std::string output;
};
void add_eval_options(CLI::App& app, EvalArgs& args);
int run_eval(const EvalArgs& args);

// `opusrt quantize ARGS...` runs `opusrt-quantize ARGS...` (installed next to opusrt) in place of
// this process (quantize_forward.cc says why it is a program of its own), and `opusrt prepare
// ARGS...` runs `opusrt-quantize prepare ARGS...`. Returns only on error.
int exec_quantize(int argc, char** argv);

}  // namespace opusrt::cli
