#include "server/language_map.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

#include "opusrt/error.h"
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
      {"bg", "Bulgarian"}, {"ca", "Catalan"}, {"cs", "Czech"}, {"da", "Danish"}, {"el", "Greek"},
      {"fi", "Finnish"}, {"he", "Hebrew"}, {"hi", "Hindi"}, {"hu", "Hungarian"}, {"id", "Indonesian"},
      {"pl", "Polish"}, {"ro", "Romanian"}, {"sv", "Swedish"}, {"th", "Thai"}, {"tr", "Turkish"},
      {"uk", "Ukrainian"}, {"vi", "Vietnamese"},
  };
  const auto it = names.find(normalized(code));
  return it == names.end() ? std::string(code) : it->second;
}

std::string libretranslate_code(std::string_view model_code) {
  // OPUS-MT's codes (ISO 639-3, macrolanguages, script suffixes) -> the codes LibreTranslate's
  // /languages uses (ISO 639-1, "zh" for Simplified and "zt" for Traditional Chinese). Written out
  // rather than derived: no Debian package maps ISO 639-3 to LibreTranslate's own choices.
  static const std::map<std::string, std::string, std::less<>> table = {
      {"afr", "af"}, {"ara", "ar"}, {"arb", "ar"}, {"aze", "az"}, {"bel", "be"}, {"ben", "bn"}, {"bul", "bg"},
      {"cat", "ca"}, {"ces", "cs"}, {"ces_latn", "cs"}, {"cym", "cy"}, {"dan", "da"}, {"deu", "de"},
      {"ell", "el"}, {"eng", "en"}, {"epo", "eo"}, {"est", "et"}, {"eus", "eu"}, {"fas", "fa"}, {"pes", "fa"},
      {"fin", "fi"}, {"fra", "fr"}, {"gle", "ga"}, {"glg", "gl"}, {"heb", "he"}, {"hin", "hi"}, {"hun", "hu"},
      {"ind", "id"}, {"ita", "it"}, {"jpn", "ja"}, {"kor", "ko"}, {"lit", "lt"}, {"lav", "lv"}, {"msa", "ms"},
      {"zsm_latn", "ms"}, {"nob", "nb"}, {"nld", "nl"}, {"pol", "pl"}, {"por", "pt"}, {"ron", "ro"},
      {"rus", "ru"}, {"slk", "sk"}, {"slv", "sl"}, {"sqi", "sq"}, {"srp_cyrl", "sr"}, {"swe", "sv"},
      {"tha", "th"}, {"tgl", "tl"}, {"tur", "tr"}, {"ukr", "uk"}, {"urd", "ur"}, {"vie", "vi"},
      // Chinese: Mandarin in either script, or the macrolanguage.
      {"zho", "zh"}, {"cmn", "zh"}, {"cmn_hans", "zh"}, {"zho_hans", "zh"}, {"zh_hans", "zh"}, {"zh_cn", "zh"},
      {"cmn_hant", "zt"}, {"zho_hant", "zt"}, {"zh_hant", "zt"}, {"zh_tw", "zt"},
  };
  const std::string code = normalized(model_code);
  if (const auto it = table.find(code); it != table.end()) return it->second;
  // Already a two-letter ISO 639-1 code (a model named with them, e.g. opus-mt-en-de's "de").
  if (code.size() == 2 && std::isalpha(static_cast<unsigned char>(code[0])) &&
      std::isalpha(static_cast<unsigned char>(code[1])))
    return code;
  return "";
}

LanguageMap::LanguageMap(const std::vector<std::string>& language_tokens, std::string source_lang,
                         std::string target_lang)
    : source_model_code_(std::move(source_lang)) {
  // A model that names no single source language ("mul": opus-mt-mul-en) cannot tell.
  single_source_ = !source_model_code_.empty() && normalized(source_model_code_) != "mul";
  const std::string source_public = libretranslate_code(source_model_code_);
  source_code_ = source_model_code_.empty() ? "auto" : source_public.empty() ? source_model_code_ : source_public;

  for (const std::string& token : language_tokens) {
    if (token.size() > 4 && token.starts_with(">>") && token.ends_with("<<"))
      token_codes_.push_back(token.substr(2, token.size() - 4));
  }
  has_tokens_ = !token_codes_.empty();
  std::vector<std::string> model_codes = token_codes_;
  if (!has_tokens_ && !target_lang.empty()) model_codes.push_back(std::move(target_lang));
  // Each LibreTranslate code names one target: the first token that maps to it (in vocabulary
  // order: cmn_Hans before zho_Hans); later ones keep the model's code.
  for (const std::string& code : model_codes) {
    const std::string public_code = libretranslate_code(code);
    const bool taken = std::find(target_codes_.begin(), target_codes_.end(), public_code) != target_codes_.end();
    target_codes_.push_back(public_code.empty() || taken ? code : public_code);
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
  for (size_t i = 0; i < token_codes_.size(); ++i)
    if (normalized(target_codes_[i]) == wanted || normalized(token_codes_[i]) == wanted) return token_codes_[i];
  for (const std::string& code : token_codes_)
    if (normalized(code).starts_with(wanted)) return code;
  // Other spellings of a listed LibreTranslate code (zh-Hans, zh-TW, ...).
  if (const std::string public_code = libretranslate_code(wanted); !public_code.empty()) {
    for (size_t i = 0; i < token_codes_.size(); ++i)
      if (target_codes_[i] == public_code) return token_codes_[i];
  }
  std::string known;
  for (size_t i = 0; i < token_codes_.size(); ++i) {
    known += (known.empty() ? "" : ", ") + target_codes_[i];
    if (target_codes_[i] != token_codes_[i]) known += " (" + token_codes_[i] + ")";
  }
  return RequestError{400, "Invalid request: target language '" + std::string(target) +
                               "' is not supported by this model (it translates to: " + known + ")"};
}

std::string LanguageMap::target_lang(std::string_view target) const {
  auto resolved = resolve_target(target);
  if (const RequestError* error = std::get_if<RequestError>(&resolved)) throw Error(error->message);
  return std::get<std::string>(std::move(resolved));
}

std::optional<RequestError> LanguageMap::check_source(std::string_view source) const {
  const std::string wanted = normalized(source);
  if (wanted.empty() || wanted == "auto" || !single_source_) return std::nullopt;
  if (wanted == normalized(source_code_) || wanted == normalized(source_model_code_)) return std::nullopt;
  if (const std::string public_code = libretranslate_code(wanted); !public_code.empty() && public_code == source_code_)
    return std::nullopt;
  return RequestError{400, "Invalid request: source language '" + std::string(source) +
                               "' is not supported by this model (it translates from " + source_code_ +
                               (source_code_ != source_model_code_ ? " (" + source_model_code_ + ")" : "") + ")"};
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

nlohmann::json LanguageMap::detect_json() const {
  return nlohmann::json::array({{{"confidence", single_source_ ? 100.0 : 0.0}, {"language", source_code_}}});
}

}  // namespace opusrt::server
