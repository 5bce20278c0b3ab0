// What LibreTranslate clients rely on beyond POST /translate: its language codes (and the
// model's own), POST /detect, detectedLanguage only for source "auto", GET /frontend/settings,
// form bodies larger than httplib's 8 KiB form limit, CORS, and the page at / (--no-web).
#include "server/server_test_util.h"

namespace opusrt::server::testing {
namespace {

using json = nlohmann::json;

json body_of(const httplib::Result& response, int status = 200) {
  if (!response) {
    ADD_FAILURE() << "no response: " << httplib::to_string(response.error());
    return json();
  }
  EXPECT_EQ(response->status, status) << response->body;
  return json::parse(response->body, nullptr, /*allow_exceptions=*/false);
}

httplib::Result post_json(httplib::Client& client, const json& body, const std::string& path = "/translate") {
  return client.Post(path, body.dump(), "application/json");
}

std::string reference(const std::string& text, const std::string& target_lang) {
  return tiny_translator().translate(text, reference_options(target_lang)).text;
}

TEST(ServerLibreTranslate, LanguagesListLibreTranslateCodesAndBothKindsTranslate) {
  TestServer server;
  httplib::Client client = server.client();
  const json languages = body_of(client.Get("/languages"));
  ASSERT_TRUE(languages.is_array() && !languages.empty()) << languages;
  EXPECT_EQ(languages[0]["code"], "en");
  EXPECT_EQ(languages[0]["targets"][0], "zh");
  EXPECT_EQ(languages[0]["targets"][1], "zt");

  const std::string text = "The weather is nice today.";
  EXPECT_EQ(body_of(post_json(client, {{"q", text}, {"source", "en"}, {"target", "zh"}}))["translatedText"],
            reference(text, "cmn_Hans"));
  EXPECT_EQ(body_of(post_json(client, {{"q", text}, {"source", "eng"}, {"target", "cmn_Hans"}}))["translatedText"],
            reference(text, "cmn_Hans"));
  EXPECT_EQ(body_of(post_json(client, {{"q", text}, {"source", "en"}, {"target", "zt"}}))["translatedText"],
            reference(text, "cmn_Hant"));
  EXPECT_EQ(body_of(post_json(client, {{"q", text}, {"source", "en"}, {"target", "yue_Hant"}}))["translatedText"],
            reference(text, "yue_Hant"));
  const json wrong_source = body_of(post_json(client, {{"q", text}, {"source", "de"}, {"target", "zh"}}), 400);
  EXPECT_NE(wrong_source["error"].get<std::string>().find("'de'"), std::string::npos) << wrong_source;
}

TEST(ServerLibreTranslate, DetectedLanguageOnlyForSourceAuto) {
  TestServer server;
  httplib::Client client = server.client();
  const std::string text = "Good evening.";
  const json named = body_of(post_json(client, {{"q", text}, {"source", "en"}, {"target", "zh"}}));
  EXPECT_FALSE(named.contains("detectedLanguage")) << named;
  const json absent = body_of(post_json(client, {{"q", text}, {"target", "zh"}}));
  EXPECT_FALSE(absent.contains("detectedLanguage")) << absent;
  const json detected = body_of(post_json(client, {{"q", text}, {"source", "auto"}, {"target", "zh"}}));
  EXPECT_EQ(detected["detectedLanguage"], json::parse(R"({"confidence": 100.0, "language": "en"})")) << detected;
  EXPECT_EQ(detected["translatedText"], named["translatedText"]);
  const json array = body_of(post_json(client, {{"q", {text, text}}, {"source", "en"}, {"target", "zh"}}));
  EXPECT_FALSE(array.contains("detectedLanguage")) << array;
}

TEST(ServerLibreTranslate, DetectAnswersTheModelsSourceLanguage) {
  TestServer server;
  httplib::Client client = server.client();
  const json expected = json::parse(R"([{"confidence": 100.0, "language": "en"}])");
  EXPECT_EQ(body_of(post_json(client, {{"q", "What language is this?"}}, "/detect")), expected);
  EXPECT_EQ(body_of(client.Post("/detect", "q=What+language+is+this%3F", "application/x-www-form-urlencoded")), expected);
  const json missing = body_of(post_json(client, json::object(), "/detect"), 400);
  EXPECT_NE(missing["error"].get<std::string>().find("missing q"), std::string::npos) << missing;
}

TEST(ServerLibreTranslate, DetectAndTranslateNeedTheKeyWhenKeysAreSet) {
  TestServerOptions options;
  options.api_keys = {"secret"};
  TestServer server(options);
  httplib::Client client = server.client();
  body_of(post_json(client, {{"q", "Hello."}}, "/detect"), 403);
  body_of(post_json(client, {{"q", "Hello."}, {"api_key", "secret"}}, "/detect"), 200);
  const json settings = body_of(client.Get("/frontend/settings"));
  EXPECT_EQ(settings["apiKeys"], true);
  EXPECT_EQ(settings["keyRequired"], true);
}

TEST(ServerLibreTranslate, FrontendSettingsAsLibreTranslateAnswersThem) {
  TestServerOptions options;
  options.max_chars = 1234;
  TestServer server(options);
  httplib::Client client = server.client();
  const json settings = body_of(client.Get("/frontend/settings"));
  EXPECT_EQ(settings["charLimit"], 1234);
  EXPECT_EQ(settings["frontendTimeout"], 500);
  EXPECT_EQ(settings["apiKeys"], false);
  EXPECT_EQ(settings["keyRequired"], false);
  EXPECT_EQ(settings["suggestions"], false);
  EXPECT_EQ(settings["filesTranslation"], false);
  EXPECT_EQ(settings["supportedFilesFormat"], json::array());
  EXPECT_EQ(settings["language"]["source"], json::parse(R"({"code": "en", "name": "English"})"));
  EXPECT_EQ(settings["language"]["target"]["code"], "zh");
  EXPECT_TRUE(settings["language"]["target"]["name"].is_string());
}

// Debian's libcpp-httplib refuses form bodies over 8 KiB (413) when it parses them itself.
TEST(ServerLibreTranslate, FormBodiesBeyondEightKibUpToMaxChars) {
  TestServerOptions options;
  options.max_chars = 30000;
  TestServer server(options);
  httplib::Client client = server.client();
  // Many short texts: each within the model's length, together ~20 KB of form body.
  std::vector<std::string> texts = corpus_sentences(8);
  std::string body = "source=en&target=zh";
  size_t characters = 0;
  std::vector<std::string> sent;
  while (body.size() < 20000) {
    const std::string& text = texts[sent.size() % texts.size()];
    std::string encoded;
    for (const unsigned char c : text) {
      if (std::isalnum(c)) {
        encoded.push_back(static_cast<char>(c));
      } else {
        char escape[4];
        std::snprintf(escape, sizeof escape, "%%%02X", c);
        encoded += escape;
      }
    }
    body += "&q=" + encoded;
    sent.push_back(text);
    characters += text.size();
  }
  ASSERT_GT(body.size(), 8192u * 2);
  ASSERT_LE(characters, options.max_chars);
  const json answer = body_of(client.Post("/translate", body, "application/x-www-form-urlencoded"));
  ASSERT_TRUE(answer["translatedText"].is_array()) << answer.dump().substr(0, 300);
  ASSERT_EQ(answer["translatedText"].size(), sent.size());
  EXPECT_EQ(answer["translatedText"][0], reference(sent[0], "cmn_Hans"));
  EXPECT_EQ(answer["translatedText"][sent.size() - 1], reference(sent.back(), "cmn_Hans"));

  // A single form field of more than 8 KiB, past the character limit: the server's 413, in JSON.
  TestServerOptions small;
  small.max_chars = 9000;
  TestServer limited(small);
  httplib::Client limited_client = limited.client();
  const json too_long = body_of(
      limited_client.Post("/translate", "target=zh&q=" + std::string(9500, 'a'), "application/x-www-form-urlencoded"), 413);
  EXPECT_NE(too_long["error"].get<std::string>().find("exceeds text limit (9000)"), std::string::npos) << too_long;
}

TEST(ServerLibreTranslate, CorsForBrowserClients) {
  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result languages = client.Get("/languages");
  ASSERT_TRUE(languages);
  EXPECT_EQ(languages->get_header_value("Access-Control-Allow-Origin"), "*");
  const httplib::Result preflight = client.Options("/translate");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

TEST(ServerLibreTranslate, PageAtRootUnlessNoWeb) {
  {
    TestServer server;
    httplib::Client client = server.client();
    const httplib::Result page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->body.find("<textarea id=\"source\""), std::string::npos);
    // Everything the page loads comes from this server: no CDN.
    EXPECT_EQ(page->body.find("http://"), std::string::npos);
    EXPECT_EQ(page->body.find("https://"), std::string::npos);
    const httplib::Result script = client.Get("/app.js");
    ASSERT_TRUE(script);
    EXPECT_EQ(script->status, 200);
    EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_NE(script->body.find("/translate/stream"), std::string::npos);
    EXPECT_EQ(client.Get("/app.css")->status, 200);
  }
  TestServerOptions options;
  options.web = false;
  TestServer server(options);
  httplib::Client client = server.client();
  EXPECT_EQ(client.Get("/")->status, 404);
  EXPECT_EQ(client.Get("/app.js")->status, 404);
  EXPECT_EQ(client.Get("/languages")->status, 200);
}

}  // namespace
}  // namespace opusrt::server::testing
