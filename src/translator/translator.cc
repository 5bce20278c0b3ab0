#include "opusrt/translator.h"

#include <chrono>

#include "decoder/decoder_graphs.h"
#include "decoder/decoder_session.h"
#include "encoder/encoder.h"
#include "logits/logits_processor.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "search/beam_search.h"
#include "search/greedy_search.h"
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
      : files(ModelFiles::find(model_dir)),
        config(ModelConfig::load(files.config)),
        generation(GenerationConfig::load(files.generation_config, files.config)),
        tokenizer(files.root),
        encoder(runtime::Session(files.encoder, session_config), config),
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


  std::unique_ptr<SearchStrategy> search_strategy(const TranslateOptions& options, int64_t max_length) const {
    SearchSettings settings{generation.decoder_start_token_id,
                            generation.pad_token_id,
                            generation.eos_token_ids,
                            max_length,
                            generation.renormalize_logits,
                            options.length_penalty.value_or(generation.length_penalty)};
    const int num_beams = options.num_beams.value_or(generation.num_beams);
    if (num_beams < 1) throw Error("num_beams must be at least 1, got " + std::to_string(num_beams));
    BeamSettings beam;
    beam.num_beams = num_beams;
    beam.num_return_sequences = options.num_return_sequences.value_or(generation.num_return_sequences);
    beam.early_stopping = parse_early_stopping(options.early_stopping.value_or(generation.early_stopping));
    if (num_beams == 1) {
      if (beam.num_return_sequences > 1)
        throw Error("num_return_sequences = " + std::to_string(beam.num_return_sequences) +
                    " needs beam search (num_beams >= num_return_sequences)");
      return std::make_unique<GreedySearch>(settings);
    }
    return std::make_unique<BeamSearch>(settings, beam);
  }
};

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
  const int64_t max_length = resolve_max_length(m.generation, m.config, options.max_new_tokens);
  const std::unique_ptr<SearchStrategy> search = m.search_strategy(options, max_length);

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
  SearchResult result = search->run(*session, sentences, make_processors(m.generation, max_length));
  const double decoder_ms = ms_since(decoder_start);

  const bool n_best = options.num_return_sequences.value_or(m.generation.num_return_sequences) > 1;
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

}  // namespace opusrt
