// `opusrt stream`: live incremental translation of JSON-line partials (or a replay of a text
// file word by word), one JSON line per update; a thin shell over opusrt/incremental.h.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "opusrt/error.h"
#include "opusrt/hub.h"
#include "opusrt/incremental.h"
#include "server/stream_lines.h"

namespace opusrt::cli {
namespace {

// One partial of the JSON-line protocol (server/stream_lines.h), from stdin or --replay-words.
using Partial = server::StreamMessage;

// Each line of a text file becomes a segment whose partials grow by one word, then its final.
std::vector<Partial> replay_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::vector<Partial> partials;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    std::string word, text;
    const std::string segment = std::to_string(number);
    while (words >> word) {
      text += (text.empty() ? "" : " ") + word;
      partials.push_back({segment, text, false, std::nullopt});
    }
    if (!text.empty()) partials.push_back({segment, text, true, std::nullopt});
  }
  return partials;
}

Partial parse_line(const std::string& line, size_t number) {
  try {
    return server::parse_stream_message(line);
  } catch (const Error& e) {
    throw Error("line " + std::to_string(number) + ": " + e.what());
  }
}

}  // namespace

void add_stream_options(CLI::App& app, StreamArgs& args) {
  app.add_option("--model", args.model, "Model directory or hub id")->required();
  app.add_option("--policy", args.policy, "Commit policy: la2, la3 (LocalAgreement-n), hold:N, wait:K");
  app.add_option("--mask", args.mask, "Hide the last K tentative tokens until the final")->check(kNonNegative);
  app.add_option("--bias", args.bias, "Biased search towards the previous hypothesis, in [0, 1)");
  app.add_option("--beams", args.beams, "1: greedy (default for streaming); finals use the same")->check(kPositive);
  app.add_option("--max-new-tokens", args.max_new_tokens, "Cap of a final's translation")->check(kPositive);
  app.add_option("--max-tentative-tokens", args.max_tentative_tokens, "Cap of a partial's new tokens (default 2 x new source tokens + 8)")
      ->check(kPositive);
  app.add_option("--target-lang", args.target_lang, "Target language: the model's code (cmn_Hans) or LibreTranslate's (zh, zt)");
  app.add_option("--input", args.input, "JSON lines {\"segment\", \"text\", \"final\"} (default stdin)");
  app.add_option("--replay-words", args.replay_words, "A text file: each line replayed word by word as a segment");
  app.add_option("--metrics", args.metrics, "Write a JSON summary (erasure, lagging, finals equal offline, compute ratio)");
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: default)");
  app.add_option("--variant", args.variant, kVariantHelp);
}

int run_stream(const StreamArgs& args) {
  if (!args.input.empty() && !args.replay_words.empty()) throw Error("--input and --replay-words: give one");
  TranslatorConfig config;
  config.intra_op_threads = args.threads;
  config.variant = args.variant;
  HubOptions hub;
  hub.variant = args.variant;
  const Translator translator(resolve_model(args.model, hub), config);
  print_model_warnings(translator.model_info());
  IncrementalOptions options;
  options.policy = parse_commit_policy(args.policy);
  options.mask = args.mask;
  options.bias = args.bias;
  options.max_tentative_tokens = args.max_tentative_tokens;
  options.translate.num_beams = args.beams.value_or(1);
  options.translate.max_new_tokens = args.max_new_tokens;
  // tokenizer_config.json read once; a message's "target" is read as --target-lang is.
  const server::LanguageMap languages = server::LanguageMap::for_model(translator.model_info());
  options.translate.target_lang = resolve_target_lang(languages, args.target_lang);
  const server::TargetResolver resolve = [&languages](std::string_view target) {
    return resolve_target_lang(languages, std::string(target), "\"target\"");
  };
  server::StreamConnection stream(translator, options, resolve);
  std::optional<StreamMetrics> metrics;
  if (!args.metrics.empty()) metrics.emplace(translator, options.translate);

  // A line that cannot be translated is answered with {"error": "line N: ..."} (and said on
  // stderr), as the WebSocket endpoint answers a bad message; the stream goes on, the exit
  // status says that some line failed.
  size_t failed = 0;
  const auto fail = [&failed](const std::string& message) {
    ++failed;
    std::cerr << "opusrt stream: " << message << "\n";
    std::cout << server::json_line({{"error", message}}) << "\n" << std::flush;
  };
  auto handle = [&](const Partial& p, size_t number) {
    try {
      if (metrics && p.target && resolve(*p.target) != stream.target_lang())
        throw Error("\"target\" cannot change with --metrics (its offline translations use --target-lang)");
      const server::StreamConnection::Reply reply = stream.push(p);
      if (metrics) metrics->add(reply.update);
      std::cout << server::json_line(reply.line) << "\n" << std::flush;
    } catch (const Error& e) {
      fail("line " + std::to_string(number) + ": " + e.what());
    }
  };

  if (!args.replay_words.empty()) {
    size_t number = 0;
    for (const Partial& p : replay_words(args.replay_words)) handle(p, ++number);
  } else {
    std::ifstream file;
    if (!args.input.empty()) {
      file.open(args.input, std::ios::binary);
      if (!file) throw Error(args.input + ": cannot open file");
    }
    std::istream& in = args.input.empty() ? std::cin : file;
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty() || line == "\r") continue;
      try {
        handle(parse_line(line, number), number);
      } catch (const Error& e) {
        fail(e.what());
      }
    }
  }

  if (metrics) {
    const StreamSummary s = metrics->summary();
    const nlohmann::json summary = {{"policy", to_string(options.policy)},
                                    {"beams", options.translate.num_beams.value_or(1)},
                                    {"mask", options.mask},
                                    {"bias", options.bias},
                                    {"segments", s.segments},
                                    {"updates", s.updates},
                                    {"skipped_updates", s.skipped_updates},
                                    {"finals_equal_offline", s.finals_equal_offline},
                                    {"retractions", s.retractions},
                                    {"ne_committed", s.ne_committed},
                                    {"ne_displayed", s.ne_displayed},
                                    {"laal_words", s.laal_words},
                                    {"ms_per_update", {{"median", s.ms_per_update_median}, {"p95", s.ms_per_update_p95}}},
                                    {"compute_ratio", s.compute_ratio},
                                    {"compute_ratio_partials", s.compute_ratio_partials}};
    std::ofstream out(args.metrics);
    if (!out) throw Error(args.metrics + ": cannot write");
    out << summary.dump(2) << "\n";
  }
  if (failed > 0) std::cerr << "opusrt stream: " << failed << " line(s) failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace opusrt::cli
