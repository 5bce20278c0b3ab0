// parse_translate_request: LibreTranslate's request body, every accepted shape and every error.
#include <random>

#include <gtest/gtest.h>

#include "server/translate_request.h"

namespace opusrt::server {
namespace {

TranslateRequest parse_ok(std::string_view body, std::string_view type = "application/json") {
  ParseResult result = parse_translate_request(body, type);
  if (const RequestError* error = std::get_if<RequestError>(&result)) {
    ADD_FAILURE() << "unexpected error for " << body << ": " << error->status << " " << error->message;
    return {};
  }
  return std::get<TranslateRequest>(std::move(result));
}

RequestError parse_error(std::string_view body, std::string_view type = "application/json") {
  ParseResult result = parse_translate_request(body, type);
  if (!std::holds_alternative<RequestError>(result)) {
    ADD_FAILURE() << "expected an error for " << body;
    return {};
  }
  return std::get<RequestError>(std::move(result));
}

TEST(ServerRequest, JsonWithEveryField) {
  const TranslateRequest r = parse_ok(
      R"({"q": "Hello world.", "source": "en", "target": "zh", "format": "text", "alternatives": 3, "api_key": "k"})");
  ASSERT_EQ(r.q.size(), 1u);
  EXPECT_EQ(r.q[0], "Hello world.");
  EXPECT_FALSE(r.q_is_array);
  EXPECT_EQ(r.source, "en");
  EXPECT_EQ(r.target, "zh");
  EXPECT_EQ(r.format, "text");
  EXPECT_EQ(r.alternatives, 3);
  EXPECT_EQ(r.api_key, "k");
}

TEST(ServerRequest, JsonDefaults) {
  const TranslateRequest r = parse_ok(R"({"q": "Hi", "unknown_field": [1, 2]})");
  EXPECT_EQ(r.source, "");  // translated as "auto", without detectedLanguage
  EXPECT_EQ(r.target, "");
  EXPECT_EQ(r.format, "text");
  EXPECT_EQ(r.alternatives, 0);
  EXPECT_EQ(r.api_key, "");
  // null is "not given", as is an empty source
  const TranslateRequest nulls = parse_ok(R"({"q": "Hi", "source": "", "target": null, "alternatives": null})");
  EXPECT_EQ(nulls.source, "");
  EXPECT_EQ(nulls.alternatives, 0);
}

TEST(ServerRequest, JsonArrayKeepsOrderAndEmptyStrings) {
  const TranslateRequest r = parse_ok(R"({"q": ["one", "", "three"]})");
  EXPECT_TRUE(r.q_is_array);
  EXPECT_EQ(r.q, (std::vector<std::string>{"one", "", "three"}));
  const TranslateRequest empty = parse_ok(R"({"q": []})");
  EXPECT_TRUE(empty.q_is_array);
  EXPECT_TRUE(empty.q.empty());
}

TEST(ServerRequest, JsonUnicodeAndEscapes) {
  const TranslateRequest r = parse_ok(R"({"q": "caf\u00e9 \ud83d\ude00 \"quoted\"\nline"})");
  EXPECT_EQ(r.q.at(0), "caf\xC3\xA9 \xF0\x9F\x98\x80 \"quoted\"\nline");
}

TEST(ServerRequest, AlternativesAsNumericString) {
  EXPECT_EQ(parse_ok(R"({"q": "a", "alternatives": "2"})").alternatives, 2);
  EXPECT_EQ(parse_ok(R"({"q": "a", "alternatives": 0})").alternatives, 0);
  EXPECT_EQ(parse_ok(R"({"q": "a", "alternatives": 10})").alternatives, kMaxAlternatives);
}

TEST(ServerRequest, ContentTypeParametersAndCaseAreIgnored) {
  EXPECT_EQ(parse_ok(R"({"q": "a"})", "Application/JSON; charset=utf-8").q.at(0), "a");
  // No Content-Type: a body that starts with '{' is JSON, anything else a form.
  EXPECT_EQ(parse_ok(R"(  {"q": "a"})", "").q.at(0), "a");
  EXPECT_EQ(parse_ok("q=a+b", "").q.at(0), "a b");
}

TEST(ServerRequest, FormUrlencoded) {
  const TranslateRequest r =
      parse_ok("q=Hello+world%21&source=en&target=zh&format=text&alternatives=2&api_key=s%20k",
               "application/x-www-form-urlencoded");
  EXPECT_EQ(r.q, std::vector<std::string>{"Hello world!"});
  EXPECT_FALSE(r.q_is_array);
  EXPECT_EQ(r.source, "en");
  EXPECT_EQ(r.target, "zh");
  EXPECT_EQ(r.alternatives, 2);
  EXPECT_EQ(r.api_key, "s k");
  EXPECT_EQ(parse_ok("q=%E4%BD%A0%E5%A5%BD", "application/x-www-form-urlencoded").q.at(0), "\xE4\xBD\xA0\xE5\xA5\xBD");
}

TEST(ServerRequest, FormRepeatedQIsAnArray) {
  const TranslateRequest r = parse_ok("q=one&q=two&q=three", "application/x-www-form-urlencoded");
  EXPECT_TRUE(r.q_is_array);
  EXPECT_EQ(r.q, (std::vector<std::string>{"one", "two", "three"}));
  const TranslateRequest brackets = parse_ok("q%5B%5D=only", "application/x-www-form-urlencoded");
  EXPECT_TRUE(brackets.q_is_array);
  EXPECT_EQ(brackets.q, std::vector<std::string>{"only"});
}

TEST(ServerRequest, FieldsFromMultipart) {
  const ParseResult r = parse_translate_fields({{"q", "Hello"}, {"target", "zh"}, {"alternatives", ""}});
  ASSERT_TRUE(std::holds_alternative<TranslateRequest>(r));
  EXPECT_EQ(std::get<TranslateRequest>(r).q, std::vector<std::string>{"Hello"});
  EXPECT_EQ(std::get<TranslateRequest>(r).alternatives, 0);
  const ParseResult missing = parse_translate_fields({{"target", "zh"}});
  ASSERT_TRUE(std::holds_alternative<RequestError>(missing));
  EXPECT_EQ(std::get<RequestError>(missing).status, 400);
}

TEST(ServerRequest, MalformedJsonIs400) {
  for (const char* body : {"", "{", "{\"q\": \"a\"", "{\"q\": 'a'}", "nonsense", "{\"q\": \"a\",}", "\xFF"}) {
    const RequestError e = parse_error(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_NE(parse_error("{").message.find("malformed JSON"), std::string::npos);
}

TEST(ServerRequest, BodyMustBeAnObject) {
  for (const char* body : {"[]", "\"q\"", "42", "null", "[{\"q\": \"a\"}]"}) EXPECT_EQ(parse_error(body).status, 400) << body;
}

TEST(ServerRequest, MissingQIs400) {
  EXPECT_NE(parse_error(R"({"source": "en"})").message.find("missing q"), std::string::npos);
  EXPECT_NE(parse_error(R"({"q": null})").message.find("missing q"), std::string::npos);
  EXPECT_NE(parse_error("source=en", "application/x-www-form-urlencoded").message.find("missing q"), std::string::npos);
}

TEST(ServerRequest, WrongTypesAre400) {
  for (const char* body : {R"({"q": 42})", R"({"q": {"text": "a"}})", R"({"q": ["a", 1]})", R"({"q": ["a", null]})",
                           R"({"q": [["a"]]})", R"({"q": true})", R"({"q": "a", "source": 1})",
                           R"({"q": "a", "target": ["zh"]})", R"({"q": "a", "format": 1})",
                           R"({"q": "a", "api_key": 123})", R"({"q": "a", "alternatives": 1.5})",
                           R"({"q": "a", "alternatives": "two"})", R"({"q": "a", "alternatives": [1]})",
                           R"({"q": "a", "alternatives": true})"}) {
    const RequestError e = parse_error(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_TRUE(e.message.starts_with("Invalid request")) << e.message;
  }
}

TEST(ServerRequest, AlternativesOutOfRangeIs400) {
  for (const char* body : {R"({"q": "a", "alternatives": -1})", R"({"q": "a", "alternatives": 11})",
                           R"({"q": "a", "alternatives": 18446744073709551615})",
                           R"({"q": "a", "alternatives": "-3"})", R"({"q": "a", "alternatives": "99999999999999999999"})"})
    EXPECT_EQ(parse_error(body).status, 400) << body;
  EXPECT_EQ(parse_error("q=a&alternatives=x", "application/x-www-form-urlencoded").status, 400);
}

TEST(ServerRequest, ApiKeyAlsoAsTheNpmClientSpellsIt) {
  EXPECT_EQ(parse_ok(R"({"q": "a", "apiKey": "k1"})").api_key, "k1");
  EXPECT_EQ(parse_ok(R"({"q": "a", "api_key": "k2", "apiKey": "k1"})").api_key, "k2");
  EXPECT_EQ(parse_ok(R"({"q": "a", "api_key": "", "apiKey": ""})").api_key, "");
  EXPECT_EQ(parse_error(R"({"q": "a", "apiKey": 5})").status, 400);
}

TEST(ServerRequest, FormatIsTextOrHtml) {
  EXPECT_EQ(parse_ok(R"({"q": "<b>a</b>", "format": "html"})").format, "html");
  EXPECT_EQ(parse_ok("q=a&format=html", "application/x-www-form-urlencoded").format, "html");
  EXPECT_EQ(parse_ok("q=a&format=", "application/x-www-form-urlencoded").format, "text");
  EXPECT_EQ(parse_ok(R"({"q": "a", "format": null})").format, "text");
  const RequestError markdown = parse_error(R"({"q": "a", "format": "markdown"})");
  EXPECT_EQ(markdown.status, 400);
  EXPECT_NE(markdown.message.find("'text' or 'html'"), std::string::npos) << markdown.message;
}

TEST(ServerRequest, InvalidUtf8Is400) {
  // JSON: nlohmann rejects ill-formed UTF-8 and lone surrogates itself.
  EXPECT_EQ(parse_error("{\"q\": \"abc\xFF\"}").status, 400);
  EXPECT_EQ(parse_error("{\"q\": \"\xC0\xAF\"}").status, 400);
  EXPECT_EQ(parse_error(R"({"q": "\ud800"})").status, 400);
  // Forms: the decoded bytes are checked.
  const RequestError form = parse_error("q=ab%FFcd", "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 400);
  EXPECT_NE(form.message.find("UTF-8"), std::string::npos) << form.message;
  EXPECT_NE(form.message.find("byte 2"), std::string::npos) << form.message;
  EXPECT_NE(parse_error("q=ok&q=%ED%A0%80", "application/x-www-form-urlencoded").message.find("q[1]"), std::string::npos);
  EXPECT_EQ(parse_error("q=ok&target=%C3", "application/x-www-form-urlencoded").status, 400);
}

TEST(ServerRequest, MalformedFormIs400) {
  for (const char* body : {"q=%", "q=%4", "q=%zz", "q=a&%G0=b"})
    EXPECT_EQ(parse_error(body, "application/x-www-form-urlencoded").status, 400) << body;
}

TEST(ServerRequest, DeepNestingIs400) {
  std::string deep = R"({"q": "a", "x": )";
  for (int i = 0; i < 100000; ++i) deep += '[';
  const RequestError e = parse_error(deep);
  EXPECT_EQ(e.status, 400);
  std::string ok = R"({"q": "a", "x": )";
  for (int i = 0; i < 10; ++i) ok += '[';
  for (int i = 0; i < 10; ++i) ok += ']';
  ok += '}';
  EXPECT_EQ(parse_ok(ok).q.at(0), "a");
}

TEST(ServerRequest, UnsupportedContentTypeIs400) {
  const RequestError e = parse_error("<q>a</q>", "application/xml");
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("Content-Type"), std::string::npos);
  EXPECT_EQ(parse_error("", "").status, 400);
  EXPECT_EQ(parse_error("--boundary", "multipart/form-data; boundary=boundary").status, 400);
}

TEST(ServerRequest, Utf8Helpers) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);              // stray continuation byte
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);            // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xE0\x80\xAF"), 0u);        // overlong, 3 bytes
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);       // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xE4\xBD"), 0u);            // truncated
  EXPECT_EQ(find_invalid_utf8(std::string_view("a\0b", 3)), std::string_view::npos);
  EXPECT_EQ(count_characters(""), 0u);
  EXPECT_EQ(count_characters("abc"), 3u);
  EXPECT_EQ(count_characters("\xE4\xBD\xA0\xE5\xA5\xBD!"), 3u);
  EXPECT_EQ(count_characters("\xF0\x9F\x98\x80"), 1u);
}

// Mutations of valid bodies (and random bytes) never throw and never give anything but a
// request or a 400: the property the fuzzer will check at scale.
TEST(ServerRequest, MutatedBodiesNeverThrow) {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {R"({"q": ["Hello", "world"], "source": "en", "target": "zh", "alternatives": 2, "format": "text"})",
       "application/json"},
      {"q=Hello+world&q=%E4%BD%A0&target=zh&alternatives=1", "application/x-www-form-urlencoded"},
      {R"({"q": "caf\u00e9", "api_key": "k"})", ""},
  };
  std::mt19937 random(1234);
  for (int i = 0; i < 20000; ++i) {
    const auto& [seed, type] = seeds[static_cast<size_t>(i) % seeds.size()];
    std::string body = seed;
    const int edits = 1 + static_cast<int>(random() % 6);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t at = random() % body.size();
      switch (random() % 4) {
        case 0: body[at] = static_cast<char>(random() % 256); break;
        case 1: body.erase(at, 1 + random() % 4); break;
        case 2: body.insert(at, 1, static_cast<char>(random() % 256)); break;
        default: body.insert(at, body.substr(random() % body.size(), random() % 8)); break;
      }
    }
    ParseResult result;
    ASSERT_NO_THROW(result = parse_translate_request(body, type)) << body;
    if (const RequestError* error = std::get_if<RequestError>(&result)) {
      EXPECT_EQ(error->status, 400) << body;
    } else {
      for (const std::string& text : std::get<TranslateRequest>(result).q)
        EXPECT_EQ(find_invalid_utf8(text), std::string_view::npos) << body;
    }
  }
}

}  // namespace
}  // namespace opusrt::server
