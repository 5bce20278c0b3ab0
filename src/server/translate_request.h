#pragma once

// LibreTranslate's POST /translate request, parsed without any I/O so that it can be unit-tested
// and fuzzed: bytes in, a TranslateRequest or an HTTP status with a message out. Nothing here
// throws; every malformed input is a RequestError.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace opusrt::server {

// More alternatives than this is a 400 (each one is a beam; beams cost memory and time).
inline constexpr int kMaxAlternatives = 10;
// JSON nested deeper than this is a 400 (LibreTranslate requests are two levels deep).
inline constexpr int kMaxJsonDepth = 16;

struct TranslateRequest {
  std::vector<std::string> q;  // the texts, valid UTF-8 (one for a string `q`)
  bool q_is_array = false;     // `q` was an array: the response mirrors it
  std::string source;          // as sent; "" when absent (translated as "auto", but nothing detected)
  std::string target;          // "" when absent: the model's default target
  std::string format = "text";  // "text" or "html"
  int alternatives = 0;         // extra n-best translations per text, 0..kMaxAlternatives
  std::string api_key;          // `api_key` (JSON also `apiKey`, as the npm libretranslate client sends it)
};

struct RequestError {
  int status = 400;
  std::string message;
};

using ParseResult = std::variant<TranslateRequest, RequestError>;

// `content_type` is the Content-Type header as sent (parameters such as charset are ignored):
// application/json, application/x-www-form-urlencoded; an empty or unknown type is read as JSON
// when the body starts with '{'. Checks types, ranges, `format` and UTF-8; not the API key, the
// size limit or the language (those need the server's configuration and model).
ParseResult parse_translate_request(std::string_view body, std::string_view content_type);

// The same checks on form fields already split into (name, value) pairs (percent-decoded), e.g.
// from a multipart/form-data body. A repeated `q` (or `q[]`) makes an array.
ParseResult parse_translate_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// application/x-www-form-urlencoded -> (name, value) pairs ('+' is a space, %XX a byte);
// false on a malformed escape.
bool parse_form_urlencoded(std::string_view body, std::vector<std::pair<std::string, std::string>>& fields);

// The byte offset of the first invalid UTF-8 sequence, or npos when `text` is valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t find_invalid_utf8(std::string_view text);

// Unicode code points in valid UTF-8 text (what --max-chars counts).
size_t count_characters(std::string_view text);

}  // namespace opusrt::server
