#pragma once

// The model's languages as LibreTranslate clients see them. OPUS-MT models name their target
// languages with >>xx<< tokens in ISO 639-3 and script codes (">>cmn_Hans<<", ">>deu<<");
// LibreTranslate clients send and expect LibreTranslate's codes ("zh", "zt", "de"). GET /languages
// lists LibreTranslate's code where there is one (libretranslate_code), the model's own code
// otherwise; requests may use either.
//
//   LanguageMap map({">>cmn_Hans<<", ">>cmn_Hant<<"}, "eng", "zho");
//   map.languages_json();         // [{"code": "en", "targets": ["zh", "zt"]}, {"code": "zh"}, ...]
//   map.resolve_target("zt");     // "cmn_Hant" (TranslateOptions::target_lang)
//   map.resolve_target("cmn_Hant");  // "cmn_Hant" as well
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/translate_request.h"

namespace opusrt {
struct ModelInfo;
}

namespace opusrt::server {

class LanguageMap {
 public:
  // `language_tokens` as the tokenizer lists them (">>cmn_Hans<<", in vocabulary order);
  // `source_lang` / `target_lang` from tokenizer_config.json ("" when absent).
  LanguageMap(const std::vector<std::string>& language_tokens, std::string source_lang, std::string target_lang);

  // Reads source_lang / target_lang from the model directory's tokenizer_config.json (a missing
  // file or field is not an error: the language tokens alone describe the targets).
  static LanguageMap for_model(const ModelInfo& info);

  // The code for TranslateOptions::target_lang, "" for "no >>xx<< token" (a single-target
  // model, or no `target` given), or a 400 naming the model's languages. Accepted (any case, '-'
  // for '_'): a code /languages lists ("zh"), the model's own code ("cmn_Hans"), the first token
  // starting with `target` ("yue" -> yue_Hans), else another spelling of a listed code (zh-Hans,
  // zh-CN, zh-Hant, zh-TW).
  std::variant<std::string, RequestError> resolve_target(std::string_view target) const;
  // The same, a bad target thrown as opusrt::Error with the 400's message (for callers outside
  // a request: the live-speech stream, the CLI).
  std::string target_lang(std::string_view target) const;

  // nullopt when the model translates from `source`: "" or "auto", the listed source code or the
  // model's own ("en", "eng"), or anything when the model does not name a single source
  // language; else a 400 naming the language the model translates from.
  std::optional<RequestError> check_source(std::string_view source) const;

  // [{code, name, targets}] (LibreTranslate's GET /languages): the source language with every
  // target, then each target with no targets of its own.
  nlohmann::json languages_json() const;

  // LibreTranslate's POST /detect answer, [{confidence, language}]: no detector runs; the
  // model translates from one language, and that is the answer (confidence 100). A model with
  // no single source language ("mul", or none named) answers its listed source code with 0.
  nlohmann::json detect_json() const;

  // What GET /languages lists, in vocabulary order.
  const std::vector<std::string>& target_codes() const { return target_codes_; }
  // The model's own codes of those targets, same order (what resolve_target returns).
  const std::vector<std::string>& target_model_codes() const { return token_codes_; }
  const std::string& source_code() const { return source_code_; }
  bool has_language_tokens() const { return has_tokens_; }
  bool single_source() const { return single_source_; }

 private:
  std::vector<std::string> token_codes_;   // codes of the >>xx<< tokens, vocabulary order
  std::vector<std::string> target_codes_;  // what /languages lists as targets, same order
  std::string source_code_;                // what /languages lists as the source ("auto": unknown)
  std::string source_model_code_;          // tokenizer_config.json's source_lang
  bool has_tokens_ = false;
  bool single_source_ = false;
};

// LibreTranslate's code for one of the model's language codes ("eng" -> "en", "cmn_Hans" -> "zh",
// "zho_Hant" -> "zt", "de" -> "de"); "" when LibreTranslate has no code for it (yue_Hans, lzh).
std::string libretranslate_code(std::string_view model_code);

// A human name for a language code ("cmn_Hans" -> "Chinese (Simplified, Mandarin)"); the code
// itself when it is not in the small built-in table.
std::string language_name(std::string_view code);

}  // namespace opusrt::server
