#include "opusrt/translator.h"

#include <algorithm>
#include <chrono>

#include "generation/generator.h"
#include "opusrt/utf8.h"
#include "opusrt/text_units.h"
#include "text/document_batcher.h"
#include "translator/translator_impl.h"

namespace opusrt {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace


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
  // The cut and the join are TextUnits' (opusrt/text_units.h), which the server uses too: one
  // code path, so the server's answer for a text is this function's.
  const TextUnits document(*this, texts, options, split);
  const std::vector<TextUnits::Unit>& units = document.units();
  std::vector<Translation> translated(units.size());
  std::vector<std::string> errors(texts.size());  // per text: its split's or its first unit's error
  for (size_t t = 0; t < texts.size(); ++t) errors[t] = document.error(t);
  std::vector<size_t> lengths;
  lengths.reserve(units.size());
  for (const TextUnits::Unit& unit : units) lengths.push_back(unit.source.size());
  std::vector<std::string> batch_sources;
  std::vector<bool> with_prefix;
  std::vector<size_t> text_of_row;
  for (const std::vector<size_t>& batch : batch_by_length(lengths, max_batch, static_cast<bool>(on_token))) {
    batch_sources.clear();
    with_prefix.clear();
    text_of_row.clear();
    for (size_t unit : batch) {
      batch_sources.push_back(units[unit].source);
      with_prefix.push_back(units[unit].first);
      text_of_row.push_back(units[unit].text);
    }
    std::vector<Translation> results = impl_->translate_units(batch_sources, options, with_prefix, on_token, batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!results[i].ok() && errors[text_of_row[i]].empty()) errors[text_of_row[i]] = results[i].error;
      translated[batch[i]] = std::move(results[i]);
    }
  }
  std::vector<std::string> unit_texts;
  unit_texts.reserve(translated.size());
  for (const Translation& t : translated) unit_texts.push_back(t.text);
  std::vector<std::string> joined = document.join(unit_texts);
  std::vector<TextTranslation> out(texts.size());
  for (size_t u = 0; u < units.size(); ++u) {
    TextTranslation& text = out[units[u].text];
    text.pieces.push_back(units[u].source);
    text.units.push_back(std::move(translated[u]));
  }
  for (size_t t = 0; t < texts.size(); ++t) {
    out[t].error = std::move(errors[t]);
    out[t].text = out[t].ok() ? std::move(joined[t]) : std::string();
  }
  return out;
}

}  // namespace opusrt
