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
  EXPECT_EQ(languages[0]["targets"], nlohmann::json::array({"de"}));
  EXPECT_EQ(languages[1]["code"], "de");
  EXPECT_EQ(languages[1]["targets"], nlohmann::json::array());
}

TEST(ServerLanguages, TinyModelLanguagesFromTokenizerConfigAndTokens) {
  Translator translator(opusrt::test::tiny_model_dir());
  const LanguageMap map = LanguageMap::for_model(translator.model_info());
  const nlohmann::json languages = map.languages_json();
  ASSERT_EQ(languages.size(), 1u + kChineseTokens.size());
  EXPECT_EQ(languages[0]["code"], "eng");  // tokenizer_config.json source_lang
  EXPECT_EQ(languages[0]["name"], "English");
  std::vector<std::string> targets = languages[0]["targets"];
  EXPECT_EQ(targets, (std::vector<std::string>{"cmn_Hans", "cmn_Hant", "yue_Hans", "yue_Hant", "zho_Hans", "zho_Hant",
                                               "lzh", "wuu"}));
  for (size_t i = 1; i < languages.size(); ++i) {
    EXPECT_EQ(languages[i]["code"], targets[i - 1]);
    EXPECT_TRUE(languages[i]["name"].is_string());
    EXPECT_TRUE(languages[i]["targets"].empty());
  }
  EXPECT_EQ(languages[1]["name"], "Chinese (Simplified, Mandarin)");
}

}  // namespace
}  // namespace opusrt::server
