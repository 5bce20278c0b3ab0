#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace opusrt::cli {

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
  bool stream = false;
  std::string target_lang;
  std::string decoder = "auto";
  std::string output = "text";
  std::string input;
  std::string input_format = "text";
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

}  // namespace opusrt::cli
