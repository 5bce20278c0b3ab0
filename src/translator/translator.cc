#include "opusrt/translator.h"

#include <algorithm>
#include <chrono>

#include "decoder/decoder_graphs.h"
#include "encoder/encoder.h"
#include "generation/generator.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "opusrt/utf8.h"
#include "text/document_batcher.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
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

  // The >>xx<< token of options.target_lang; throws naming the model's language tokens.
  int64_t language_token(const TranslateOptions& options) const {
    const std::string token = ">>" + options.target_lang + "<<";
    const std::optional<int64_t> id = tokenizer.token_id(token);
    if (!id) {
      std::string known;
      for (const std::string& language : tokenizer.language_tokens()) known += " " + language;
      throw Error("target language '" + options.target_lang + "': the model has no " + token + " token" +
                  (known.empty() ? std::string(" (it has no language tokens)") : " (it has:" + known + ")"));
    }
    return *id;
  }

  std::vector<int64_t> source_ids(std::string_view text, const TranslateOptions& options) const {
    std::vector<int64_t> ids = tokenizer.encode(text);
    if (!options.target_lang.empty() && !starts_with_language_code(text)) ids.insert(ids.begin(), language_token(options));
    if (static_cast<int64_t>(ids.size()) > config.max_position_embeddings)
      throw Error("input of " + std::to_string(ids.size()) + " tokens is longer than the model's " +
                  std::to_string(config.max_position_embeddings) + " (max_position_embeddings); split it");
    return ids;
  }


  // generation_config.json with the call's overrides applied, checked.
  GenerationRequest request(const TranslateOptions& options) const {
    GenerationRequest r{generation, options.max_new_tokens, options.seed};
    GenerationConfig& g = r.config;
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
    check_request(r, config);
    return r;
  }

  // The forced target prefix: the text's pieces, then the ids as given.
  std::vector<int64_t> target_prefix(const TranslateOptions& options) const {
    std::vector<int64_t> ids;
    if (!options.target_prefix.empty()) ids = tokenizer.encode_target(options.target_prefix);
    ids.insert(ids.end(), options.target_prefix_ids.begin(), options.target_prefix_ids.end());
    return ids;
  }

  // Translates `texts` in one batch; text i is forced to start with `prefix` when with_prefix[i].
  std::vector<Translation> translate_units(std::span<const std::string> texts, const TranslateOptions& options,
                                           const std::vector<bool>& with_prefix, const TokenCallback& on_token,
                                           std::span<const size_t> callback_index) const;
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

Translation Translator::translate(std::string_view text, const TranslateOptions& options,
                                  const TokenCallback& on_token) const {
  const std::string copy(text);
  Translation translation = std::move(translate_batch(std::span<const std::string>(&copy, 1), options, on_token).front());
  if (!translation.ok()) throw Error(translation.error);
  return translation;
}

std::vector<Translation> Translator::translate_batch(std::span<const std::string> texts,
                                                     const TranslateOptions& options,
                                                     const TokenCallback& on_token) const {
  std::vector<size_t> index(texts.size());
  for (size_t i = 0; i < index.size(); ++i) index[i] = i;
  return impl_->translate_units(texts, options, std::vector<bool>(texts.size(), true), on_token, index);
}

std::vector<Translation> Translator::Impl::translate_units(std::span<const std::string> texts,
                                                           const TranslateOptions& options,
                                                           const std::vector<bool>& with_prefix,
                                                           const TokenCallback& on_token,
                                                           std::span<const size_t> callback_index) const {
  std::vector<Translation> translations(texts.size());
  if (texts.empty()) return translations;
  const auto start = Clock::now();
  const GenerationRequest generation_request = request(options);
  const std::vector<int64_t> prefix = target_prefix(options);
  if (!options.target_lang.empty()) language_token(options);  // wrong for every text: throws

  // Each text's own problems (invalid UTF-8, too long, an unknown language) fail that text only.
  std::vector<size_t> good;  // texts that go to the model
  std::vector<std::vector<int64_t>> sources, prefixes;
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      if (const std::optional<size_t> bad = find_invalid_utf8(texts[i]))
        throw Error("invalid UTF-8 at byte " + std::to_string(*bad));
      sources.push_back(source_ids(texts[i], options));
      prefixes.push_back(with_prefix[i] ? prefix : std::vector<int64_t>{});
      good.push_back(i);
    } catch (const Error& e) {
      translations[i].error = e.what();
    }
  }
  if (good.empty()) return translations;

  const auto encoder_start = Clock::now();
  EncoderOutput encoded = encoder.run(TokenBatch::right_padded(sources, generation.pad_token_id));
  const double encoder_ms = ms_since(encoder_start);

  const auto decoder_start = Clock::now();
  GenerationStream stream;
  if (on_token) {
    stream = [&](const TokenEvent& event) {
      return on_token(callback_index[good[event.sentence]], event.sequence.back(), tokenizer.decode(event.sequence));
    };
  }
  SearchResult result = generate(decoder, config, std::move(encoded), generation_request, prefixes, stream);
  const double decoder_ms = ms_since(decoder_start);

  const bool n_best = generation_request.config.num_return_sequences > 1;
  for (size_t g = 0; g < good.size(); ++g) {
    Translation& t = translations[good[g]];
    std::vector<Hypothesis>& hypotheses = result.hypotheses[g];
    t.source_ids = std::move(sources[g]);
    if (n_best) {
      for (const Hypothesis& h : hypotheses) t.n_best.push_back({tokenizer.decode(h.ids), h.ids, h.score});
    }
    t.output_ids = std::move(hypotheses.front().ids);
    t.score = hypotheses.front().score;
    t.text = tokenizer.decode(t.output_ids);
    t.stopped = result.stopped[g];
  }
  const double total_ms = ms_since(start);
  for (size_t i : good) translations[i].timings = {encoder_ms, decoder_ms, total_ms};
  return translations;
}

TextTranslation Translator::translate_text(std::string_view text, const TranslateOptions& options, SplitMode split,
                                           size_t max_batch, const TokenCallback& on_token) const {
  const std::string copy(text);
  TextTranslation translation =
      std::move(translate_texts(std::span<const std::string>(&copy, 1), options, split, max_batch, on_token).front());
  if (!translation.ok()) throw Error(translation.error);
  return translation;
}

std::vector<TextTranslation> Translator::translate_texts(std::span<const std::string> texts,
                                                         const TranslateOptions& options, SplitMode split,
                                                         size_t max_batch, const TokenCallback& on_token) const {
  const Impl& m = *impl_;
  const DocumentUnits document =
      split_documents(texts, split, [&](std::string_view piece) { return m.fits(piece, options); });
  std::vector<Translation> translated(document.sources.size());
  std::vector<std::string> errors = document.errors;  // per text: its split's or its first unit's error
  std::vector<std::string> batch_sources;
  std::vector<bool> with_prefix;
  std::vector<size_t> text_of_row, unit_of_row;
  for (const std::vector<size_t>& batch : batch_by_length(document.sources, max_batch, static_cast<bool>(on_token))) {
    batch_sources.clear();
    with_prefix.clear();
    text_of_row.clear();
    unit_of_row.clear();
    for (size_t unit : batch) {
      batch_sources.push_back(document.sources[unit]);
      with_prefix.push_back(document.units[unit].first);
      text_of_row.push_back(document.units[unit].text);
      unit_of_row.push_back(unit);
    }
    std::vector<Translation> results = m.translate_units(batch_sources, options, with_prefix, on_token, unit_of_row);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!results[i].ok() && errors[text_of_row[i]].empty()) errors[text_of_row[i]] = results[i].error;
      translated[batch[i]] = std::move(results[i]);
    }
  }
  std::vector<std::string> unit_texts;
  for (const Translation& t : translated) unit_texts.push_back(t.text);
  std::vector<std::string> joined = join_documents(document, unit_texts);
  std::vector<TextTranslation> out(texts.size());
  for (size_t u = 0; u < document.units.size(); ++u) {
    TextTranslation& text = out[document.units[u].text];
    text.pieces.push_back(document.sources[u]);
    text.units.push_back(std::move(translated[u]));
  }
  for (size_t t = 0; t < texts.size(); ++t) {
    out[t].error = std::move(errors[t]);
    out[t].text = out[t].ok() ? std::move(joined[t]) : std::string();
  }
  return out;
}

}  // namespace opusrt
