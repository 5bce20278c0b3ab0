// libFuzzer target: the server's request parsing (src/server/translate_request.h), which must never
// throw: every malformed body is a RequestError.
//
// Input: the first byte picks the Content-Type (JSON, form, empty, text/plain, multipart, or one
// read from the input up to its first '\n'), the rest is the body. Also checked on every input:
// parse_form_urlencoded round-trips (fields -> re-encoded body -> the same fields), and the server's
// UTF-8 helpers agree with the library's (opusrt/utf8.h) and with a plain code point count.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "opusrt/utf8.h"
#include "server/translate_request.h"

namespace {

namespace server = opusrt::server;
using Fields = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_server_request: %s\n", what.c_str());
  std::abort();
}

bool valid_utf8(std::string_view text) { return server::find_invalid_utf8(text) == std::string_view::npos; }

// The invariants of a successful parse (translate_request.h).
void check_request(const server::TranslateRequest& request) {
  if (!request.q_is_array && request.q.size() != 1) fail("a string q must give exactly one text");
  for (const auto& text : request.q)
    if (!valid_utf8(text)) fail("accepted a q that is not valid UTF-8");
  if (!valid_utf8(request.source) || !valid_utf8(request.target) || !valid_utf8(request.api_key))
    fail("accepted a field that is not valid UTF-8");
  // An absent source stays "" (translated as auto, no detectedLanguage: translate_request.h).
  if (request.format != "text" && request.format != "html") fail("accepted format '" + request.format + "'");
  if (request.alternatives < 0 || request.alternatives > server::kMaxAlternatives)
    fail("accepted alternatives " + std::to_string(request.alternatives));
}

void check_result(const server::ParseResult& result) {
  if (const auto* request = std::get_if<server::TranslateRequest>(&result)) {
    check_request(*request);
  } else {
    const auto& error = std::get<server::RequestError>(result);
    if (error.status < 400 || error.status > 499) fail("a request error with status " + std::to_string(error.status));
    if (error.message.empty()) fail("a request error without a message");
  }
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || byte == '-' ||
        byte == '_' || byte == '.' || byte == '~') {
      out.push_back(c);
    } else {
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

void check_form(std::string_view body) {
  Fields fields;
  if (!server::parse_form_urlencoded(body, fields)) return;
  std::string encoded;
  for (const auto& [name, value] : fields) {
    if (!encoded.empty()) encoded += '&';
    encoded += percent_encode(name) + '=' + percent_encode(value);
  }
  Fields again;
  if (!server::parse_form_urlencoded(encoded, again)) fail("parse_form_urlencoded rejects its own re-encoding");
  if (again != fields) fail("parse_form_urlencoded does not round-trip");
  check_result(server::parse_translate_fields(fields));
}

// Code points of valid UTF-8, counted from the lead bytes' lengths (independent of the server's
// count of non-continuation bytes).
size_t count_code_points(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    const auto c = static_cast<unsigned char>(text[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  return count;
}

void check_utf8(std::string_view text) {
  const size_t server_bad = server::find_invalid_utf8(text);
  const auto library_bad = opusrt::find_invalid_utf8(text);
  if (server_bad != library_bad.value_or(std::string_view::npos))
    fail("server::find_invalid_utf8 says " + std::to_string(server_bad) + ", opusrt::find_invalid_utf8 says " +
         (library_bad ? std::to_string(*library_bad) : std::string("valid")));
  const std::string replaced = opusrt::replace_invalid_utf8(text);
  if (!valid_utf8(replaced)) fail("replace_invalid_utf8 returned invalid UTF-8");
  if (server_bad == std::string_view::npos) {
    if (replaced != text) fail("replace_invalid_utf8 changed valid UTF-8");
    if (server::count_characters(text) != count_code_points(text)) fail("count_characters miscounts");
  } else if (server_bad >= text.size() || replaced.compare(0, server_bad, text.substr(0, server_bad)) != 0) {
    fail("replace_invalid_utf8 changed the valid prefix");
  }
}

constexpr std::string_view kContentTypes[] = {
    "application/json",
    " Application/JSON ; charset=UTF-8",
    "application/x-www-form-urlencoded",
    "",
    "text/plain; charset=utf-8",
    "multipart/form-data; boundary=----opusrt",
    "application/x-www-form-urlencoded;charset=utf-8",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view content_type;
  const size_t choice = data[0] % (std::size(kContentTypes) + 1);
  if (choice < std::size(kContentTypes)) {
    content_type = kContentTypes[choice];
  } else {  // a Content-Type from the input itself
    const size_t newline = body.find('\n');
    content_type = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
  }

  try {
    check_result(server::parse_translate_request(body, content_type));
    check_form(body);
  } catch (const std::exception& e) {
    fail(std::string("threw: ") + e.what());
  } catch (...) {
    fail("threw something that is not a std::exception");
  }
  check_utf8(body);
  return 0;
}
