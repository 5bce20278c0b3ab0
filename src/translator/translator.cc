#include "opusrt/translator.h"

#include <algorithm>
#include <numeric>
#include <cctype>
#include <chrono>

#include "decoder/decoder_graphs.h"
#include "decoder/decoder_session.h"
#include "encoder/encoder.h"
#include "logits/logits_processor.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "search/beam_search.h"
#include "search/greedy_search.h"
#include "search/sampler.h"
#include "text/sentence_splitter.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

bool starts_with_language_code(std::string_view text) {
  return text.starts_with(">>") && text.find("<<", 2) != std::string_view::npos;
}

}  // namespace

struct Translator::Impl {
  ModelFiles files;
  ModelConfig config;
  GenerationConfig generation;
  MarianTokenizer tokenizer;
  Encoder encoder;
  DecoderGraphs decoder;
  ModelInfo info;

  Impl(const std::filesystem::path& model_dir, const TranslatorConfig& translator_config,
       const runtime::SessionConfig& session_config)
      : files(ModelFiles::find(model_dir, translator_config.variant)),
        config(ModelConfig::load(files.config)),
        generation(GenerationConfig::load(files.generation_config, files.config)),
        tokenizer(files.root),
        encoder(Encoder::load(files.encoder, session_config, config)),
        decoder(files, config, session_config, translator_config.decoder) {
    check_tokenizer_against_config();
    info.directory = model_dir;
    info.decoder_mode = decoder.mode();
    info.d_model = config.d_model;
    info.encoder_layers = config.encoder_layers;
    info.decoder_layers = config.decoder_layers;
    info.decoder_attention_heads = config.decoder_attention_heads;
    info.vocab_size = config.vocab_size;
    info.max_position_embeddings = config.max_position_embeddings;
    info.decoder_start_token_id = generation.decoder_start_token_id;
    info.eos_token_id = generation.eos_token_id();
    info.pad_token_id = generation.pad_token_id;
    info.default_num_beams = generation.num_beams;
    info.default_max_length = generation.max_length;
    info.language_tokens = tokenizer.language_tokens();
  }

  void check_tokenizer_against_config() const {
    const std::string vocab_file = (files.root / "vocab.json").string();
    if (static_cast<int64_t>(tokenizer.vocab_size()) != config.vocab_size)
      throw Error(vocab_file + ": has " + std::to_string(tokenizer.vocab_size()) + " entries, " +
                  files.config.string() + " vocab_size = " + std::to_string(config.vocab_size));
    if (tokenizer.pad_id() != generation.pad_token_id)
      throw Error(vocab_file + ": <pad> has id " + std::to_string(tokenizer.pad_id()) +
                  ", the generation config's pad_token_id = " + std::to_string(generation.pad_token_id));
    if (tokenizer.eos_id() != generation.eos_token_id())
      throw Error(vocab_file + ": </s> has id " + std::to_string(tokenizer.eos_id()) +
                  ", the generation config's eos_token_id = " + std::to_string(generation.eos_token_id()));
  }

  bool fits(std::string_view text, const TranslateOptions& options) const {
    const size_t language_token = options.target_lang.empty() || starts_with_language_code(text) ? 0 : 1;
    return static_cast<int64_t>(tokenizer.encode(text).size() + language_token) <= config.max_position_embeddings;
  }

  std::vector<int64_t> source_ids(std::string_view text, const TranslateOptions& options) const {
    std::vector<int64_t> ids = tokenizer.encode(text);
    if (!options.target_lang.empty() && !starts_with_language_code(text)) {
      const std::string token = ">>" + options.target_lang + "<<";
      const std::optional<int64_t> id = tokenizer.token_id(token);
      if (!id) {
        std::string known;
        for (const std::string& language : tokenizer.language_tokens()) known += " " + language;
        throw Error("target language '" + options.target_lang + "': the model has no " + token + " token" +
                    (known.empty() ? std::string(" (it has no language tokens)") : " (it has:" + known + ")"));
      }
      ids.insert(ids.begin(), *id);
    }
    if (static_cast<int64_t>(ids.size()) > config.max_position_embeddings)
      throw Error("input of " + std::to_string(ids.size()) + " tokens is longer than the model's " +
                  std::to_string(config.max_position_embeddings) + " (max_position_embeddings); split it");
    return ids;
  }


  // generation_config.json with the call's overrides applied.
  GenerationConfig effective_generation(const TranslateOptions& options) const {
    GenerationConfig g = generation;
    if (options.num_beams) g.num_beams = *options.num_beams;
    if (options.length_penalty) g.length_penalty = *options.length_penalty;
    if (options.early_stopping) g.early_stopping = *options.early_stopping;
    if (options.num_return_sequences) g.num_return_sequences = *options.num_return_sequences;
    if (options.min_new_tokens) g.min_new_tokens = *options.min_new_tokens;
    if (options.repetition_penalty) g.repetition_penalty = *options.repetition_penalty;
    if (options.no_repeat_ngram_size) g.no_repeat_ngram_size = *options.no_repeat_ngram_size;
    g.bad_words_ids.insert(g.bad_words_ids.end(), options.bad_words_ids.begin(), options.bad_words_ids.end());
    g.suppress_tokens.insert(g.suppress_tokens.end(), options.suppress_tokens.begin(), options.suppress_tokens.end());
    if (options.do_sample) g.do_sample = *options.do_sample;
    if (options.temperature) g.temperature = *options.temperature;
    if (options.top_k) g.top_k = *options.top_k;
    if (options.top_p) g.top_p = *options.top_p;
    g.forced_prefix = options.target_prefix_ids;
    if (!options.target_prefix.empty()) {
      const std::vector<int64_t> ids = tokenizer.encode_target(options.target_prefix);
      g.forced_prefix.insert(g.forced_prefix.end(), ids.begin(), ids.end());
    }
    check(g);
    return g;
  }

  void check(const GenerationConfig& g) const {
    auto fail = [](const std::string& message) { throw Error(message); };
    if (g.num_beams < 1) fail("num_beams must be at least 1, got " + std::to_string(g.num_beams));
    if (g.num_return_sequences < 1 || g.num_return_sequences > g.num_beams)
      fail("num_return_sequences = " + std::to_string(g.num_return_sequences) +
           " needs num_beams >= num_return_sequences (num_beams = " + std::to_string(g.num_beams) + ")");
    if (g.do_sample && g.num_beams > 1) fail("sampling with num_beams > 1 (beam sampling) is not supported");
    if (g.repetition_penalty <= 0) fail("repetition_penalty must be positive");
    if (g.no_repeat_ngram_size < 0) fail("no_repeat_ngram_size must not be negative");
    if (g.min_new_tokens && *g.min_new_tokens < 0) fail("min_new_tokens must not be negative");
    if (g.temperature <= 0) fail("temperature must be positive");
    if (g.top_k < 0) fail("top_k must not be negative");
    if (g.top_p <= 0 || g.top_p > 1) fail("top_p must be in (0, 1]");
    auto check_id = [&](int64_t id, const char* what) {
      if (id < 0 || id >= config.decoder_vocab_size)
        fail(std::string(what) + ": token id " + std::to_string(id) + " is outside the vocabulary (0.." +
             std::to_string(config.decoder_vocab_size - 1) + ")");
    };
    for (const auto& word : g.bad_words_ids) {
      if (word.empty()) fail("bad_words_ids: an empty token sequence");
      for (int64_t id : word) check_id(id, "bad_words_ids");
    }
    for (int64_t id : g.suppress_tokens) check_id(id, "suppress_tokens");
    for (int64_t id : g.forced_prefix) check_id(id, "target prefix");
  }

  std::unique_ptr<SearchStrategy> search_strategy(const GenerationConfig& g, int64_t max_length,
                                                  uint64_t seed) const {
    SearchSettings settings{g.decoder_start_token_id, g.pad_token_id, g.eos_token_ids,
                            max_length,               g.renormalize_logits, g.length_penalty};
    if (g.do_sample) return std::make_unique<GreedySearch>(settings, SamplingSettings{g.temperature, g.top_k, g.top_p, seed});
    if (g.num_beams == 1) return std::make_unique<GreedySearch>(settings);
    return std::make_unique<BeamSearch>(
        settings, BeamSettings{g.num_beams, g.num_return_sequences, parse_early_stopping(g.early_stopping)});
  }
};

SplitMode parse_split_mode(std::string_view text) {
  if (text == "auto") return SplitMode::kAuto;
  if (text == "sentences") return SplitMode::kSentences;
  if (text == "none") return SplitMode::kNone;
  throw Error("unknown split mode '" + std::string(text) + "' (expected auto, sentences or none)");
}

const char* to_string(DecoderMode mode) {
  switch (mode) {
    case DecoderMode::kAuto: return "auto";
    case DecoderMode::kMerged: return "merged";
    case DecoderMode::kSplit: return "split";
    case DecoderMode::kRecompute: return "recompute";
  }
  return "?";
}

DecoderMode parse_decoder_mode(std::string_view text) {
  if (text == "auto") return DecoderMode::kAuto;
  if (text == "merged") return DecoderMode::kMerged;
  if (text == "split") return DecoderMode::kSplit;
  if (text == "recompute") return DecoderMode::kRecompute;
  throw Error("unknown decoder mode '" + std::string(text) + "' (expected auto, merged, split or recompute)");
}

Translator::Translator(const std::filesystem::path& model_dir, const TranslatorConfig& config) {
  runtime::SessionConfig session_config;
  session_config.intra_op_threads = config.intra_op_threads;
  session_config.huge_pages = config.huge_pages;
  impl_ = std::make_unique<Impl>(model_dir, config, session_config);
}

Translator::~Translator() = default;
Translator::Translator(Translator&&) noexcept = default;
Translator& Translator::operator=(Translator&&) noexcept = default;

const ModelInfo& Translator::model_info() const { return impl_->info; }

Translation Translator::translate(std::string_view text, const TranslateOptions& options) const {
  const std::string copy(text);
  return std::move(translate_batch(std::span<const std::string>(&copy, 1), options).front());
}

std::vector<Translation> Translator::translate_batch(std::span<const std::string> texts,
                                                     const TranslateOptions& options) const {
  if (texts.empty()) return {};
  const Impl& m = *impl_;
  const auto start = Clock::now();
  const GenerationConfig generation = m.effective_generation(options);
  const int64_t max_length = resolve_max_length(generation, m.config, options.max_new_tokens);
  const std::unique_ptr<SearchStrategy> search = m.search_strategy(generation, max_length, options.seed);

  std::vector<std::vector<int64_t>> sources;
  sources.reserve(texts.size());
  for (const std::string& text : texts) sources.push_back(m.source_ids(text, options));

  const auto encoder_start = Clock::now();
  EncoderOutput encoded = m.encoder.run(TokenBatch::right_padded(sources, m.generation.pad_token_id));
  const double encoder_ms = ms_since(encoder_start);

  const auto decoder_start = Clock::now();
  const int64_t sentences = encoded.rows;
  if (search->rows_per_sentence() > 1) {
    // Every beam of a sentence starts from the sentence's encoder output.
    std::vector<int64_t> rows;
    for (int64_t s = 0; s < sentences; ++s) rows.insert(rows.end(), search->rows_per_sentence(), s);
    encoded = encoded.select_rows(rows);
  }
  std::unique_ptr<DecoderSession> session = start_decoding(m.decoder, std::move(encoded));
  SearchHooks hooks;
  if (options.on_token) {
    hooks.on_token = [&](int64_t sentence, std::span<const int64_t> sequence) {
      options.on_token(static_cast<size_t>(sentence), sequence.back(), m.tokenizer.decode(sequence));
    };
  }
  SearchResult result = search->run(*session, sentences, make_processors(generation, max_length), hooks);
  const double decoder_ms = ms_since(decoder_start);

  const bool n_best = generation.num_return_sequences > 1;
  std::vector<Translation> translations(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    Translation& t = translations[i];
    std::vector<Hypothesis>& hypotheses = result.hypotheses[i];
    t.source_ids = std::move(sources[i]);
    if (n_best) {
      for (const Hypothesis& h : hypotheses) t.n_best.push_back({m.tokenizer.decode(h.ids), h.ids, h.score});
    }
    t.output_ids = std::move(hypotheses.front().ids);
    t.score = hypotheses.front().score;
    t.text = m.tokenizer.decode(t.output_ids);
  }
  const double total_ms = ms_since(start);
  for (Translation& translation : translations) translation.timings = {encoder_ms, decoder_ms, total_ms};
  return translations;
}

TextTranslation Translator::translate_text(std::string_view text, const TranslateOptions& options, SplitMode split,
                                           size_t max_batch) const {
  const std::string copy(text);
  return std::move(translate_texts(std::span<const std::string>(&copy, 1), options, split, max_batch).front());
}

std::vector<TextTranslation> Translator::translate_texts(std::span<const std::string> texts,
                                                         const TranslateOptions& options, SplitMode split,
                                                         size_t max_batch) const {
  const Impl& m = *impl_;
  if (max_batch == 0) throw Error("translate_text: max_batch must be at least 1");
  struct Unit {
    size_t text, segment;
  };
  std::vector<std::vector<TextSegment>> segments(texts.size());
  std::vector<TextTranslation> out(texts.size());
  std::vector<Unit> units;  // every unit of every text, in order
  std::vector<std::string> unit_sources;
  for (size_t t = 0; t < texts.size(); ++t) {
    const std::string& text = texts[t];
    if (split == SplitMode::kNone || (split == SplitMode::kAuto && m.fits(text, options))) {
      segments[t].push_back({"", text, ""});
    } else {
      segments[t] = split_sentences(text);
    }
    for (size_t i = 0; i < segments[t].size(); ++i) {
      // Blank text is kept, not translated; except with kNone, which translates exactly what it is given.
      if (split != SplitMode::kNone && is_blank(segments[t][i].content)) continue;
      std::vector<std::string> pieces;
      if (split == SplitMode::kNone) {
        pieces.push_back(segments[t][i].content);
      } else {
        pieces = split_to_fit(segments[t][i].content, [&](std::string_view piece) { return m.fits(piece, options); });
      }
      for (std::string& piece : pieces) {
        units.push_back({t, i});
        out[t].pieces.push_back(piece);
        unit_sources.push_back(std::move(piece));
      }
    }
  }
  // Batches of units of similar length: padding costs every row of a batch the longest row's
  // encoder positions (and cross-attention over them at every decoder step). Results go back to
  // text order. A streaming caller gets the units in text order, as it shows them.
  std::vector<size_t> by_length(unit_sources.size());
  std::iota(by_length.begin(), by_length.end(), size_t{0});
  if (!options.on_token) {
    std::stable_sort(by_length.begin(), by_length.end(),
                     [&](size_t a, size_t b) { return unit_sources[a].size() < unit_sources[b].size(); });
  }
  std::vector<Translation> translated(unit_sources.size());
  std::vector<std::string> batch_sources;
  for (size_t start = 0; start < by_length.size(); start += max_batch) {
    const size_t count = std::min(max_batch, by_length.size() - start);
    batch_sources.clear();
    for (size_t i = start; i < start + count; ++i) batch_sources.push_back(unit_sources[by_length[i]]);
    std::vector<Translation> batch = translate_batch(batch_sources, options);
    for (size_t i = 0; i < count; ++i) translated[by_length[start + i]] = std::move(batch[i]);
  }
  // Reassemble: pieces of one sentence are rejoined with a space where the source had
  // whitespace at the cut; sentences get their original surroundings back.
  std::vector<std::vector<std::string>> joined(texts.size());
  for (size_t t = 0; t < texts.size(); ++t) joined[t].resize(segments[t].size());
  for (size_t u = 0; u < units.size(); ++u) {
    std::string& target = joined[units[u].text][units[u].segment];
    const bool continues = u > 0 && units[u - 1].text == units[u].text && units[u - 1].segment == units[u].segment;
    if (continues && !target.empty()) {
      const std::string& before = unit_sources[u - 1];
      const std::string& after = unit_sources[u];
      if (std::isspace(static_cast<unsigned char>(before.back())) || std::isspace(static_cast<unsigned char>(after.front())))
        target += ' ';
    }
    target += translated[u].text;
    out[units[u].text].units.push_back(std::move(translated[u]));
  }
  for (size_t t = 0; t < texts.size(); ++t) out[t].text = join_segments(segments[t], joined[t]);
  return out;
}

}  // namespace opusrt
