#include "server/language_map.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

#include "opusrt/translator.h"

namespace opusrt::server {
namespace {

std::string normalized(std::string_view code) {
  std::string out(code);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-') c = '_';
  }
  return out;
}

// tokenizer_config.json's source_lang / target_lang; "" when the file or field is missing or odd.
std::string config_language(const nlohmann::json& config, const char* field) {
  const auto it = config.find(field);
  if (it == config.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

std::string language_name(std::string_view code) {
  static const std::map<std::string, std::string, std::less<>> names = {
      {"ara", "Arabic"},
      {"ar", "Arabic"},
      {"cmn", "Chinese (Mandarin)"},
      {"cmn_hans", "Chinese (Simplified, Mandarin)"},
      {"cmn_hant", "Chinese (Traditional, Mandarin)"},
      {"de", "German"},
      {"deu", "German"},
      {"en", "English"},
      {"eng", "English"},
      {"es", "Spanish"},
      {"spa", "Spanish"},
      {"fr", "French"},
      {"fra", "French"},
      {"it", "Italian"},
      {"ita", "Italian"},
      {"ja", "Japanese"},
      {"jpn", "Japanese"},
      {"ko", "Korean"},
      {"kor", "Korean"},
      {"lzh", "Literary Chinese"},
      {"mul", "Multiple languages"},
      {"nl", "Dutch"},
      {"nld", "Dutch"},
      {"pt", "Portuguese"},
      {"por", "Portuguese"},
      {"ru", "Russian"},
      {"rus", "Russian"},
      {"wuu", "Wu Chinese"},
      {"yue", "Cantonese"},
      {"yue_hans", "Cantonese (Simplified)"},
      {"yue_hant", "Cantonese (Traditional)"},
      {"zh", "Chinese"},
      {"zho", "Chinese"},
      {"zho_hans", "Chinese (Simplified)"},
      {"zho_hant", "Chinese (Traditional)"},
      {"zt", "Chinese (Traditional)"},
  };
  const auto it = names.find(normalized(code));
  return it == names.end() ? std::string(code) : it->second;
}

LanguageMap::LanguageMap(const std::vector<std::string>& language_tokens, std::string source_lang,
                         std::string target_lang)
    : source_code_(source_lang.empty() ? "auto" : std::move(source_lang)) {
  for (const std::string& token : language_tokens) {
    if (token.size() > 4 && token.starts_with(">>") && token.ends_with("<<"))
      token_codes_.push_back(token.substr(2, token.size() - 4));
  }
  has_tokens_ = !token_codes_.empty();
  if (has_tokens_) {
    target_codes_ = token_codes_;
  } else if (!target_lang.empty()) {
    target_codes_.push_back(std::move(target_lang));
  }
}

LanguageMap LanguageMap::for_model(const ModelInfo& info) {
  nlohmann::json config;
  std::ifstream in(info.directory / "tokenizer_config.json", std::ios::binary);
  if (in) config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) config = nlohmann::json::object();
  return LanguageMap(info.language_tokens, config_language(config, "source_lang"),
                     config_language(config, "target_lang"));
}

std::variant<std::string, RequestError> LanguageMap::resolve_target(std::string_view target) const {
  if (!has_tokens_ || target.empty()) return std::string();
  const std::string wanted = normalized(target);
  for (const std::string& code : token_codes_)
    if (normalized(code) == wanted) return code;
  // LibreTranslate's codes for the two Chinese scripts.
  static const std::map<std::string, std::string, std::less<>> aliases = {
      {"zh", "cmn_hans"}, {"zh_hans", "cmn_hans"}, {"zh_cn", "cmn_hans"},
      {"zt", "cmn_hant"}, {"zh_hant", "cmn_hant"}, {"zh_tw", "cmn_hant"},
  };
  if (const auto alias = aliases.find(wanted); alias != aliases.end()) {
    for (const std::string& code : token_codes_)
      if (normalized(code) == alias->second) return code;
  }
  for (const std::string& code : token_codes_)
    if (normalized(code).starts_with(wanted)) return code;
  std::string known;
  for (const std::string& code : token_codes_) known += (known.empty() ? "" : ", ") + code;
  return RequestError{400, "Invalid request: target language '" + std::string(target) +
                               "' is not supported by this model (it translates to: " + known + ")"};
}

nlohmann::json LanguageMap::languages_json() const {
  nlohmann::json languages = nlohmann::json::array();
  languages.push_back({{"code", source_code_}, {"name", language_name(source_code_)}, {"targets", target_codes_}});
  for (const std::string& code : target_codes_) {
    if (code == source_code_) continue;
    languages.push_back({{"code", code}, {"name", language_name(code)}, {"targets", nlohmann::json::array()}});
  }
  return languages;
}

}  // namespace opusrt::server
