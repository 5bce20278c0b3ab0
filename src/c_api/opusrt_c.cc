// The C API (include/opusrt/opusrt.h) over the C++ Translator. Every entry point runs its body
// inside guard(), which turns any exception into a status code and the thread's last error, so
// nothing C++ crosses the boundary.
#include "opusrt/opusrt.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opusrt/translator.h"
#include "opusrt/utf8.h"

struct opusrt_config {
  opusrt::TranslatorConfig config;
};

struct opusrt_options {
  opusrt::TranslateOptions options;
};

struct opusrt_translator {
  explicit opusrt_translator(opusrt::Translator t) : translator(std::move(t)) {}
  opusrt::Translator translator;
};

struct opusrt_result {
  std::vector<opusrt::Translation> translations;
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

const opusrt::Translation& translation_at(const opusrt_result* result, size_t index, const char* function) {
  require(result, function, "result");
  if (index >= result->translations.size())
    fail(OPUSRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": index " + std::to_string(index) +
                                            " is out of range (the result has " +
                                            std::to_string(result->translations.size()) + " translations)");
  return result->translations[index];
}

void ids_out(const std::vector<int64_t>& ids, const int64_t** out_ids, size_t* out_count) {
  *out_ids = ids.empty() ? nullptr : ids.data();
  *out_count = ids.size();
}

// Larger caps than this are capped by max_position_embeddings anyway; keeping them in range
// keeps the library's length arithmetic far from overflow.
constexpr int64_t kMaxNewTokensCap = int64_t{1} << 30;

}  // namespace

extern "C" {

// The build checks that the header's version is the project's (cmake/OpusrtPackaging.cmake).
const char* opusrt_version(void) { return OPUSRT_VERSION_STRING; }

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
    *out_config = new opusrt_config();
  });
}

void opusrt_config_free(opusrt_config* config) { delete config; }

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

// ---- translator

opusrt_status opusrt_create(const char* model_dir, const opusrt_config* config, opusrt_translator** out_translator) {
  return guard(OPUSRT_ERROR_MODEL, [&] {
    require(out_translator, "opusrt_create", "out_translator");
    *out_translator = nullptr;
    require(model_dir, "opusrt_create", "model_dir");
    if (*model_dir == '\0') fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_create: model_dir is empty");
    const opusrt::TranslatorConfig translator_config = config ? config->config : opusrt::TranslatorConfig{};
    *out_translator = new opusrt_translator(opusrt::Translator(model_dir, translator_config));
  });
}

void opusrt_free(opusrt_translator* translator) { delete translator; }

// ---- options

opusrt_status opusrt_options_create(opusrt_options** out_options) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_options, "opusrt_options_create", "out_options");
    *out_options = nullptr;
    *out_options = new opusrt_options();
  });
}

void opusrt_options_free(opusrt_options* options) { delete options; }

opusrt_status opusrt_options_set_max_new_tokens(opusrt_options* options, int64_t max_new_tokens) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(options, "opusrt_options_set_max_new_tokens", "options");
    if (max_new_tokens < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT,
           "opusrt_options_set_max_new_tokens: max_new_tokens must be >= 1 (0 unsets it), got " +
               std::to_string(max_new_tokens));
    if (max_new_tokens == 0) {
      options->options.max_new_tokens.reset();
    } else {
      options->options.max_new_tokens = std::min(max_new_tokens, kMaxNewTokensCap);
    }
  });
}

opusrt_status opusrt_options_set_num_beams(opusrt_options* options, int32_t num_beams) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(options, "opusrt_options_set_num_beams", "options");
    if (num_beams < 0)
      fail(OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_set_num_beams: num_beams must be >= 1 (0 unsets it), got " +
                                              std::to_string(num_beams));
    if (num_beams == 0) {
      options->options.num_beams.reset();
    } else {
      options->options.num_beams = num_beams;
    }
  });
}

opusrt_status opusrt_options_set_target_lang(opusrt_options* options, const char* target_lang) {
  return guard(OPUSRT_ERROR_INVALID_ARGUMENT, [&] {
    require(options, "opusrt_options_set_target_lang", "options");
    const std::string_view lang = target_lang ? std::string_view(target_lang) : std::string_view();
    if (const auto bad = opusrt::find_invalid_utf8(lang))
      fail(OPUSRT_ERROR_INVALID_ARGUMENT,
           "opusrt_options_set_target_lang: target_lang is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    options->options.target_lang.assign(lang);
  });
}

// ---- translation

opusrt_status opusrt_translate(const opusrt_translator* translator, const opusrt_options* options,
                               const char* const* texts, const size_t* lengths, size_t count,
                               opusrt_result** out_result) {
  return guard(OPUSRT_ERROR_TRANSLATE, [&] {
    require(out_result, "opusrt_translate", "out_result");
    *out_result = nullptr;
    require(translator, "opusrt_translate", "translator");
    if (count > 0) require(texts, "opusrt_translate", "texts");
    std::vector<std::string> inputs;
    inputs.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const std::string where = "opusrt_translate: texts[" + std::to_string(i) + "]";
      if (texts[i] == nullptr) {
        if (lengths == nullptr || lengths[i] != 0) fail(OPUSRT_ERROR_INVALID_ARGUMENT, where + " is NULL");
        inputs.emplace_back();
        continue;
      }
      const std::string_view text = lengths ? std::string_view(texts[i], lengths[i]) : std::string_view(texts[i]);
      if (const auto bad = opusrt::find_invalid_utf8(text))
        fail(OPUSRT_ERROR_INVALID_INPUT, where + ": invalid UTF-8 at byte " + std::to_string(*bad));
      inputs.emplace_back(text);
    }
    auto result = std::make_unique<opusrt_result>();
    if (!inputs.empty()) {
      const opusrt::TranslateOptions call_options = options ? options->options : opusrt::TranslateOptions{};
      result->translations = translator->translator.translate_batch(inputs, call_options);
    }
    *out_result = result.release();
  });
}

// ---- results

void opusrt_result_free(opusrt_result* result) { delete result; }

opusrt_status opusrt_result_count(const opusrt_result* result, size_t* out_count) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(result, "opusrt_result_count", "result");
    require(out_count, "opusrt_result_count", "out_count");
    *out_count = result->translations.size();
  });
}

opusrt_status opusrt_result_text(const opusrt_result* result, size_t index, const char** out_text,
                                 size_t* out_length) {
  return guard(OPUSRT_ERROR_INTERNAL, [&] {
    require(out_text, "opusrt_result_text", "out_text");
    const opusrt::Translation& translation = translation_at(result, index, "opusrt_result_text");
    *out_text = translation.text.c_str();
    if (out_length != nullptr) *out_length = translation.text.size();
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

}  // extern "C"
