// HtmlDocument: units out of HTML, HTML back around their translations. The translation
// functions here are deterministic stand-ins (upper-casing, a dictionary) so that every byte of
// the output can be checked; html_translate_test.cc runs the real model.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "opusrt/html.h"
#include "text/html_document.h"
#include "text/html_test_util.h"

namespace opusrt::text {
namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::string translate_upper(std::string_view html) {
  return translate_html(html, [](const std::vector<std::string>& units) {
    std::vector<std::string> out;
    for (const std::string& unit : units) out.push_back(upper(unit));
    return out;
  });
}

std::string translate_with(std::string_view html, const std::map<std::string, std::string>& dictionary) {
  return translate_html(html, [&](const std::vector<std::string>& units) {
    std::vector<std::string> out;
    for (const std::string& unit : units) {
      const auto it = dictionary.find(unit);
      EXPECT_NE(it, dictionary.end()) << "unexpected unit: " << unit;
      out.push_back(it == dictionary.end() ? unit : it->second);
    }
    return out;
  });
}

using opusrt::test::between;
using opusrt::test::strip_tags;
using opusrt::test::tags_of;

TEST(HtmlDocument, InlineMarkupIsOneSentenceWithItsTagsPlacedBack) {
  const HtmlDocument document("<p>Click <b>Save</b> now.</p>");
  EXPECT_EQ(document.units(), (std::vector<std::string>{"Click Save now.", "Save"}));
  EXPECT_EQ(document.render({"Cliquez sur Enregistrer maintenant.", "Enregistrer"}),
            "<p>Cliquez sur <b>Enregistrer</b> maintenant.</p>");
  // Word order changes: the tags follow the word.
  EXPECT_EQ(translate_with("<p>Click <b>Save</b> now.</p>",
                           {{"Click Save now.", "Jetzt Speichern klicken."}, {"Save", "Speichern"}}),
            "<p>Jetzt <b>Speichern</b> klicken.</p>");
  // Case differs from the word translated alone: still found.
  EXPECT_EQ(translate_with("<p>Click <b>Save</b> now.</p>",
                           {{"Click Save now.", "Jetzt speichern klicken."}, {"Save", "Speichern"}}),
            "<p>Jetzt <b>speichern</b> klicken.</p>");
}

TEST(HtmlDocument, NestedInlineTagsAttributesAndEntitiesAreKept) {
  const std::string html =
      "<p class=\"lead\" data-x='1 &amp; 2'>A <a href=\"/x?a=1&amp;b=2\" title=\"Go &gt;\"><em>very</em> good</a> "
      "day &amp; night &copy; 2024&nbsp;here &#8217;s</p>";
  EXPECT_EQ(translate_upper(html),
            "<p class=\"lead\" data-x='1 &amp; 2'>A <a href=\"/x?a=1&amp;b=2\" title=\"Go &gt;\"><em>VERY</em> GOOD</a> "
            "DAY &amp; NIGHT &copy; 2024&nbsp;HERE &#8217;S</p>");
}

TEST(HtmlDocument, ScriptStyleCodePreAndTranslateNoAreUntouched) {
  const std::string html =
      "<html><head><title>Hello</title><style>p { color: red; }</style>"
      "<script>var s = \"Hello world\";</script></head>\n"
      "<body><!-- a comment -->\n<p>Run <code>make all</code> now.</p>\n"
      "<pre>  keep   this\n  text </pre>\n"
      "<p>Say <span translate=\"no\">Bonjour</span> to all.</p>\n"
      "<div translate=\"no\">Keep me <p translate=\"yes\">Change me</p></div>\n"
      "<p class=\"notranslate\">Brand name</p>\n"
      "<code>block code</code>\n"
      "</body></html>";
  EXPECT_EQ(translate_upper(html),
            "<html><head><title>HELLO</title><style>p { color: red; }</style>"
            "<script>var s = \"Hello world\";</script></head>\n"
            "<body><!-- a comment -->\n<p>RUN <code>make all</code> NOW.</p>\n"
            "<pre>  keep   this\n  text </pre>\n"
            "<p>SAY <span translate=\"no\">Bonjour</span> TO ALL.</p>\n"
            "<div translate=\"no\">Keep me <p translate=\"yes\">CHANGE ME</p></div>\n"
            "<p class=\"notranslate\">Brand name</p>\n"
            "<code>block code</code>\n"
            "</body></html>");
}

TEST(HtmlDocument, WhitespaceBetweenAndAroundBlocksIsKept) {
  const std::string html = "<ul>\n  <li>  One  apple </li>\n\t<li>Two\n   pears</li>\n</ul>\n";
  const HtmlDocument document(html);
  EXPECT_EQ(document.units(), (std::vector<std::string>{"One apple", "Two pears"}));
  EXPECT_EQ(document.render({"Une pomme", "Deux poires"}),
            "<ul>\n  <li>  Une pomme </li>\n\t<li>Deux poires</li>\n</ul>\n");
}

TEST(HtmlDocument, LineBreaksAndUnmatchedSpansGoToProportionalPositions) {
  EXPECT_EQ(translate_upper("<p>Line one<br>line two</p>"), "<p>LINE ONE<br>LINE TWO</p>");
  // The inline element's translation is nowhere in the sentence's: its tags still wrap whole
  // words near where its text was, and no word is lost or doubled.
  const std::string out = translate_with("<p>Please <i>press</i> the big red button.</p>",
                                         {{"Please press the big red button.", "Bitte den großen roten Knopf drücken."},
                                          {"press", "betätigen"}});
  EXPECT_EQ(tags_of(out), (std::vector<std::string>{"<p>", "<i>", "</i>", "</p>"}));
  EXPECT_EQ(strip_tags(out), "Bitte den großen roten Knopf drücken.");
  const std::string wrapped = between(out, "<i>", "</i>");  // one whole word, spaces outside
  EXPECT_FALSE(wrapped.empty()) << out;
  EXPECT_EQ(wrapped.find(' '), std::string::npos) << out;
  EXPECT_NE(out.find(" <i>" + wrapped + "</i> "), std::string::npos) << out;
}

TEST(HtmlDocument, TextWithoutLettersIsNotSentToTheModel) {
  const HtmlDocument document("<table><tr><td>2024</td><td>- 3.5 %</td><td>Total</td></tr></table>");
  EXPECT_EQ(document.units(), (std::vector<std::string>{"Total"}));
  EXPECT_EQ(document.render({"Summe"}), "<table><tr><td>2024</td><td>- 3.5 %</td><td>Summe</td></tr></table>");
  EXPECT_EQ(translate_upper(""), "");
  EXPECT_EQ(translate_upper("<p></p><img src=x>"), "<p></p><img src=x>");
}

TEST(HtmlDocument, BrokenMarkupLosesNothing) {
  const auto identity = [](const std::vector<std::string>& units) { return units; };
  for (const std::string html : {"<p>Unclosed <b>bold<p>Next one", "<b>bold <i>both</b> italic</i> end",
                                 "<table><tr>stray text<td>cell</td></table>", "text </span> stray end tag <x",
                                 "<p>a <!-- unterminated", "<ul><li>one<li>two</ul></li>", "</p>odd<p>"}) {
    // Every byte comes back when the "translation" changes nothing; every source tag is kept.
    EXPECT_EQ(translate_html(html, identity), html);
    EXPECT_EQ(tags_of(translate_upper(html)), tags_of(html)) << html << "\n -> " << translate_upper(html);
  }
  EXPECT_EQ(translate_upper("<b>bold <i>both</b> italic</i> end"), "<b>BOLD <i>BOTH</b> ITALIC</i> END");
  // Bare & < > in text are written as entities: the same text, valid HTML.
  EXPECT_EQ(translate_upper("<p>a < b & c > d</p>"), "<p>A &lt; B &amp; C &gt; D</p>");
}

TEST(HtmlDocument, FullDocumentTitleAndAttributesOutsideText) {
  const std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>My page</title>\n</head>\n"
      "<body>\n<h1 id=\"top\">Welcome home</h1>\n<img alt=\"A cat\" src=\"cat.png\">\n</body>\n</html>\n";
  EXPECT_EQ(translate_upper(html),
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>MY PAGE</title>\n</head>\n"
            "<body>\n<h1 id=\"top\">WELCOME HOME</h1>\n<img alt=\"A cat\" src=\"cat.png\">\n</body>\n</html>\n");
}

TEST(HtmlDocument, TranslatedTextIsEscaped) {
  EXPECT_EQ(translate_with("<p>Fish and chips</p>", {{"Fish and chips", "Fish & <chips>"}}),
            "<p>Fish &amp; &lt;chips&gt;</p>");
}

TEST(HtmlDocument, ErrorsNameTheProblem) {
  const HtmlDocument document("<p>One</p><p>Two</p>");
  try {
    document.render({"Eins"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 translations for 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(translate_upper("<p>caf\xC3</p>"), Error);
}

}  // namespace
}  // namespace opusrt::text
