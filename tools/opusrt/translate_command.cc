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
  app.add_option("--min-new-tokens", args.min_new_tokens, "Ban </s> until N tokens were generated")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repetition-penalty", args.repetition_penalty, "> 1 discourages repeating output tokens")
      ->check(CLI::PositiveNumber);
  app.add_option("--no-repeat-ngram-size", args.no_repeat_ngram_size, "No n-gram of this size twice in the output")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--sample", args.sample, "Sample instead of greedy / beam search (implies --beams 1)");
  app.add_option("--temperature", args.temperature, "Sampling temperature")->check(CLI::PositiveNumber);
  app.add_option("--top-k", args.top_k, "Sample among the K best tokens (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", args.top_p, "Sample among the best tokens reaching probability P")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", args.seed, "Random seed for --sample (same seed, same output)");
  app.add_option("--prefix", args.prefix, "Force the output to start with this target text, then continue");
  app.add_option("--batch-size", args.batch_size, "Lines translated together in one padded batch")
      ->check(CLI::PositiveNumber);
  app.add_flag("--stream", args.stream,
               "Print partial output as it is produced (text: the line grows; jsonl: {\"partial\"} events "
               "before each result); translates line by line");
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

namespace {

class LineWriter {
 public:
  LineWriter(const TranslateArgs& args) : args_(args) {}

  void write(const Translation& translation, bool crlf) {
    if (args_.output == "jsonl") {
      std::cout << to_json(translation).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (args_.stream && translation.text.starts_with(streamed_)) {
      std::cout << translation.text.substr(streamed_.size());
    } else {
      if (args_.stream && !streamed_.empty()) std::cout << '\n';  // the partial line no longer matches
      std::cout << translation.text;
    }
    std::cout << (crlf ? "\r\n" : "\n") << std::flush;
    streamed_.clear();
  }

  // A partial result of the line being translated (--stream).
  void partial(int64_t token, std::string_view text) {
    if (args_.output == "jsonl") {
      std::cout << nlohmann::json{{"partial", text}, {"token", token}}.dump(-1, ' ', false,
                                                                          nlohmann::json::error_handler_t::replace)
                << '\n'
                << std::flush;
    } else if (text.starts_with(streamed_)) {
      // Only ever append: detokenization can rewrite the tail (spaces), which waits for the end.
      std::cout << text.substr(streamed_.size()) << std::flush;
      streamed_ = text;
    }
  }

 private:
  const TranslateArgs& args_;
  std::string streamed_;
};

struct PendingLine {
  size_t number = 0;
  bool crlf = false;
  std::optional<std::string> text;  // nullopt: an empty text line, echoed as empty
};

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
  options.min_new_tokens = args.min_new_tokens;
  options.repetition_penalty = args.repetition_penalty;
  options.no_repeat_ngram_size = args.no_repeat_ngram_size;
  if (args.sample) {
    options.do_sample = true;
    if (!options.num_beams) options.num_beams = 1;
  }
  options.temperature = args.temperature;
  options.top_k = args.top_k;
  options.top_p = args.top_p;
  options.seed = args.seed;
  options.target_prefix = args.prefix;

  LineWriter writer(args);
  if (args.stream) {
    options.on_token = [&](size_t, int64_t token, std::string_view text) { writer.partial(token, text); };
  }
  const size_t batch_size = args.stream ? 1 : static_cast<size_t>(args.batch_size);

  std::ifstream file;
  if (!args.input.empty()) {
    file.open(args.input, std::ios::binary);
    if (!file) throw Error(args.input + ": cannot open file");
  }
  std::istream& in = args.input.empty() ? std::cin : file;

  std::vector<PendingLine> pending;
  auto flush = [&] {
    std::vector<std::string> texts;
    for (const PendingLine& line : pending)
      if (line.text) texts.push_back(*line.text);
    std::vector<Translation> translations;
    try {
      translations = translator.translate_batch(texts, options);
    } catch (const Error& e) {
      // Name the line at fault: retry one by one (the batch failed as a whole).
      for (const PendingLine& line : pending) {
        if (!line.text) continue;
        try {
          translator.translate(*line.text, options);
        } catch (const Error& line_error) {
          throw Error("line " + std::to_string(line.number) + ": " + line_error.what());
        }
      }
      throw;
    }
    size_t next = 0;
    for (const PendingLine& line : pending) writer.write(line.text ? translations[next++] : Translation{}, line.crlf);
    pending.clear();
  };

  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    PendingLine pending_line;
    pending_line.number = line_number;
    pending_line.crlf = !line.empty() && line.back() == '\r';  // CRLF input gives CRLF output
    if (pending_line.crlf) line.pop_back();
    pending_line.text = parse_line(line, args.input_format, line_number);
    pending.push_back(std::move(pending_line));
    if (pending.size() >= batch_size) flush();
  }
  flush();
  return 0;
}

}  // namespace opusrt::cli
