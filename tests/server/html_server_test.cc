// format=html in the server: the same document as opusrt::translate_html with the same options
// (itself checked in tests/text/), in /translate (string and array q) and /translate/stream.
#include "cli_runner.h"
#include "opusrt/html.h"
#include "server/server_test_util.h"

namespace opusrt::server::testing {
namespace {

using json = nlohmann::json;

const std::string kPage =
    "<article lang=\"en\">\n<h1>Train <i>times</i></h1>\n"
    "<p>The <b>last <em>train</em></b> leaves at <a href=\"/t?d=1&amp;h=23\">eleven</a>&nbsp;tonight &copy; "
    "<span translate=\"no\">SBB</span>.</p>\n<pre>no  change</pre><code>x = 1</code>\n</article>";

std::string reference_html(const std::string& html, const std::string& target_lang = "cmn_Hans") {
  // The server cuts each HTML unit as the library's default (and the CLI's) does: SplitMode::kAuto.
  return translate_html(tiny_translator(), html, reference_options(target_lang), SplitMode::kAuto);
}

TEST(ServerHtml, FormatHtmlKeepsMarkupAndEqualsTheLibrary) {
  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result one =
      client.Post("/translate", json{{"q", kPage}, {"source", "en"}, {"target", "zh"}, {"format", "html"}}.dump(),
                  "application/json");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  const json body = json::parse(one->body);
  const std::string expected = reference_html(kPage);
  EXPECT_EQ(body["translatedText"], expected);
  EXPECT_NE(expected.find("<a href=\"/t?d=1&amp;h=23\">"), std::string::npos) << expected;
  EXPECT_NE(expected.find("<span translate=\"no\">SBB</span>"), std::string::npos) << expected;
  EXPECT_NE(expected.find("<pre>no  change</pre><code>x = 1</code>\n</article>"), std::string::npos) << expected;

  // An array: each document on its own; alternatives are empty lists for HTML (as LibreTranslate).
  const std::vector<std::string> pages = {"<p>Good <b>morning</b>.</p>", "", "plain text, no tags",
                                          "<ul><li>One</li><li>Two</li></ul>"};
  const httplib::Result many = client.Post(
      "/translate", json{{"q", pages}, {"target", "zt"}, {"format", "html"}, {"alternatives", 2}}.dump(),
      "application/json");
  ASSERT_TRUE(many);
  ASSERT_EQ(many->status, 200) << many->body;
  const json answers = json::parse(many->body);
  ASSERT_EQ(answers["translatedText"].size(), pages.size());
  for (size_t i = 0; i < pages.size(); ++i) {
    EXPECT_EQ(answers["translatedText"][i], reference_html(pages[i], "cmn_Hant")) << pages[i];
    EXPECT_EQ(answers["alternatives"][i], json::array());
  }

  // A form body, as LibreTranslate's own page sends it.
  const httplib::Result form = client.Post(
      "/translate", "q=%3Cp%3EGood+%3Cb%3Emorning%3C%2Fb%3E.%3C%2Fp%3E&target=zh&format=html",
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(json::parse(form->body)["translatedText"], reference_html(pages[0]));
}

TEST(ServerHtml, StreamSendsTheWholeDocumentOnce) {
  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result stream = client.Post(
      "/translate/stream", json{{"q", kPage}, {"target", "zh"}, {"format", "html"}}.dump(), "application/json");
  ASSERT_TRUE(stream);
  ASSERT_EQ(stream->status, 200) << stream->body;
  EXPECT_EQ(stream->body.find("event: partial"), std::string::npos) << stream->body;
  const size_t data = stream->body.find("event: final\ndata: ");
  ASSERT_NE(data, std::string::npos) << stream->body;
  const std::string payload = stream->body.substr(data + 19, stream->body.find("\n\n", data) - data - 19);
  EXPECT_EQ(json::parse(payload)["translatedText"], reference_html(kPage));
}

// A block longer than the model takes is cut into sentences (and pieces of sentences) like any
// long text: the document is what `opusrt translate --format html` makes of it.
TEST(ServerHtml, ABlockLongerThanTheModelIsTheClisTranslation) {
  std::string long_block = "<p>";
  for (int i = 0; i < 40; ++i) long_block += "The <b>train</b> leaves at " + std::to_string(i) + " o'clock. ";
  for (int i = 0; i < 300; ++i) long_block += "word ";
  long_block += "</p>";
  const std::string page = "<h1>Title</h1>" + long_block + "<p>Fine.</p>";
  const opusrt::test::Result cli =
      opusrt::test::run_cli({"translate", "--model", opusrt::test::tiny_model_dir().string(), "--format", "html",
                             "--target-lang", "cmn_Hans", "--max-new-tokens", std::to_string(kMaxNewTokens)},
                            page);
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, reference_html(page));

  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result answer = client.Post(
      "/translate", json{{"q", {"<p>Fine.</p>", page}}, {"target", "zh"}, {"format", "html"}}.dump(), "application/json");
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->status, 200) << answer->body;
  const json texts = json::parse(answer->body)["translatedText"];
  EXPECT_EQ(texts[0], reference_html("<p>Fine.</p>"));
  EXPECT_EQ(texts[1], cli.out);
}

TEST(ServerHtml, BadFormatIs400) {
  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result bad =
      client.Post("/translate", json{{"q", "x"}, {"format", "markdown"}}.dump(), "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("format must be 'text' or 'html'"), std::string::npos) << bad->body;
}

}  // namespace
}  // namespace opusrt::server::testing
