#pragma once

// What config.json and generation_config.json say about a Marian model. Every size the engine
// uses comes from here (and is checked against the graphs), never from a constant.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "opusrt/types.h"

namespace opusrt {

struct ModelConfig {
  int64_t d_model = 0;
  int64_t encoder_layers = 0;
  int64_t decoder_layers = 0;
  int64_t encoder_attention_heads = 0;
  int64_t decoder_attention_heads = 0;
  int64_t vocab_size = 0;
  int64_t decoder_vocab_size = 0;  // = vocab_size unless the config says otherwise
  int64_t max_position_embeddings = 0;

  int64_t decoder_head_size() const { return d_model / decoder_attention_heads; }

  static ModelConfig load(const std::filesystem::path& config_json);
};

// transformers' GenerationConfig fields that opus-mt models set, with transformers' defaults.
// Missing generation_config.json: the fields come from config.json, as transformers does.
struct GenerationConfig {
  int64_t decoder_start_token_id = 0;
  int64_t pad_token_id = 0;
  std::vector<int64_t> eos_token_ids;  // generation stops at any of them; the first is "the" eos
  std::optional<int64_t> forced_eos_token_id;
  std::vector<std::vector<int64_t>> bad_words_ids;
  int64_t max_length = 20;
  std::optional<int64_t> max_new_tokens;
  int64_t min_length = 0;
  std::optional<int64_t> min_new_tokens;
  double repetition_penalty = 1.0;
  int64_t no_repeat_ngram_size = 0;
  std::vector<int64_t> suppress_tokens;
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  int num_beams = 1;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::kFalse;
  int num_return_sequences = 1;
  bool renormalize_logits = false;

  int64_t eos_token_id() const { return eos_token_ids.front(); }

  static GenerationConfig load(const std::optional<std::filesystem::path>& generation_config_json,
                               const std::filesystem::path& config_json);
};

// Total output length (prompt included: the decoder start token and any forced prefix of
// `prompt_length - 1` tokens) that generate() allows: prompt_length + max_new_tokens when given
// (the call's, else the generation config's), else max_length; never more positions than the
// model's position table has.
int64_t resolve_max_length(const GenerationConfig& generation, const ModelConfig& config,
                           std::optional<int64_t> max_new_tokens, int64_t prompt_length = 1);

}  // namespace opusrt
