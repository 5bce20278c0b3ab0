// LanguageMap: LibreTranslate's `target` -> the model's >>xx<< token, and GET /languages.
#include <gtest/gtest.h>

#include "opusrt/translator.h"
#include "server/language_map.h"
#include "test_env.h"

namespace opusrt::server {
namespace {

const std::vector<std::string> kChineseTokens = {">>cmn_Hans<<", ">>cmn_Hant<<", ">>yue_Hans<<", ">>yue_Hant<<",
                                                 ">>zho_Hans<<", ">>zho_Hant<<", ">>lzh<<",      ">>wuu<<"};

std::string resolved(const LanguageMap& map, std::string_view target) {
  auto result = map.resolve_target(target);
  if (const RequestError* error = std::get_if<RequestError>(&result)) return "error: " + error->message;
  return std::get<std::string>(result);
}

TEST(ServerLanguages, ExactCodesPrefixesAndLibreTranslateAliases) {
  const LanguageMap map(kChineseTokens, "eng", "zho");
  EXPECT_EQ(resolved(map, "cmn_Hans"), "cmn_Hans");
  EXPECT_EQ(resolved(map, "CMN-hant"), "cmn_Hant");
  EXPECT_EQ(resolved(map, "wuu"), "wuu");
  EXPECT_EQ(resolved(map, "zh"), "cmn_Hans");  // LibreTranslate's simplified Chinese
  EXPECT_EQ(resolved(map, "zt"), "cmn_Hant");  // LibreTranslate's traditional Chinese
  EXPECT_EQ(resolved(map, "zh-Hant"), "cmn_Hant");
  EXPECT_EQ(resolved(map, "yue"), "yue_Hans");  // first token with that prefix
  EXPECT_EQ(resolved(map, "zho"), "zho_Hans");
  EXPECT_EQ(resolved(map, ""), "");  // no target: no token, the model's default
}

TEST(ServerLanguages, UnknownTargetIs400NamingTheModelsLanguages) {
  const LanguageMap map(kChineseTokens, "eng", "zho");
  auto result = map.resolve_target("de");
  ASSERT_TRUE(std::holds_alternative<RequestError>(result));
  const RequestError& error = std::get<RequestError>(result);
  EXPECT_EQ(error.status, 400);
  EXPECT_NE(error.message.find("'de'"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("cmn_Hans"), std::string::npos) << error.message;
}

TEST(ServerLanguages, ModelWithoutLanguageTokensTakesAnyTarget) {
  const LanguageMap map({}, "en", "de");
  EXPECT_FALSE(map.has_language_tokens());
  EXPECT_EQ(resolved(map, "de"), "");
  EXPECT_EQ(resolved(map, "whatever"), "");
  const nlohmann::json languages = map.languages_json();
  ASSERT_EQ(languages.size(), 2u);
  EXPECT_EQ(languages[0]["code"], "en");
  EXPECT_EQ(languages[0]["name"], "English");
  EXPECT_EQ(languages[0]["targets"], nlohmann::json::array({"de"}));  // tokenizer_config target_lang
  EXPECT_EQ(languages[1]["code"], "de");
  EXPECT_EQ(languages[1]["targets"], nlohmann::json::array());
}

TEST(ServerLanguages, TinyModelLanguagesFromTokenizerConfigAndTokens) {
  Translator translator(opusrt::test::tiny_model_dir());
  const LanguageMap map = LanguageMap::for_model(translator.model_info());
  const nlohmann::json languages = map.languages_json();
  ASSERT_EQ(languages.size(), 1u + kChineseTokens.size());
  EXPECT_EQ(languages[0]["code"], "en");  // tokenizer_config.json source_lang "eng"
  EXPECT_EQ(languages[0]["name"], "English");
  std::vector<std::string> targets = languages[0]["targets"];
  // LibreTranslate's codes where it has one (the first token of each), the model's otherwise.
  EXPECT_EQ(targets, (std::vector<std::string>{"zh", "zt", "yue_Hans", "yue_Hant", "zho_Hans", "zho_Hant", "lzh", "wuu"}));
  for (size_t i = 1; i < languages.size(); ++i) {
    EXPECT_EQ(languages[i]["code"], targets[i - 1]);
    EXPECT_TRUE(languages[i]["name"].is_string());
    EXPECT_TRUE(languages[i]["targets"].empty());
  }
  EXPECT_EQ(languages[1]["name"], "Chinese");
  EXPECT_EQ(languages[2]["name"], "Chinese (Traditional)");
}

TEST(ServerLanguages, LibreTranslateCodesFromTheModelsCodes) {
  // The table, case- and separator-insensitive.
  EXPECT_EQ(libretranslate_code("eng"), "en");
  EXPECT_EQ(libretranslate_code("deu"), "de");
  EXPECT_EQ(libretranslate_code("fra"), "fr");
  EXPECT_EQ(libretranslate_code("jpn"), "ja");
  EXPECT_EQ(libretranslate_code("cmn_Hans"), "zh");
  EXPECT_EQ(libretranslate_code("ZHO-hans"), "zh");
  EXPECT_EQ(libretranslate_code("cmn_Hant"), "zt");
  EXPECT_EQ(libretranslate_code("zh-TW"), "zt");
  EXPECT_EQ(libretranslate_code("de"), "de");  // already ISO 639-1
  EXPECT_EQ(libretranslate_code("yue_Hans"), "");  // LibreTranslate has no Cantonese
  EXPECT_EQ(libretranslate_code("lzh"), "");
  EXPECT_EQ(libretranslate_code(""), "");
}

TEST(ServerLanguages, ListedCodesAndTheModelsOwnCodesAreBothAccepted) {
  const LanguageMap map(kChineseTokens, "eng", "zho");
  EXPECT_EQ(map.target_codes(),
            (std::vector<std::string>{"zh", "zt", "yue_Hans", "yue_Hant", "zho_Hans", "zho_Hant", "lzh", "wuu"}));
  EXPECT_EQ(map.source_code(), "en");
  for (size_t i = 0; i < map.target_codes().size(); ++i) {
    EXPECT_EQ(resolved(map, map.target_codes()[i]), map.target_model_codes()[i]);
    EXPECT_EQ(resolved(map, map.target_model_codes()[i]), map.target_model_codes()[i]);
  }
  EXPECT_EQ(resolved(map, "zh-Hans"), "cmn_Hans");
  EXPECT_EQ(resolved(map, "zh-CN"), "cmn_Hans");
  EXPECT_EQ(resolved(map, "zh-TW"), "cmn_Hant");
  // A model whose Chinese token is zho_Hans lists it as "zh".
  const LanguageMap zho({">>zho_Hans<<", ">>zho_Hant<<", ">>deu<<"}, "eng", "");
  EXPECT_EQ(zho.target_codes(), (std::vector<std::string>{"zh", "zt", "de"}));
  EXPECT_EQ(resolved(zho, "zh"), "zho_Hans");
  EXPECT_EQ(resolved(zho, "de"), "deu");
  EXPECT_EQ(resolved(zho, "deu"), "deu");
  const std::string error = resolved(zho, "fr");
  EXPECT_NE(error.find("zh (zho_Hans)"), std::string::npos) << error;
}

TEST(ServerLanguages, SourceMustBeTheModelsOrAuto) {
  const LanguageMap map(kChineseTokens, "eng", "zho");
  for (const char* accepted : {"", "auto", "AUTO", "en", "eng", "EN"}) EXPECT_FALSE(map.check_source(accepted)) << accepted;
  const auto error = map.check_source("de");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400);
  EXPECT_NE(error->message.find("'de'"), std::string::npos) << error->message;
  EXPECT_NE(error->message.find("en (eng)"), std::string::npos) << error->message;
  EXPECT_EQ(map.detect_json(), nlohmann::json::parse(R"([{"confidence": 100.0, "language": "en"}])"));

  // A multi-source model (opus-mt-mul-en) or one naming no source takes any source, detects nothing.
  const LanguageMap mul({}, "mul", "eng");
  EXPECT_FALSE(mul.check_source("de"));
  EXPECT_EQ(mul.detect_json()[0]["confidence"], 0.0);
  EXPECT_EQ(mul.languages_json()[0]["targets"], nlohmann::json::array({"en"}));
  const LanguageMap unnamed({}, "", "");
  EXPECT_FALSE(unnamed.check_source("fr"));
  EXPECT_EQ(unnamed.source_code(), "auto");
}

}  // namespace
}  // namespace opusrt::server
