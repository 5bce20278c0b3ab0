#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "opusrt/translator.h"

namespace opusrt::cli {

void add_translate_options(CLI::App& app, TranslateArgs& args) {
  app.add_option("--model", args.model, "Model directory (Optimum layout, or Xenova layout with onnx/)")->required();
  app.add_option("--beams", args.beams, "Beam size; 1 is greedy (default: the model's generation_config num_beams)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-new-tokens", args.max_new_tokens, "Cap on generated tokens (default: generation_config max_length)")
      ->check(CLI::PositiveNumber);
  app.add_option("--length-penalty", args.length_penalty,
                 "Beam score = sum of log-probs / length ^ X (default: generation_config)");
  app.add_option("--early-stopping", args.early_stopping, "Beam search stopping rule (default: generation_config)")
      ->check(CLI::IsMember({"true", "false", "never"}));
  app.add_option("--n-best", args.n_best, "Return the N best beam hypotheses (jsonl: n_best)")
      ->check(CLI::PositiveNumber);
  app.add_option("--target-lang", args.target_lang, "Target language code for multi-target models, e.g. cmn_Hans");
  app.add_option("--decoder", args.decoder, "How decoder steps run")
      ->check(CLI::IsMember({"auto", "merged", "split", "recompute"}));
  app.add_option("--output", args.output, "Output format")->check(CLI::IsMember({"text", "jsonl"}));
  app.add_option("--input", args.input, "Read lines from this file instead of stdin")->check(CLI::ExistingFile);
  app.add_option("--input-format", args.input_format,
                 "text: one input per line (an empty line gives an empty line); jsonl: one JSON string per line, "
                 "translated exactly as given (newlines, empty strings)")
      ->check(CLI::IsMember({"text", "jsonl"}));
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: one per physical core)")
      ->check(CLI::NonNegativeNumber);
}

namespace {

nlohmann::json to_json(const Translation& translation) {
  nlohmann::json json = {{"text", translation.text},
                         {"source_ids", translation.source_ids},
                         {"output_ids", translation.output_ids},
                         {"score", translation.score},
                         {"timings_ms",
                          {{"encoder", translation.timings.encoder_ms},
                           {"decoder", translation.timings.decoder_ms},
                           {"total", translation.timings.total_ms}}}};
  if (!translation.n_best.empty()) {
    json["n_best"] = nlohmann::json::array();
    for (const Alternative& alternative : translation.n_best)
      json["n_best"].push_back(
          {{"output_ids", alternative.output_ids}, {"text", alternative.text}, {"score", alternative.score}});
  }
  return json;
}

// One input line -> the text to translate; nullopt for an empty text line (echoed as empty).
std::optional<std::string> parse_line(const std::string& line, const std::string& format, size_t line_number) {
  if (format == "text") {
    if (line.empty()) return std::nullopt;
    return line;
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error("line " + std::to_string(line_number) + ": not a JSON string: " + e.what());
  }
  if (value.is_object() && value.contains("text")) value = value["text"];
  if (!value.is_string()) throw Error("line " + std::to_string(line_number) + ": expected a JSON string or {\"text\": ...}");
  return value.get<std::string>();
}

}  // namespace

int run_translate(const TranslateArgs& args) {
  TranslatorConfig config;
  config.decoder = parse_decoder_mode(args.decoder);
  config.intra_op_threads = args.threads;
  const Translator translator(args.model, config);

  TranslateOptions options;
  options.num_beams = args.beams;
  options.max_new_tokens = args.max_new_tokens;
  options.target_lang = args.target_lang;
  options.length_penalty = args.length_penalty;
  options.early_stopping = args.early_stopping;
  options.num_return_sequences = args.n_best;

  std::ifstream file;
  if (!args.input.empty()) {
    file.open(args.input, std::ios::binary);
    if (!file) throw Error(args.input + ": cannot open file");
  }
  std::istream& in = args.input.empty() ? std::cin : file;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    // CRLF input gives CRLF output.
    const bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.pop_back();
    const std::optional<std::string> text = parse_line(line, args.input_format, line_number);
    Translation translation;
    if (text) {
      try {
        translation = translator.translate(*text, options);
      } catch (const Error& e) {
        throw Error("line " + std::to_string(line_number) + ": " + e.what());
      }
    }
    if (args.output == "jsonl") {
      std::cout << to_json(translation).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      std::cout << translation.text;
    }
    std::cout << (crlf ? "\r\n" : "\n") << std::flush;
  }
  return 0;
}

}  // namespace opusrt::cli
