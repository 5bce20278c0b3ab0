#pragma once

// What a Translator holds once its model is loaded, and the option resolution every caller of
// the engine shares (Translator, IncrementalSession). Internal: not installed.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder_graphs.h"
#include "encoder/encoder.h"
#include "generation/generator.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "opusrt/translator.h"
#include "runtime/session.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt {

inline bool starts_with_language_code(std::string_view text) {
  return text.starts_with(">>") && text.find("<<", 2) != std::string_view::npos;
}

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
    info.intra_op_threads = session_config.intra_op_threads;
    info.d_model = config.d_model;
    info.encoder_layers = config.encoder_layers;
    info.decoder_layers = config.decoder_layers;
    info.decoder_attention_heads = config.decoder_attention_heads;
    info.vocab_size = config.vocab_size;
    info.decoder_vocab_size = config.decoder_vocab_size;
    info.max_position_embeddings = config.max_position_embeddings;
    info.decoder_start_token_id = generation.decoder_start_token_id;
    info.eos_token_id = generation.eos_token_id();
    info.pad_token_id = generation.pad_token_id;
    info.default_num_beams = generation.num_beams;
    info.default_do_sample = generation.do_sample;
    info.default_max_length = generation.max_length;
    info.language_tokens = tokenizer.language_tokens();
    if (translator_config.decoder == DecoderMode::kAuto && decoder.mode() == DecoderMode::kRecompute)
      info.warnings.push_back(no_kv_cache_warning());
  }

  // Why auto mode fell back to recompute, and what to do about it.
  std::string no_kv_cache_warning() const {
    const std::string slow = ": every step reruns the decoder over the whole prefix, several times slower than "
                             "with a KV cache";
    if (decoder.logits_only())
      return (files.onnx_dir / files.decoder->filename()).string() + " returns logits only (an export without past, no " +
             files.graph_file("decoder_with_past_model") + ")" + slow +
             "; export with optimum-cli --task text2text-generation-with-past for one";
    return files.onnx_dir.string() + ": no " + files.graph_file("decoder_model_merged") + " and no " +
           files.graph_file("decoder_with_past_model") + slow + "; add either of them (from the same export)";
  }

  void check_tokenizer_against_config() const {
    tokenizer.check_sizes(config.vocab_size, config.decoder_vocab_size, files.config.string());
    const std::string vocab_file = (files.root / "vocab.json").string();
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

}  // namespace opusrt
