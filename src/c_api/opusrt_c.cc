// The C API (include/opusrt/opusrt.h) over the C++ Translator. Every entry point runs its body
// inside guard(), which turns any exception into a status code and the thread's last error, so
// nothing C++ crosses the boundary.
#include "opusrt/opusrt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opusrt/incremental.h"
#include "opusrt/translator.h"
#include "opusrt/utf8.h"
#include "hub/names.h"

struct opusrt_config {
  opusrt::TranslatorConfig config;
};

struct opusrt_options {
  opusrt::TranslateOptions options;
  // Incremental sessions' settings (translate calls ignore them).
  std::optional<opusrt::CommitPolicy> policy;
  int mask = 0;
  double bias = 0;
  std::optional<int64_t> max_tentative_tokens;
  // opusrt_translate_text's call arguments, kept here so that its signature never grows.
  opusrt::SplitMode split = opusrt::SplitMode::kAuto;
  size_t max_batch = kDefaultMaxBatch;
  static constexpr size_t kDefaultMaxBatch = 32;  // Translator::translate_text's default
};

struct opusrt_translator {
  explicit opusrt_translator(opusrt::Translator t) : translator(std::move(t)) {
    // ">>cmn_Hans<<" -> "cmn_Hans", kept here so that opusrt_language's strings live as long.
    for (const std::string& token : translator.model_info().language_tokens)
      languages.push_back(token.size() > 4 ? token.substr(2, token.size() - 4) : token);
  }
  opusrt::Translator translator;
  std::vector<std::string> languages;
};

struct opusrt_session {
  opusrt::IncrementalSession session;
};

struct opusrt_update {
  opusrt::IncrementalUpdate update;
};

// One entry per text (opusrt_translate) or unit (opusrt_translate_text).
struct opusrt_result {
  std::vector<opusrt::Translation> translations;
  std::vector<std::string> sources;      // the text or unit each translation is of
  std::vector<opusrt_status> statuses;   // OPUSRT_OK, or why that translation failed
  std::vector<std::string> messages;     // "" or the failure's message, naming the text
  std::optional<std::string> joined;     // opusrt_translate_text's whole translation
};

namespace {

// A status and its message, thrown inside guard() for errors the C layer detects itself.
struct CError {
  opusrt_status status;
  std::string message;
};

[[noreturn]] void fail(opusrt_status status, std::string message) { throw CError{status, std::move(message)}; }

thread_local std::string last_error;

// Never throws: when the message cannot be stored, a short one that fits the string's existing
// buffer (always at least 15 bytes) is stored instead.
void set_last_error(std::string_view message, std::string_view detail = {}) noexcept {
  try {
    last_error.assign(message);
    last_error.append(detail);
  } catch (...) {
    last_error.assign("out of memory");
  }
}

// Runs body (which returns nothing and reports failures by throwing) and maps what it throws.
// on_error: the status an opusrt::Error from the C++ library means at this entry point.
template <typename Body>
opusrt_status guard(opusrt_status on_error, Body&& body) noexcept {
  try {
    body();
    last_error.clear();
    return OPUSRT_OK;
  } catch (const CError& e) {
    set_last_error(e.message);
    return e.status;
  } catch (const opusrt::Error& e) {
    set_last_error(e.what());
    return on_error;
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return OPUSRT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error("internal error: ", e.what());
    return OPUSRT_ERROR_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception");
    return OPUSRT_ERROR_INTERNAL;
  }
}

template <typename T>
void require(const T* pointer, const char* function, const char* name) {
  if (pointer == nullptr) fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + name + " is NULL");
}

// A C caller may pass any int where the header says an enum; C++ must not load a value outside the
// enumerators' range as that enum (undefined behaviour), so the argument's bytes are read instead.
template <typename Enum>
int enum_bits(const Enum* value) noexcept {
  static_assert(sizeof(Enum) == sizeof(int), "the C enums are int-sized");
  int bits = 0;
  std::memcpy(&bits, value, sizeof bits);
  return bits;
}

void check_index(const opusrt_result* result, size_t index, const char* function) {
  require(result, function, "result");
  if (index >= result->translations.size())
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": index " + std::to_string(index) +
                                            " is out of range (the result has " +
                                            std::to_string(result->translations.size()) + " translations)");
}

const opusrt::Translation& translation_at(const opusrt_result* result, size_t index, const char* function) {
  check_index(result, index, function);
  return result->translations[index];
}

// Hypothesis `rank` of translation `index`: n_best when it was asked for, else the translation.
struct Hypothesis {
  const std::string& text;
  const std::vector<int64_t>& output_ids;
  double score;
};

Hypothesis hypothesis_at(const opusrt_result* result, size_t index, size_t rank, const char* function) {
  const opusrt::Translation& t = translation_at(result, index, function);
  const size_t count = t.n_best.empty() ? 1 : t.n_best.size();
  if (rank >= count)
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": rank " + std::to_string(rank) +
                                            " is out of range (translation " + std::to_string(index) + " has " +
                                            std::to_string(count) + " hypotheses)");
  if (t.n_best.empty()) return {t.text, t.output_ids, t.score};
  const opusrt::Alternative& a = t.n_best[rank];
  return {a.text, a.output_ids, a.score};
}

void ids_out(const std::vector<int64_t>& ids, const int64_t** out_ids, size_t* out_count) {
  *out_ids = ids.empty() ? nullptr : ids.data();
  *out_count = ids.size();
}

void text_out(const std::string& text, const char** out_text, size_t* out_length) {
  *out_text = text.c_str();
  if (out_length != nullptr) *out_length = text.size();
}

// Larger caps than this are capped by max_position_embeddings anyway; keeping them in range
// keeps the library's length arithmetic far from overflow.
constexpr int64_t kMaxTokensCap = int64_t{1} << 30;

opusrt_options* checked_options(opusrt_options* options, const char* function) {
  require(options, function, "options");
  return options;
}

// Count settings: >= 1 sets, 0 unsets, negative is an error.
template <typename Int, typename Field>
void set_count(Int value, Field& field, const char* function, const char* name, int64_t cap) {
  if (value < 0)
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + name + " must be >= 1 (0 unsets it), got " +
                                            std::to_string(value));
  if (value == 0) {
    field.reset();
  } else {
    field = static_cast<typename Field::value_type>(std::min<int64_t>(value, cap));
  }
}

void require_finite(double value, const char* function, const char* name) {
  if (!std::isfinite(value))
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + name + " must be finite, got " +
                                            std::to_string(value));
}

std::vector<int64_t> id_array(const int64_t* ids, size_t count, const char* function) {
  if (count == 0) return {};
  require(ids, function, "ids");
  return std::vector<int64_t>(ids, ids + count);
}

std::string utf8_string(const char* text, const char* function, const char* name) {
  const std::string_view view = text ? std::string_view(text) : std::string_view();
  if (const auto bad = opusrt::find_invalid_utf8(view))
    fail(OPUSRT_ERROR_INVALID_ARGUMENT,
         std::string(function) + ": " + name + " is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  return std::string(view);
}

// The C callback as the C++ API's TokenCallback; empty when there is none. Once the callback
// returned 0 for a text it is not called for that text again: beam search streams a text's tokens
// after its search finished, when the library has nothing left to stop, and would go on calling.
opusrt::TokenCallback token_callback(opusrt_token_callback callback, void* user_data) {
  if (callback == nullptr) return {};
  auto stopped = std::make_shared<std::vector<bool>>();  // by text index
  return [callback, user_data, stopped](size_t index, int64_t token, std::string_view partial) {
    if (index < stopped->size() && (*stopped)[index]) return false;
    const std::string terminated(partial);  // the header promises a NUL-terminated string
    if (callback(user_data, index, token, terminated.c_str(), terminated.size()) != 0) return true;
    if (index >= stopped->size()) stopped->resize(index + 1, false);
    (*stopped)[index] = true;
    return false;
  };
}

const opusrt::TranslateOptions& call_options(const opusrt_options* options) {
  static const opusrt::TranslateOptions defaults;  // immutable: not global mutable state
  return options ? options->options : defaults;
}

opusrt_status translate_batch(const char* function, const opusrt_translator* translator, const opusrt_options* options,
                              const char* const* texts, const size_t* lengths, size_t count,
                              opusrt_token_callback callback, void* user_data, opusrt_result** out_result) {
  return guard(OPUSRT_ERROR_TRANSLATE, [&] {
    require(out_result, function, "out_result");
    *out_result = nullptr;
    require(translator, function, "translator");
    if (count > 0) require(texts, function, "texts");
    auto result = std::make_unique<opusrt_result>();
    result->sources.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (texts[i] == nullptr) {
        if (lengths == nullptr || lengths[i] != 0)
          fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": texts[" + std::to_string(i) + "] is NULL");
        result->sources.emplace_back();
        continue;
      }
      result->sources.emplace_back(lengths ? std::string_view(texts[i], lengths[i]) : std::string_view(texts[i]));
    }
    if (count > 0) {
      // The library fails a bad text alone; the C layer adds which text and which status.
      result->translations =
          translator->translator.translate_batch(result->sources, call_options(options), token_callback(callback, user_data));
    }
    result->statuses.assign(count, OPUSRT_OK);
    result->messages.assign(count, std::string());
    for (size_t i = 0; i < count; ++i) {
      const opusrt::Translation& t = result->translations[i];
      if (t.ok()) continue;
      result->statuses[i] =
          opusrt::find_invalid_utf8(result->sources[i]) ? OPUSRT_ERROR_INVALID_INPUT : OPUSRT_ERROR_TRANSLATE;
      result->messages[i] = "texts[" + std::to_string(i) + "]: " + t.error;
    }
    *out_result = result.release();
  });
}

}  // namespace

extern "C" {

// The build checks that the header's version is the project's (cmake/OpusrtPackaging.cmake).
const char* opusrt_version(void) { return OPUSRT_VERSION_STRING; }

int32_t opusrt_api_version(void) { return OPUSRT_C_API_VERSION; }

const char* opusrt_last_error(void) { return last_error.c_str(); }

const char* opusrt_status_string(opusrt_status status) {
  switch (enum_bits(&status)) {
    case OPUSRT_OK: return "OPUSRT_OK";
    case OPUSRT_ERROR_INVALID_ARGUMENT: return "OPUSRT_ERROR_INVALID_ARGUMENT";
    case OPUSRT_ERROR_INVALID_INPUT: return "OPUSRT_ERROR_INVALID_INPUT";
    case OPUSRT_ERROR_MODEL: return "OPUSRT_ERROR_MODEL";
    case OPUSRT_ERROR_TRANSLATE: return "OPUSRT_ERROR_TRANSLATE";
    case OPUSRT_ERROR_OUT_OF_MEMORY: return "OPUSRT_ERROR_OUT_OF_MEMORY";
    case OPUSRT_ERROR_INTERNAL: return "OPUSRT_ERROR_INTERNAL";
    default: break;
  }
  return "OPUSRT_ERROR_UNKNOWN";
}

// ---- config

opusrt_status opusrt_config_create(opusrt_config** out_config) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_config, "opusrt_config_create", "out_config");
    *out_config = nullptr;
    *out_config = std::make_unique<opusrt_config>().release();
  });
}

void opusrt_config_free(opusrt_config* config) { std::unique_ptr<opusrt_config> owned(config); }

opusrt_status opusrt_config_set_decoder(opusrt_config* config, const char* mode) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(config, "opusrt_config_set_decoder", "config");
    require(mode, "opusrt_config_set_decoder", "mode");
    config->config.decoder = opusrt::parse_decoder_mode(mode);
  });
}

opusrt_status opusrt_config_set_threads(opusrt_config* config, int32_t threads) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(config, "opusrt_config_set_threads", "config");
    if (threads < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT,
           "opusrt_config_set_threads: threads must be >= 0 (0: one per physical core), got " +
               std::to_string(threads));
    config->config.intra_op_threads = threads;
  });
}

opusrt_status opusrt_config_set_variant(opusrt_config* config, const char* variant) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(config, "opusrt_config_set_variant", "config");
    const std::string name = variant == nullptr ? "" : variant;
    if (!name.empty() && !opusrt::hub::is_valid_variant(name))
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_config_set_variant: variant \"" + name +
                                              "\": letters, digits, '_' and '-' only (a file suffix)");
    config->config.variant = name == "fp32" ? "" : name;
  });
}

// ---- translator

opusrt_status opusrt_create(const char* model_dir, const opusrt_config* config, opusrt_translator** out_translator) {
  return guard(OPUSRT_ERROR_MODEL, [&] {
    require(out_translator, "opusrt_create", "out_translator");
    *out_translator = nullptr;
    require(model_dir, "opusrt_create", "model_dir");
    if (*model_dir == '\0') fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_create: model_dir is empty");
    const opusrt::TranslatorConfig translator_config = config ? config->config : opusrt::TranslatorConfig{};
    *out_translator = std::make_unique<opusrt_translator>(opusrt::Translator(model_dir, translator_config)).release();
  });
}

void opusrt_free(opusrt_translator* translator) { std::unique_ptr<opusrt_translator> owned(translator); }

size_t opusrt_warning_count(const opusrt_translator* translator) {
  return translator == nullptr ? 0 : translator->translator.model_info().warnings.size();
}

const char* opusrt_warning(const opusrt_translator* translator, size_t index) {
  if (translator == nullptr) return nullptr;
  const std::vector<std::string>& warnings = translator->translator.model_info().warnings;
  return index < warnings.size() ? warnings[index].c_str() : nullptr;
}

size_t opusrt_language_count(const opusrt_translator* translator) {
  return translator == nullptr ? 0 : translator->languages.size();
}

const char* opusrt_language(const opusrt_translator* translator, size_t index) {
  if (translator == nullptr) return nullptr;
  return index < translator->languages.size() ? translator->languages[index].c_str() : nullptr;
}

// ---- options

opusrt_status opusrt_options_create(opusrt_options** out_options) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_options, "opusrt_options_create", "out_options");
    *out_options = nullptr;
    *out_options = std::make_unique<opusrt_options>().release();
  });
}

opusrt_status opusrt_options_copy(const opusrt_options* options, opusrt_options** out_copy) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_copy, "opusrt_options_copy", "out_copy");
    *out_copy = nullptr;
    require(options, "opusrt_options_copy", "options");
    *out_copy = std::make_unique<opusrt_options>(*options).release();
  });
}

void opusrt_options_free(opusrt_options* options) { std::unique_ptr<opusrt_options> owned(options); }

opusrt_status opusrt_options_unset(opusrt_options* options, const char* name) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(options, "opusrt_options_unset", "options");
    require(name, "opusrt_options_unset", "name");
    opusrt::TranslateOptions& o = options->options;
    const std::string_view n(name);
    if (n == "max_new_tokens") o.max_new_tokens.reset();
    else if (n == "num_beams") o.num_beams.reset();
    else if (n == "length_penalty") o.length_penalty.reset();
    else if (n == "early_stopping") o.early_stopping.reset();
    else if (n == "num_return_sequences") o.num_return_sequences.reset();
    else if (n == "target_lang") o.target_lang.clear();
    else if (n == "min_new_tokens") o.min_new_tokens.reset();
    else if (n == "repetition_penalty") o.repetition_penalty.reset();
    else if (n == "no_repeat_ngram_size") o.no_repeat_ngram_size.reset();
    else if (n == "bad_words_ids") o.bad_words_ids.clear();
    else if (n == "suppress_tokens") o.suppress_tokens.clear();
    else if (n == "do_sample") o.do_sample.reset();
    else if (n == "temperature") o.temperature.reset();
    else if (n == "top_k") o.top_k.reset();
    else if (n == "top_p") o.top_p.reset();
    else if (n == "seed") o.seed = opusrt::TranslateOptions{}.seed;
    else if (n == "target_prefix") o.target_prefix.clear();
    else if (n == "target_prefix_ids") o.target_prefix_ids.clear();
    else if (n == "split") options->split = opusrt::SplitMode::kAuto;
    else if (n == "max_batch") options->max_batch = opusrt_options::kDefaultMaxBatch;
    else if (n == "commit_policy") options->policy.reset();
    else if (n == "mask") options->mask = 0;
    else if (n == "bias") options->bias = 0;
    else if (n == "max_tentative_tokens") options->max_tentative_tokens.reset();
    else fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_unset: unknown option '" + std::string(n) + "'");
  });
}

opusrt_status opusrt_options_set_max_new_tokens(opusrt_options* options, int64_t max_new_tokens) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_max_new_tokens";
    set_count(max_new_tokens, checked_options(options, f)->options.max_new_tokens, f, "max_new_tokens",
              kMaxTokensCap);
  });
}

opusrt_status opusrt_options_set_num_beams(opusrt_options* options, int32_t num_beams) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_num_beams";
    set_count(num_beams, checked_options(options, f)->options.num_beams, f, "num_beams", INT32_MAX);
  });
}

opusrt_status opusrt_options_set_length_penalty(opusrt_options* options, double length_penalty) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_length_penalty";
    checked_options(options, f);
    require_finite(length_penalty, f, "length_penalty");
    options->options.length_penalty = length_penalty;
  });
}

opusrt_status opusrt_options_set_early_stopping(opusrt_options* options, opusrt_early_stopping early_stopping) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_early_stopping");
    switch (const int bits = enum_bits(&early_stopping)) {
      case OPUSRT_EARLY_STOPPING_FALSE: options->options.early_stopping = opusrt::EarlyStopping::kFalse; return;
      case OPUSRT_EARLY_STOPPING_TRUE: options->options.early_stopping = opusrt::EarlyStopping::kTrue; return;
      case OPUSRT_EARLY_STOPPING_NEVER: options->options.early_stopping = opusrt::EarlyStopping::kNever; return;
      default:
        fail(OPUSRT_ERROR_INVALID_ARGUMENT,
             "opusrt_options_set_early_stopping: unknown early_stopping " + std::to_string(bits));
    }
  });
}

opusrt_status opusrt_options_set_num_return_sequences(opusrt_options* options, int32_t num_return_sequences) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_num_return_sequences";
    set_count(num_return_sequences, checked_options(options, f)->options.num_return_sequences, f,
              "num_return_sequences", INT32_MAX);
  });
}

opusrt_status opusrt_options_set_target_lang(opusrt_options* options, const char* target_lang) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_target_lang";
    checked_options(options, f)->options.target_lang = utf8_string(target_lang, f, "target_lang");
  });
}

opusrt_status opusrt_options_set_min_new_tokens(opusrt_options* options, int64_t min_new_tokens) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_min_new_tokens";
    checked_options(options, f);
    if (min_new_tokens < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": min_new_tokens must be >= 0, got " +
                                              std::to_string(min_new_tokens));
    if (min_new_tokens == 0) {
      options->options.min_new_tokens.reset();
    } else {
      options->options.min_new_tokens = std::min(min_new_tokens, kMaxTokensCap);
    }
  });
}

opusrt_status opusrt_options_set_repetition_penalty(opusrt_options* options, double repetition_penalty) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_repetition_penalty";
    checked_options(options, f);
    require_finite(repetition_penalty, f, "repetition_penalty");
    if (repetition_penalty <= 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT,
           std::string(f) + ": repetition_penalty must be > 0, got " + std::to_string(repetition_penalty));
    options->options.repetition_penalty = repetition_penalty;
  });
}

opusrt_status opusrt_options_set_no_repeat_ngram_size(opusrt_options* options, int64_t size) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_no_repeat_ngram_size";
    checked_options(options, f);
    if (size < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": size must be >= 0 (0 is off), got " + std::to_string(size));
    if (size == 0) {
      options->options.no_repeat_ngram_size.reset();
    } else {
      options->options.no_repeat_ngram_size = std::min(size, kMaxTokensCap);
    }
  });
}

opusrt_status opusrt_options_add_bad_words_ids(opusrt_options* options, const int64_t* ids, size_t count) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_add_bad_words_ids";
    checked_options(options, f);
    if (count == 0) fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": count is 0 (a banned sequence needs a token)");
    options->options.bad_words_ids.push_back(id_array(ids, count, f));
  });
}

opusrt_status opusrt_options_set_suppress_tokens(opusrt_options* options, const int64_t* ids, size_t count) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_suppress_tokens";
    checked_options(options, f)->options.suppress_tokens = id_array(ids, count, f);
  });
}

opusrt_status opusrt_options_set_do_sample(opusrt_options* options, int do_sample) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_do_sample")->options.do_sample = do_sample != 0;
  });
}

opusrt_status opusrt_options_set_temperature(opusrt_options* options, double temperature) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_temperature";
    checked_options(options, f);
    require_finite(temperature, f, "temperature");
    if (temperature <= 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": temperature must be > 0, got " + std::to_string(temperature));
    options->options.temperature = temperature;
  });
}

opusrt_status opusrt_options_set_top_k(opusrt_options* options, int64_t top_k) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_top_k";
    checked_options(options, f);
    if (top_k < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": top_k must be >= 0 (0 is off), got " + std::to_string(top_k));
    options->options.top_k = top_k;
  });
}

opusrt_status opusrt_options_set_top_p(opusrt_options* options, double top_p) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_top_p";
    checked_options(options, f);
    if (!(top_p > 0 && top_p <= 1))  // also NaN
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(f) + ": top_p must be in (0, 1], got " + std::to_string(top_p));
    options->options.top_p = top_p;
  });
}

opusrt_status opusrt_options_set_seed(opusrt_options* options, uint64_t seed) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT,
               [&] { checked_options(options, "opusrt_options_set_seed")->options.seed = seed; });
}

opusrt_status opusrt_options_set_target_prefix(opusrt_options* options, const char* prefix) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_target_prefix";
    checked_options(options, f)->options.target_prefix = utf8_string(prefix, f, "prefix");
  });
}

opusrt_status opusrt_options_set_target_prefix_ids(opusrt_options* options, const int64_t* ids, size_t count) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_target_prefix_ids";
    checked_options(options, f)->options.target_prefix_ids = id_array(ids, count, f);
  });
}

opusrt_status opusrt_options_set_split(opusrt_options* options, opusrt_split split) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_split");
    switch (const int bits = enum_bits(&split)) {
      case OPUSRT_SPLIT_AUTO: options->split = opusrt::SplitMode::kAuto; return;
      case OPUSRT_SPLIT_SENTENCES: options->split = opusrt::SplitMode::kSentences; return;
      case OPUSRT_SPLIT_NONE: options->split = opusrt::SplitMode::kNone; return;
      default: fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_set_split: unknown split " + std::to_string(bits));
    }
  });
}

opusrt_status opusrt_options_set_max_batch(opusrt_options* options, size_t max_batch) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_max_batch")->max_batch =
        max_batch == 0 ? opusrt_options::kDefaultMaxBatch : max_batch;
  });
}

// ---- translation

opusrt_status opusrt_translate(const opusrt_translator* translator, const opusrt_options* options,
                               const char* const* texts, const size_t* lengths, size_t count,
                               opusrt_result** out_result) {
  return translate_batch("opusrt_translate", translator, options, texts, lengths, count, nullptr, nullptr, out_result);
}

opusrt_status opusrt_translate_stream(const opusrt_translator* translator, const opusrt_options* options,
                                      const char* const* texts, const size_t* lengths, size_t count,
                                      opusrt_token_callback callback, void* user_data, opusrt_result** out_result) {
  if (callback == nullptr) {
    if (out_result != nullptr) *out_result = nullptr;
    set_last_error("opusrt_translate_stream: callback is NULL");
    return OPUSRT_ERROR_INVALID_ARGUMENT;
  }
  return translate_batch("opusrt_translate_stream", translator, options, texts, lengths, count, callback, user_data,
                         out_result);
}

opusrt_status opusrt_translate_text(const opusrt_translator* translator, const opusrt_options* options,
                                    const char* text, size_t length, opusrt_token_callback callback, void* user_data,
                                    opusrt_result** out_result) {
  return guard(OPUSRT_ERROR_TRANSLATE, [&] {
    const char* f = "opusrt_translate_text";
    require(out_result, f, "out_result");
    *out_result = nullptr;
    require(translator, f, "translator");
    if (length > 0) require(text, f, "text");
    const std::string_view source = length > 0 ? std::string_view(text, length) : std::string_view();
    if (const auto bad = opusrt::find_invalid_utf8(source))
      fail(OPUSRT_ERROR_INVALID_INPUT, std::string(f) + ": text: invalid UTF-8 at byte " + std::to_string(*bad));
    const opusrt::SplitMode split = options ? options->split : opusrt::SplitMode::kAuto;
    const size_t max_batch = options ? options->max_batch : opusrt_options::kDefaultMaxBatch;
    opusrt::TextTranslation translated = translator->translator.translate_text(
        source, call_options(options), split, max_batch, token_callback(callback, user_data));
    auto result = std::make_unique<opusrt_result>();
    result->translations = std::move(translated.units);
    result->sources = std::move(translated.pieces);
    result->statuses.assign(result->translations.size(), OPUSRT_OK);
    result->messages.assign(result->translations.size(), std::string());
    result->joined = std::move(translated.text);
    *out_result = result.release();
  });
}

// ---- results

void opusrt_result_free(opusrt_result* result) { std::unique_ptr<opusrt_result> owned(result); }

opusrt_status opusrt_result_count(const opusrt_result* result, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(result, "opusrt_result_count", "result");
    require(out_count, "opusrt_result_count", "out_count");
    *out_count = result->translations.size();
  });
}

opusrt_status opusrt_result_error(const opusrt_result* result, size_t index, opusrt_status* out_status,
                                  const char** out_message) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_status, "opusrt_result_error", "out_status");
    check_index(result, index, "opusrt_result_error");
    *out_status = result->statuses[index];
    if (out_message != nullptr) *out_message = result->messages[index].c_str();
  });
}

opusrt_status opusrt_result_text(const opusrt_result* result, size_t index, const char** out_text,
                                 size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_text, "opusrt_result_text", "out_text");
    text_out(translation_at(result, index, "opusrt_result_text").text, out_text, out_length);
  });
}

opusrt_status opusrt_result_output_ids(const opusrt_result* result, size_t index, const int64_t** out_ids,
                                       size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_ids, "opusrt_result_output_ids", "out_ids");
    require(out_count, "opusrt_result_output_ids", "out_count");
    ids_out(translation_at(result, index, "opusrt_result_output_ids").output_ids, out_ids, out_count);
  });
}

opusrt_status opusrt_result_source_ids(const opusrt_result* result, size_t index, const int64_t** out_ids,
                                       size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_ids, "opusrt_result_source_ids", "out_ids");
    require(out_count, "opusrt_result_source_ids", "out_count");
    ids_out(translation_at(result, index, "opusrt_result_source_ids").source_ids, out_ids, out_count);
  });
}

opusrt_status opusrt_result_source_text(const opusrt_result* result, size_t index, const char** out_text,
                                        size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_text, "opusrt_result_source_text", "out_text");
    check_index(result, index, "opusrt_result_source_text");
    text_out(result->sources[index], out_text, out_length);
  });
}

opusrt_status opusrt_result_score(const opusrt_result* result, size_t index, double* out_score) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_score, "opusrt_result_score", "out_score");
    *out_score = translation_at(result, index, "opusrt_result_score").score;
  });
}

opusrt_status opusrt_result_stopped(const opusrt_result* result, size_t index, int* out_stopped) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_stopped, "opusrt_result_stopped", "out_stopped");
    *out_stopped = translation_at(result, index, "opusrt_result_stopped").stopped ? 1 : 0;
  });
}

opusrt_status opusrt_result_timing_ms(const opusrt_result* result, size_t index, opusrt_timing timing,
                                      double* out_ms) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_ms, "opusrt_result_timing_ms", "out_ms");
    const opusrt::Timings& timings = translation_at(result, index, "opusrt_result_timing_ms").timings;
    const int which = enum_bits(&timing);
    switch (which) {
      case OPUSRT_TIMING_ENCODER: *out_ms = timings.encoder_ms; return;
      case OPUSRT_TIMING_DECODER: *out_ms = timings.decoder_ms; return;
      case OPUSRT_TIMING_TOTAL: *out_ms = timings.total_ms; return;
      default: break;
    }
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_result_timing_ms: unknown timing " + std::to_string(which));
  });
}

opusrt_status opusrt_result_n_best_count(const opusrt_result* result, size_t index, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_count, "opusrt_result_n_best_count", "out_count");
    const opusrt::Translation& t = translation_at(result, index, "opusrt_result_n_best_count");
    *out_count = t.n_best.empty() ? 1 : t.n_best.size();
  });
}

opusrt_status opusrt_result_n_best_text(const opusrt_result* result, size_t index, size_t rank, const char** out_text,
                                        size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_text, "opusrt_result_n_best_text", "out_text");
    text_out(hypothesis_at(result, index, rank, "opusrt_result_n_best_text").text, out_text, out_length);
  });
}

opusrt_status opusrt_result_n_best_output_ids(const opusrt_result* result, size_t index, size_t rank,
                                              const int64_t** out_ids, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_ids, "opusrt_result_n_best_output_ids", "out_ids");
    require(out_count, "opusrt_result_n_best_output_ids", "out_count");
    ids_out(hypothesis_at(result, index, rank, "opusrt_result_n_best_output_ids").output_ids, out_ids, out_count);
  });
}

opusrt_status opusrt_result_n_best_score(const opusrt_result* result, size_t index, size_t rank, double* out_score) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_score, "opusrt_result_n_best_score", "out_score");
    *out_score = hypothesis_at(result, index, rank, "opusrt_result_n_best_score").score;
  });
}

opusrt_status opusrt_result_joined_text(const opusrt_result* result, const char** out_text, size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(result, "opusrt_result_joined_text", "result");
    require(out_text, "opusrt_result_joined_text", "out_text");
    if (!result->joined)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT,
           "opusrt_result_joined_text: the result is not from opusrt_translate_text (it has no joined text)");
    text_out(*result->joined, out_text, out_length);
  });
}

// ---- incremental sessions

opusrt_status opusrt_options_set_commit_policy(opusrt_options* options, const char* policy) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_commit_policy");
    if (policy == nullptr) {
      options->policy.reset();
    } else {
      options->policy = opusrt::parse_commit_policy(policy);
    }
  });
}

opusrt_status opusrt_options_set_mask(opusrt_options* options, int32_t mask) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_mask");
    if (mask < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_set_mask: mask must be >= 0, got " + std::to_string(mask));
    options->mask = mask;
  });
}

opusrt_status opusrt_options_set_bias(opusrt_options* options, double bias) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    checked_options(options, "opusrt_options_set_bias");
    if (!(bias >= 0 && bias < 1))  // also NaN
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_set_bias: bias must be in [0, 1), got " + std::to_string(bias));
    options->bias = bias;
  });
}

opusrt_status opusrt_options_set_max_tentative_tokens(opusrt_options* options, int64_t max_tokens) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    const char* f = "opusrt_options_set_max_tentative_tokens";
    set_count(max_tokens, checked_options(options, f)->max_tentative_tokens, f, "max_tokens", kMaxTokensCap);
  });
}

opusrt_status opusrt_session_create(const opusrt_translator* translator, const opusrt_options* options,
                                    opusrt_session** out_session) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(out_session, "opusrt_session_create", "out_session");
    *out_session = nullptr;
    require(translator, "opusrt_session_create", "translator");
    opusrt::IncrementalOptions session_options;
    if (options != nullptr) {
      session_options.translate = options->options;
      if (options->policy) session_options.policy = *options->policy;
      session_options.mask = options->mask;
      session_options.bias = options->bias;
      session_options.max_tentative_tokens = options->max_tentative_tokens;
    }
    *out_session = std::make_unique<opusrt_session>(
                       opusrt_session{opusrt::IncrementalSession(translator->translator, session_options)})
                       .release();
  });
}

void opusrt_session_free(opusrt_session* session) { std::unique_ptr<opusrt_session> owned(session); }

opusrt_status opusrt_session_push(opusrt_session* session, const char* text, size_t length, int is_final,
                                  opusrt_update** out_update) {
  return guard(OPUSRT_ERROR_TRANSLATE, [&] {
    const char* f = "opusrt_session_push";
    require(out_update, f, "out_update");
    *out_update = nullptr;
    require(session, f, "session");
    if (length > 0) require(text, f, "text");
    const std::string_view source = length > 0 ? std::string_view(text, length) : std::string_view();
    if (const auto bad = opusrt::find_invalid_utf8(source))
      fail(OPUSRT_ERROR_INVALID_INPUT, std::string(f) + ": text: invalid UTF-8 at byte " + std::to_string(*bad));
    *out_update = std::make_unique<opusrt_update>(opusrt_update{session->session.push(source, is_final != 0)}).release();
  });
}

opusrt_status opusrt_session_close(opusrt_session* session) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(session, "opusrt_session_close", "session");
    session->session.close();
  });
}

void opusrt_update_free(opusrt_update* update) { std::unique_ptr<opusrt_update> owned(update); }

opusrt_status opusrt_update_committed(const opusrt_update* update, const char** out_text, size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_committed", "update");
    require(out_text, "opusrt_update_committed", "out_text");
    text_out(update->update.committed, out_text, out_length);
  });
}

opusrt_status opusrt_update_tentative(const opusrt_update* update, const char** out_text, size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_tentative", "update");
    require(out_text, "opusrt_update_tentative", "out_text");
    text_out(update->update.tentative, out_text, out_length);
  });
}

opusrt_status opusrt_update_committed_ids(const opusrt_update* update, const int64_t** out_ids, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_committed_ids", "update");
    require(out_ids, "opusrt_update_committed_ids", "out_ids");
    require(out_count, "opusrt_update_committed_ids", "out_count");
    ids_out(update->update.committed_ids, out_ids, out_count);
  });
}

opusrt_status opusrt_update_tentative_ids(const opusrt_update* update, const int64_t** out_ids, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_tentative_ids", "update");
    require(out_ids, "opusrt_update_tentative_ids", "out_ids");
    require(out_count, "opusrt_update_tentative_ids", "out_count");
    ids_out(update->update.tentative_ids, out_ids, out_count);
  });
}

opusrt_status opusrt_update_position(const opusrt_update* update, int64_t* out_segment, int64_t* out_seq) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_position", "update");
    require(out_segment, "opusrt_update_position", "out_segment");
    require(out_seq, "opusrt_update_position", "out_seq");
    *out_segment = update->update.segment;
    *out_seq = update->update.seq;
  });
}

opusrt_status opusrt_update_final(const opusrt_update* update, int* out_final) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_final", "update");
    require(out_final, "opusrt_update_final", "out_final");
    *out_final = update->update.final ? 1 : 0;
  });
}

opusrt_status opusrt_update_retracted(const opusrt_update* update, int* out_retracted, size_t* out_chars) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_retracted", "update");
    require(out_retracted, "opusrt_update_retracted", "out_retracted");
    *out_retracted = update->update.retracted ? 1 : 0;
    if (out_chars != nullptr) *out_chars = update->update.retracted_chars;
  });
}

opusrt_status opusrt_update_source(const opusrt_update* update, const char** out_text, size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_source", "update");
    require(out_text, "opusrt_update_source", "out_text");
    text_out(update->update.source, out_text, out_length);
  });
}

opusrt_status opusrt_update_split(const opusrt_update* update, int* out_split) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(update, "opusrt_update_split", "update");
    require(out_split, "opusrt_update_split", "out_split");
    *out_split = update->update.split ? 1 : 0;
  });
}

}  // extern "C"
