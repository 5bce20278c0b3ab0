// opusrt::translate_html with the tiny fixture model: the markup comes back byte for byte, and
// the text of each block is exactly the model's translation of that block's text.
#include <gtest/gtest.h>


#include "opusrt/html.h"
#include "test_env.h"
#include "text/html_test_util.h"

namespace opusrt {
namespace {

const Translator& tiny() {
  static const Translator translator(opusrt::test::tiny_model_dir());
  return translator;
}

TranslateOptions options() {
  TranslateOptions options;
  options.max_new_tokens = 12;
  options.target_lang = "cmn_Hans";
  return options;
}

std::string unescape(std::string text) {
  for (const auto& [entity, character] : {std::pair<std::string, std::string>{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at + character.size()))
      text.replace(at, entity.size(), character);
  }
  return text;
}

using opusrt::test::between;
using opusrt::test::strip_tags;
using opusrt::test::tags_of;

TEST(HtmlTranslate, MarkupKeptAndEachBlockIsTheModelsTranslation) {
  const std::string html =
      "<div class=\"card\" data-id='7'>\n"
      "  <h2>Opening hours</h2>\n"
      "  <p>The <a href=\"/library?x=1&amp;y=2\" title=\"Main &amp; branch\">city <em>library</em></a> opens at "
      "nine.</p>\n"
      "  <p translate=\"no\">Do not translate this.</p>\n"
      "  <pre>  keep\n   me </pre><script>let greeting = \"Hello\";</script>\n"
      "</div>\n";
  const std::string out = translate_html(tiny(), html, options());

  // Untouched parts, byte for byte.
  for (const char* kept : {"<div class=\"card\" data-id='7'>\n  <h2>", "</h2>\n  <p>The ",
                           "<a href=\"/library?x=1&amp;y=2\" title=\"Main &amp; branch\">",
                           "  <p translate=\"no\">Do not translate this.</p>\n  <pre>  keep\n   me </pre>"
                           "<script>let greeting = \"Hello\";</script>\n</div>\n"}) {
    if (std::string(kept) == "</h2>\n  <p>The ") continue;  // "The" is translated
    EXPECT_NE(out.find(kept), std::string::npos) << kept << "\n in \n" << out;
  }
  // Every tag, in order.
  EXPECT_EQ(tags_of(out), tags_of(html));

  // The heading and the paragraph: the model's translation of their text, inline markup removed.
  EXPECT_EQ(unescape(between(out, "<h2>", "</h2>")), tiny().translate_text("Opening hours", options()).text);
  const size_t p_begin = out.find("<p>"), p_end = out.find("</p>", p_begin);
  ASSERT_NE(p_begin, std::string::npos);
  const std::string paragraph = out.substr(p_begin, p_end + 4 - p_begin);
  std::string expected = tiny().translate_text("The city library opens at nine.", options()).text;
  while (!expected.empty() && expected.back() == ' ') expected.pop_back();
  while (!expected.empty() && expected.front() == ' ') expected.erase(0, 1);
  EXPECT_EQ(unescape(strip_tags(paragraph)), expected) << paragraph;
}

// A forced target prefix belongs to the document's first block only (as to a text's first
// sentence), not to every paragraph.
TEST(HtmlTranslate, APrefixIsForcedOnTheFirstBlockOnly) {
  TranslateOptions prefixed = options();
  prefixed.target_prefix = "你好";
  const std::string out = translate_html(tiny(), "<p>Open the file.</p><p>Close the window.</p>", prefixed);
  EXPECT_EQ(unescape(between(out, "<p>", "</p>")), tiny().translate_text("Open the file.", prefixed).text) << out;
  const size_t second = out.find("<p>", 1);
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_EQ(unescape(between(out.substr(second), "<p>", "</p>")), tiny().translate_text("Close the window.", options()).text)
      << out;
  EXPECT_NE(tiny().translate_text("Close the window.", prefixed).text,
            tiny().translate_text("Close the window.", options()).text);  // else the test could not tell
  // One block: the prefix is still forced.
  EXPECT_EQ(unescape(between(translate_html(tiny(), "<p>Open the file.</p>", prefixed), "<p>", "</p>")),
            tiny().translate_text("Open the file.", prefixed).text);
}

TEST(HtmlTranslate, NoTextNoModelAndBadUtf8IsAnError) {
  const std::string html = "<table><tr><td>42</td></tr></table><!-- x --><script>a()</script>";
  EXPECT_EQ(translate_html(tiny(), html, options()), html);
  EXPECT_THROW(translate_html(tiny(), "<p>\xFF</p>", options()), Error);
}

}  // namespace
}  // namespace opusrt
