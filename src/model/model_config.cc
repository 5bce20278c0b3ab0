#include "model/model_config.h"

#include <algorithm>

#include "model/json_file.h"
#include "opusrt/error.h"

namespace opusrt {
namespace {

int64_t positive(const JsonFields& fields, const std::string& field) {
  const int64_t value = fields.require_int(field);
  if (value <= 0) fields.fail(field, "must be positive, got " + std::to_string(value));
  return value;
}

std::vector<int64_t> token_ids(const JsonFields& fields, const std::string& field) {
  const nlohmann::json& value = fields.raw(field);
  std::vector<int64_t> ids;
  if (value.is_number_integer()) {
    ids.push_back(value.get<int64_t>());
  } else if (value.is_array() && !value.empty()) {
    for (const auto& id : value) {
      if (!id.is_number_integer()) fields.fail(field, "must hold integer token ids, got " + value.dump());
      ids.push_back(id.get<int64_t>());
    }
  } else {
    fields.fail(field, "must be a token id or a list of them, got " + value.dump());
  }
  return ids;
}

}  // namespace

ModelConfig ModelConfig::load(const std::filesystem::path& config_json) {
  const nlohmann::json json = read_json_file(config_json);
  const JsonFields fields(json, config_json.string());
  if (auto type = fields.optional_string("model_type"); type && *type != "marian")
    fields.fail("model_type", "is '" + *type + "'; opusrt runs Marian models ('marian')");

  ModelConfig config;
  config.d_model = positive(fields, "d_model");
  config.encoder_layers = positive(fields, "encoder_layers");
  config.decoder_layers = positive(fields, "decoder_layers");
  config.encoder_attention_heads = positive(fields, "encoder_attention_heads");
  config.decoder_attention_heads = positive(fields, "decoder_attention_heads");
  config.vocab_size = positive(fields, "vocab_size");
  config.decoder_vocab_size = fields.optional_int("decoder_vocab_size").value_or(config.vocab_size);
  config.max_position_embeddings = positive(fields, "max_position_embeddings");
  if (config.d_model % config.decoder_attention_heads != 0)
    fields.fail("decoder_attention_heads", "(" + std::to_string(config.decoder_attention_heads) +
                                               ") does not divide d_model (" + std::to_string(config.d_model) + ")");
  return config;
}

GenerationConfig GenerationConfig::load(const std::optional<std::filesystem::path>& generation_config_json,
                                        const std::filesystem::path& config_json) {
  const std::filesystem::path& source = generation_config_json ? *generation_config_json : config_json;
  const nlohmann::json json = read_json_file(source);
  const JsonFields fields(json, source.string());
  // Special ids missing from generation_config.json fall back to config.json, as in transformers.
  const nlohmann::json model_json = generation_config_json ? read_json_file(config_json) : json;
  const JsonFields model_fields(model_json, config_json.string());
  const JsonFields& ids = fields.has("decoder_start_token_id") ? fields : model_fields;

  GenerationConfig config;
  config.decoder_start_token_id = ids.require_int("decoder_start_token_id");
  config.pad_token_id = (fields.has("pad_token_id") ? fields : model_fields).require_int("pad_token_id");
  config.eos_token_ids = token_ids(fields.has("eos_token_id") ? fields : model_fields, "eos_token_id");
  config.forced_eos_token_id = fields.optional_int("forced_eos_token_id");
  if (fields.has("bad_words_ids")) {
    const nlohmann::json& bad = fields.raw("bad_words_ids");
    if (!bad.is_array()) fields.fail("bad_words_ids", "must be a list of token id lists");
    for (const auto& word : bad) {
      if (!word.is_array() || word.empty()) fields.fail("bad_words_ids", "must be a list of non-empty token id lists");
      std::vector<int64_t> sequence;
      for (const auto& id : word) {
        if (!id.is_number_integer()) fields.fail("bad_words_ids", "must hold integer token ids");
        sequence.push_back(id.get<int64_t>());
      }
      config.bad_words_ids.push_back(std::move(sequence));
    }
  }
  config.max_length = fields.optional_int("max_length").value_or(config.max_length);
  config.max_new_tokens = fields.optional_int("max_new_tokens");
  config.min_length = fields.optional_int("min_length").value_or(0);
  config.min_new_tokens = fields.optional_int("min_new_tokens");
  config.repetition_penalty = fields.optional_number("repetition_penalty").value_or(1.0);
  config.no_repeat_ngram_size = fields.optional_int("no_repeat_ngram_size").value_or(0);
  if (fields.has("suppress_tokens")) {
    const nlohmann::json& value = fields.raw("suppress_tokens");
    if (!value.is_array()) fields.fail("suppress_tokens", "must be a list of token ids");
    for (const auto& id : value) {
      if (!id.is_number_integer()) fields.fail("suppress_tokens", "must hold integer token ids");
      config.suppress_tokens.push_back(id.get<int64_t>());
    }
  }
  config.do_sample = fields.optional_bool("do_sample").value_or(false);
  config.temperature = fields.optional_number("temperature").value_or(1.0);
  config.top_k = fields.optional_int("top_k").value_or(50);
  config.top_p = fields.optional_number("top_p").value_or(1.0);
  if (config.repetition_penalty <= 0) fields.fail("repetition_penalty", "must be positive");
  if (config.temperature <= 0) fields.fail("temperature", "must be positive");
  config.num_beams = static_cast<int>(fields.optional_int("num_beams").value_or(1));
  config.length_penalty = fields.optional_number("length_penalty").value_or(1.0);
  config.renormalize_logits = fields.optional_bool("renormalize_logits").value_or(false);
  config.num_return_sequences = static_cast<int>(fields.optional_int("num_return_sequences").value_or(1));
  if (fields.has("early_stopping")) {
    const nlohmann::json& value = fields.raw("early_stopping");
    if (value.is_boolean()) {
      config.early_stopping = value.get<bool>() ? EarlyStopping::kTrue : EarlyStopping::kFalse;
    } else if (value.is_string() && value.get<std::string>() == "never") {
      config.early_stopping = EarlyStopping::kNever;
    } else {
      fields.fail("early_stopping", "must be true, false or \"never\", got " + value.dump());
    }
  }
  if (config.max_length < 1) fields.fail("max_length", "must be at least 1");
  if (config.max_new_tokens && *config.max_new_tokens < 1) fields.fail("max_new_tokens", "must be at least 1");
  if (config.num_beams < 1) fields.fail("num_beams", "must be at least 1");
  return config;
}

int64_t resolve_max_length(const GenerationConfig& generation, const ModelConfig& config,
                           std::optional<int64_t> max_new_tokens, int64_t prompt_length) {
  int64_t length = generation.max_length;
  if (prompt_length < 1) throw Error("resolve_max_length: a prompt of " + std::to_string(prompt_length) + " tokens");
  // Capped by the position table below anyway; capping n first keeps prompt + n from
  // overflowing (also when max_position_embeddings is INT64_MAX).
  const int64_t room = std::max<int64_t>(0, config.max_position_embeddings - prompt_length);
  if (max_new_tokens) {
    if (*max_new_tokens < 1) throw Error("max_new_tokens must be at least 1, got " + std::to_string(*max_new_tokens));
    length = prompt_length + std::min(*max_new_tokens, room);
  } else if (generation.max_new_tokens) {
    length = prompt_length + std::min(*generation.max_new_tokens, room);
  }
  return std::min(length, config.max_position_embeddings);
}

}  // namespace opusrt
