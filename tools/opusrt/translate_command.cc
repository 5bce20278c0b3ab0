#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "opusrt/html.h"
#include "opusrt/hub.h"
#include "opusrt/translator.h"
#include "opusrt/utf8.h"

namespace opusrt::cli {

void add_translate_options(CLI::App& app, TranslateArgs& args) {
  app.add_option("--model", args.model,
                 "Model directory (Optimum layout, or Xenova layout with onnx/), or a hub id such as "
                 "Xenova/opus-mt-en-zh (downloaded once into the Hugging Face cache)")
      ->required();
  app.add_option("--beams", args.beams, "Beam size; 1 is greedy (default: the model's generation_config num_beams)")
      ->check(kPositive);
  app.add_option("--max-new-tokens", args.max_new_tokens, "Cap on generated tokens (default: generation_config max_length)")
      ->check(kPositive);
  app.add_option("--length-penalty", args.length_penalty,
                 "Beam score = sum of log-probs / length ^ X (default: generation_config)");
  app.add_option("--early-stopping", args.early_stopping, "Beam search stopping rule (default: generation_config)")
      ->check(CLI::IsMember({"true", "false", "never"}));
  app.add_option("--n-best", args.n_best, "Return the N best beam hypotheses (jsonl: n_best)")
      ->check(kPositive);
  app.add_option("--min-new-tokens", args.min_new_tokens, "Ban </s> until N tokens were generated")
      ->check(kNonNegative);
  app.add_option("--repetition-penalty", args.repetition_penalty, "> 1 discourages repeating output tokens")
      ->check(kPositive);
  app.add_option("--no-repeat-ngram-size", args.no_repeat_ngram_size, "No n-gram of this size twice in the output")
      ->check(kNonNegative);
  app.add_flag("--sample", args.sample, "Sample instead of greedy / beam search (implies --beams 1)");
  app.add_option("--temperature", args.temperature, "Sampling temperature")->check(kPositive);
  app.add_option("--top-k", args.top_k, "Sample among the K best tokens (0: all)")->check(kNonNegative);
  app.add_option("--top-p", args.top_p, "Sample among the best tokens reaching probability P")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", args.seed, "Random seed for --sample (same seed, same output)");
  app.add_option("--prefix", args.prefix, "Force the output to start with this target text, then continue");
  app.add_option("--batch-size", args.batch_size, "Lines translated together in one padded batch")
      ->check(kPositive);
  app.add_option("--maxi-batch", args.maxi_batch,
                 "Read this many batches of lines ahead and batch them by length (less padding); "
                 "output order is kept. 1: batches in input order")
      ->check(kPositive);
  app.add_flag("--stream", args.stream,
               "Print partial output as it is produced (text: the line grows; jsonl: {\"partial\"} events "
               "before each result); translates line by line");
  app.add_option("--split", args.split,
                 "auto (default for text input): a line is one unit when it fits the model, else sentences; "
                 "sentences: always sentence by sentence; none (default for jsonl input): the text exactly as given, "
                 "as one unit, as transformers would translate it (an error when too long). Nothing is ever cropped.")
      ->check(CLI::IsMember({"auto", "sentences", "none"}));
  app.add_option("--output-file", args.output_file,
                 "Write here instead of stdout, atomically (a temporary file renamed at the end)");
  app.add_flag("--replace-invalid", args.replace_invalid,
               "Replace invalid UTF-8 bytes with U+FFFD instead of stopping with an error naming the line");
  app.add_option("--progress", args.progress, "Progress bar on stderr: auto (when stderr is a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--target-lang", args.target_lang, "Target language of a multi-target model: its code (cmn_Hans) or LibreTranslate's (zh, zt)");
  app.add_option("--decoder", args.decoder, "How decoder steps run")
      ->check(CLI::IsMember({"auto", "merged", "split", "recompute"}));
  app.add_option("--variant", args.variant,
                 kVariantHelp);
  app.add_option("--output", args.output, "Output format")->check(CLI::IsMember({"text", "jsonl"}));
  app.add_option("--input", args.input, "Read lines from this file instead of stdin")->check(CLI::ExistingFile);
  app.add_option("--input-format", args.input_format,
                 "text: one input per line (an empty line gives an empty line); jsonl: one JSON string per line, "
                 "translated exactly as given (newlines, empty strings)")
      ->check(CLI::IsMember({"text", "jsonl"}));
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: one per physical core)")
      ->check(kNonNegative);
  app.add_option("--format", args.format,
                 "text: line by line (default); html: the whole input is one HTML document, its text translated "
                 "and its markup kept (script, style, code, pre and translate=\"no\" untouched); the output is the "
                 "document")
      ->check(CLI::IsMember({"text", "html"}));
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

// One line's result: a single unit looks like a Translation; a split line lists its segments.
nlohmann::json to_json(const std::string& source, const TextTranslation& result) {
  if (result.units.size() == 1 && result.pieces.front() == source) {
    nlohmann::json json = to_json(result.units.front());
    json["text"] = result.text;
    return json;
  }
  nlohmann::json json = {{"text", result.text}, {"source_ids", nlohmann::json::array()},
                         {"output_ids", nlohmann::json::array()}};
  if (!result.units.empty()) {
    json["segments"] = nlohmann::json::array();
    for (size_t i = 0; i < result.units.size(); ++i) {
      nlohmann::json segment = to_json(result.units[i]);
      segment["source"] = result.pieces[i];
      segment.erase("timings_ms");
      json["segments"].push_back(std::move(segment));
    }
    json["timings_ms"] = to_json(result.units.front())["timings_ms"];
  }
  return json;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// One input line -> the text to translate; nullopt for a blank text line (echoed as it is).
std::optional<std::string> parse_line(const std::string& line, const TranslateArgs& args, size_t line_number) {
  if (args.input_format == "text") {
    if (is_blank(line)) return std::nullopt;
    return args.replace_invalid ? replace_invalid_utf8(line) : line;
  }
  if (is_blank(line))
    throw Error("line " + std::to_string(line_number) + ": empty; expected a JSON string or {\"text\": ...}");
  nlohmann::json value;
  try {
    // Invalid UTF-8 can only sit inside a JSON string: replaced, the line stays valid JSON.
    value = nlohmann::json::parse(args.replace_invalid ? replace_invalid_utf8(line) : line);
  } catch (const nlohmann::json::exception& e) {
    throw Error("line " + std::to_string(line_number) + ": not a JSON string: " + e.what());
  }
  if (value.is_object() && value.contains("text")) value = value["text"];
  if (!value.is_string()) throw Error("line " + std::to_string(line_number) + ": expected a JSON string or {\"text\": ...}");
  return value.get<std::string>();
}

// Where output lines go: stdout, or a temporary file renamed over --output-file at the end so
// that a reader never sees half a translation and an error leaves no partial file.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    if (path_.empty()) return;
    temporary_ = path_ + ".tmp." + std::to_string(::getpid());
    file_.open(temporary_, std::ios::binary | std::ios::trunc);
    if (!file_) throw Error(path_ + ": cannot write (temporary file " + temporary_ + ")");
  }
  ~Output() {
    if (!temporary_.empty() && !committed_) {
      file_.close();
      std::filesystem::remove(temporary_);
    }
  }
  std::ostream& stream() { return path_.empty() ? std::cout : file_; }
  void commit() {
    if (path_.empty()) return;
    file_.close();
    if (!file_) throw Error(path_ + ": writing failed");
    std::filesystem::rename(temporary_, path_);
    committed_ = true;
  }

 private:
  std::string path_, temporary_;
  std::ofstream file_;
  bool committed_ = false;
};

class LineWriter {
 public:
  LineWriter(const TranslateArgs& args, std::ostream& out) : args_(args), out_(out) {}

  // `source`: the input line; `text`: what was translated (the line, or its JSON string).
  void write(const std::string& source, const std::optional<std::string>& text,
             const std::optional<TextTranslation>& result, bool crlf) {
    if (args_.output == "jsonl") {
      const nlohmann::json json = result ? to_json(*text, *result)
                                         : nlohmann::json{{"text", source}, {"source_ids", nlohmann::json::array()},
                                                          {"output_ids", nlohmann::json::array()}};
      out_ << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      std::string line = result ? result->text : source;
      // One output line per input line, whatever the model produced.
      std::replace(line.begin(), line.end(), '\n', ' ');
      std::replace(line.begin(), line.end(), '\r', ' ');
      if (args_.stream && line.starts_with(streamed_)) {
        out_ << line.substr(streamed_.size());
      } else {
        if (args_.stream && !streamed_.empty()) out_ << '\n';  // the partial line no longer matches
        out_ << line;
      }
    }
    out_ << (crlf ? "\r\n" : "\n") << std::flush;
    streamed_.clear();
  }

  // A partial result of the line being translated (--stream).
  void partial(int64_t token, std::string_view text) {
    if (args_.output == "jsonl") {
      out_ << nlohmann::json{{"partial", text}, {"token", token}}.dump(-1, ' ', false,
                                                                       nlohmann::json::error_handler_t::replace)
           << '\n'
           << std::flush;
    } else if (text.starts_with(streamed_) && text.find('\n') == std::string_view::npos) {
      // Only ever append: detokenization can rewrite the tail (spaces), which waits for the end.
      out_ << text.substr(streamed_.size()) << std::flush;
      streamed_ = text;
    }
  }

 private:
  const TranslateArgs& args_;
  std::ostream& out_;
  std::string streamed_;
};

// lines done / total, tokens per second, ETA; redrawn in place on a terminal.
class ProgressBar {
 public:
  ProgressBar(bool enabled, size_t total_lines) : enabled_(enabled), total_(total_lines), start_(Clock::now()) {}
  void update(size_t lines, size_t tokens) {
    if (!enabled_) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    std::string bar;
    if (total_ > 0) {
      const size_t filled = std::min<size_t>(30, lines * 30 / total_);
      bar = "[" + std::string(filled, '#') + std::string(30 - filled, '.') + "] ";
    }
    std::fprintf(stderr, "\r%s%zu%s lines, %.1f tok/s", bar.c_str(), lines,
                 total_ > 0 ? ("/" + std::to_string(total_)).c_str() : "", seconds > 0 ? tokens / seconds : 0.0);
    if (total_ > 0 && lines > 0 && lines < total_) {
      const double eta = seconds / static_cast<double>(lines) * static_cast<double>(total_ - lines);
      std::fprintf(stderr, ", ETA %d:%02d", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    }
    std::fprintf(stderr, "   ");
    std::fflush(stderr);
  }
  void finish() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  size_t total_;
  Clock::time_point start_;
};

struct PendingLine {
  size_t number = 0;
  bool crlf = false;
  std::string source;
  std::optional<std::string> text;  // nullopt: a blank text line, echoed as it is
};

size_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  size_t lines = 0;
  char last = '\n';
  for (std::istreambuf_iterator<char> it(in), end; it != end; ++it) {
    last = *it;
    lines += last == '\n';
  }
  return lines + (last != '\n');
}

}  // namespace

int run_translate(const TranslateArgs& args) {
  TranslatorConfig config;
  config.decoder = parse_decoder_mode(args.decoder);
  config.intra_op_threads = args.threads;
  config.variant = args.variant;
  HubOptions hub;
  hub.variant = args.variant;
  hub.progress_bar = true;
  const Translator translator(resolve_model(args.model, hub), config);
  print_model_warnings(translator.model_info());

  TranslateOptions options;
  options.num_beams = args.beams;
  options.max_new_tokens = args.max_new_tokens;
  options.target_lang =
      resolve_target_lang(server::LanguageMap::for_model(translator.model_info()), args.target_lang);
  options.length_penalty = args.length_penalty;
  if (args.early_stopping) options.early_stopping = parse_early_stopping(*args.early_stopping);
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
  // Settings that would do nothing are said, not silently dropped.
  const ModelInfo& info = translator.model_info();
  if (!args.sample && !info.default_do_sample && (args.temperature || args.top_k || args.top_p))
    std::cerr << "opusrt: warning: --temperature, --top-k and --top-p apply only when sampling (--sample); "
                 "ignored\n";
  if (args.max_new_tokens && *args.max_new_tokens >= info.max_position_embeddings)
    std::cerr << "opusrt: warning: --max-new-tokens " << *args.max_new_tokens << ": a translation ends at the model's "
              << info.max_position_embeddings << " positions (max_position_embeddings), decoder start token included\n";
  // The library's check names its fields (num_return_sequences, num_beams); say it in flags.
  if (args.n_best && *args.n_best > 1) {
    if (args.sample) throw Error("--n-best " + std::to_string(*args.n_best) + " needs beam search, not --sample");
    const int64_t beams = args.beams.value_or(translator.model_info().default_num_beams);
    if (beams < *args.n_best)
      throw Error("--n-best " + std::to_string(*args.n_best) + " needs --beams " + std::to_string(*args.n_best) +
                  " or more (" + (args.beams ? "--beams is " : "the model's default is ") + std::to_string(beams) +
                  ")");
  }
  const SplitMode split = parse_split_mode(!args.split.empty() ? args.split
                                           : args.input_format == "jsonl" ? "none"
                                                                          : "auto");

  Output output(args.output_file);
  if (args.format == "html") {
    if (args.stream || args.output == "jsonl" || args.input_format == "jsonl")
      throw Error("--format html translates one document: it does not combine with --stream, --output jsonl or "
                  "--input-format jsonl");
    std::ifstream file;
    if (!args.input.empty()) {
      file.open(args.input, std::ios::binary);
      if (!file) throw Error(args.input + ": cannot open file");
    }
    std::istream& in = args.input.empty() ? std::cin : file;
    const std::string document{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw Error((args.input.empty() ? std::string("stdin") : args.input) + ": cannot read");
    const std::string html = args.replace_invalid ? replace_invalid_utf8(document) : document;
    try {
      output.stream() << translate_html(translator, html, options, split, static_cast<size_t>(args.batch_size));
    } catch (const Error& e) {
      throw Error((args.input.empty() ? std::string("stdin") : args.input) + ": " + e.what());
    }
    output.stream().flush();
    output.commit();
    return 0;
  }
  LineWriter writer(args, output.stream());
  TokenCallback on_token;
  if (args.stream) {
    on_token = [&](size_t, int64_t token, std::string_view text) {
      writer.partial(token, text);
      return true;
    };
  }
  const size_t batch_size = args.stream ? 1 : static_cast<size_t>(args.batch_size);
  // Lines read before translating: translate_texts sorts them by length into batches.
  const size_t lines_per_read = args.stream ? 1 : batch_size * static_cast<size_t>(args.maxi_batch);
  const bool show_progress =
      args.progress == "always" || (args.progress == "auto" && ::isatty(STDERR_FILENO) && !args.stream);
  ProgressBar progress(show_progress, show_progress && !args.input.empty() ? count_lines(args.input) : 0);

  std::ifstream file;
  if (!args.input.empty()) {
    file.open(args.input, std::ios::binary);
    if (!file) throw Error(args.input + ": cannot open file");
  }
  std::istream& in = args.input.empty() ? std::cin : file;

  std::vector<PendingLine> pending;
  size_t lines_done = 0, tokens_done = 0;
  auto flush = [&] {
    std::vector<std::string> texts;
    for (const PendingLine& line : pending)
      if (line.text) texts.push_back(*line.text);
    std::vector<TextTranslation> results = translator.translate_texts(texts, options, split, batch_size, on_token);
    size_t next = 0;
    for (const PendingLine& line : pending) {
      std::optional<TextTranslation> result;
      if (line.text) {
        result = std::move(results[next++]);
        if (!result->ok()) throw Error("line " + std::to_string(line.number) + ": " + result->error);
        for (const Translation& unit : result->units) tokens_done += unit.output_ids.size() - 1;
      }
      writer.write(line.source, line.text, result, line.crlf);
    }
    lines_done += pending.size();
    progress.update(lines_done, tokens_done);
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
    pending_line.text = parse_line(line, args, line_number);
    pending_line.source = std::move(line);
    pending.push_back(std::move(pending_line));
    if (pending.size() >= lines_per_read) flush();
  }
  flush();
  progress.finish();
  output.commit();
  return 0;
}

}  // namespace opusrt::cli
