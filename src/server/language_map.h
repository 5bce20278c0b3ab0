#pragma once

// The model's languages as LibreTranslate clients see them: GET /languages, and the request's
// `target` mapped to one of the model's >>xx<< tokens.
#include <filesystem>
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
  // model, or no `target` given), or a 400 naming the model's languages. Accepted: an exact code
  // ("cmn_Hans", any case, '-' for '_'), LibreTranslate's "zh" / "zt" (-> cmn_Hans / cmn_Hant
  // when the model has them), else the first token starting with `target` ("zh" -> zho_Hans).
  std::variant<std::string, RequestError> resolve_target(std::string_view target) const;

  // [{code, name, targets}] (LibreTranslate's GET /languages): the source language with every
  // target, then each target with no targets of its own.
  nlohmann::json languages_json() const;

  const std::vector<std::string>& target_codes() const { return target_codes_; }
  const std::string& source_code() const { return source_code_; }
  bool has_language_tokens() const { return has_tokens_; }

 private:
  std::vector<std::string> token_codes_;   // codes of the >>xx<< tokens, vocabulary order
  std::vector<std::string> target_codes_;  // what /languages lists as targets
  std::string source_code_;
  bool has_tokens_ = false;
};

// A human name for a language code ("cmn_Hans" -> "Chinese (Simplified, Mandarin)"); the code
// itself when it is not in the small built-in table.
std::string language_name(std::string_view code);

}  // namespace opusrt::server
