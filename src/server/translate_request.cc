#include "server/translate_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace opusrt::server {
namespace {

using json = nlohmann::json;

RequestError bad(std::string message) { return RequestError{400, "Invalid request: " + std::move(message)}; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// "application/json; charset=utf-8" -> "application/json"
std::string media_type(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  return lower(trim(content_type.substr(0, semicolon)));
}

std::optional<RequestError> check_utf8(std::string_view field, std::string_view value) {
  const size_t bad_byte = find_invalid_utf8(value);
  if (bad_byte == std::string_view::npos) return std::nullopt;
  return bad(std::string(field) + " is not valid UTF-8 (byte " + std::to_string(bad_byte) + ")");
}

std::optional<RequestError> set_format(TranslateRequest& request, const std::string& format) {
  if (format != "text" && format != "html") return bad("format must be 'text' or 'html'");
  request.format = format;
  return std::nullopt;
}

std::optional<RequestError> set_alternatives(TranslateRequest& request, long long value) {
  if (value < 0 || value > kMaxAlternatives)
    return bad("alternatives must be between 0 and " + std::to_string(kMaxAlternatives));
  request.alternatives = static_cast<int>(value);
  return std::nullopt;
}

std::optional<RequestError> set_alternatives(TranslateRequest& request, std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;  // an empty form field: the default
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return bad("alternatives must be an integer");
  return set_alternatives(request, value);
}

std::optional<RequestError> check_texts(const TranslateRequest& request) {
  for (size_t i = 0; i < request.q.size(); ++i) {
    const size_t bad_byte = find_invalid_utf8(request.q[i]);
    if (bad_byte != std::string_view::npos)
      return bad((request.q_is_array ? "q[" + std::to_string(i) + "]" : std::string("q")) +
                 " is not valid UTF-8 (byte " + std::to_string(bad_byte) + ")");
  }
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"source", &request.source},
                                    {"target", &request.target},
                                    {"api_key", &request.api_key}}) {
    if (auto error = check_utf8(name, *value)) return error;
  }
  return std::nullopt;
}

class TooDeep : public std::runtime_error {
 public:
  TooDeep() : std::runtime_error("too deep") {}
};

// A string field: absent or null keeps the default; anything but a string is an error.
std::optional<RequestError> read_string(const json& object, const char* name, std::string& out) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return bad(std::string(name) + " must be a string");
  out = it->get<std::string>();
  return std::nullopt;
}

ParseResult parse_json(std::string_view body) {
  json doc;
  try {
    const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth) throw TooDeep();
      return true;
    };
    doc = json::parse(body.begin(), body.end(), limit_depth);
  } catch (const TooDeep&) {
    return bad("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::exception& e) {
    return bad(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) return bad("the body must be a JSON object");

  TranslateRequest request;
  const auto q = doc.find("q");
  if (q == doc.end() || q->is_null()) return bad("missing q parameter");
  if (q->is_string()) {
    request.q.push_back(q->get<std::string>());
  } else if (q->is_array()) {
    request.q_is_array = true;
    for (const json& item : *q) {
      if (!item.is_string()) return bad("q must be a string or an array of strings");
      request.q.push_back(item.get<std::string>());
    }
  } else {
    return bad("q must be a string or an array of strings");
  }
  if (auto error = read_string(doc, "source", request.source)) return *error;
  if (auto error = read_string(doc, "target", request.target)) return *error;
  if (auto error = read_string(doc, "api_key", request.api_key)) return *error;
  // The npm `libretranslate` client sends its key as "apiKey".
  if (request.api_key.empty()) {
    if (auto error = read_string(doc, "apiKey", request.api_key)) return *error;
  }
  std::string format = "text";
  if (auto error = read_string(doc, "format", format)) return *error;
  if (auto error = set_format(request, format)) return *error;

  const auto alternatives = doc.find("alternatives");
  if (alternatives != doc.end() && !alternatives->is_null()) {
    std::optional<RequestError> error;
    if (alternatives->is_number_unsigned()) {
      const uint64_t value = alternatives->get<uint64_t>();
      error = set_alternatives(request, value > uint64_t{kMaxAlternatives} ? -1LL : static_cast<long long>(value));
    } else if (alternatives->is_number_integer()) {
      error = set_alternatives(request, alternatives->get<long long>());
    } else if (alternatives->is_string()) {
      error = set_alternatives(request, alternatives->get<std::string>());
    } else {
      error = bad("alternatives must be an integer");
    }
    if (error) return *error;
  }
  if (auto error = check_texts(request)) return *error;
  return request;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = hex_value(in[i + 1]), low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return false;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

}  // namespace

bool parse_form_urlencoded(std::string_view body, std::vector<std::pair<std::string, std::string>>& fields) {
  fields.clear();
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const size_t equals = pair.find('=');
      std::string name, value;
      if (!percent_decode(pair.substr(0, equals), name)) return false;
      if (equals != std::string_view::npos && !percent_decode(pair.substr(equals + 1), value)) return false;
      fields.emplace_back(std::move(name), std::move(value));
    }
    start = end + 1;
  }
  return true;
}

ParseResult parse_translate_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  TranslateRequest request;
  bool has_q = false;
  std::string format = "text";
  for (const auto& [name, value] : fields) {
    if (name == "q" || name == "q[]") {
      if (has_q || name == "q[]") request.q_is_array = true;
      has_q = true;
      request.q.push_back(value);
    } else if (name == "source") {
      request.source = value;
    } else if (name == "target") {
      request.target = value;
    } else if (name == "format") {
      format = value;
    } else if (name == "api_key") {
      request.api_key = value;
    } else if (name == "alternatives") {
      if (auto error = set_alternatives(request, value)) return *error;
    }
  }
  if (!has_q) return bad("missing q parameter");
  if (auto error = set_format(request, format.empty() ? "text" : format)) return *error;
  if (auto error = check_texts(request)) return *error;
  return request;
}

ParseResult parse_translate_request(std::string_view body, std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (type == "application/json") return parse_json(body);
  if (type == "application/x-www-form-urlencoded") {
    std::vector<std::pair<std::string, std::string>> fields;
    if (!parse_form_urlencoded(body, fields)) return bad("malformed form body (a bad %XX escape)");
    return parse_translate_fields(fields);
  }
  if (type.empty() || type == "text/plain") {
    const std::string_view trimmed = trim(body);
    if (trimmed.starts_with("{")) return parse_json(body);
    if (type.empty() && !trimmed.empty()) {
      std::vector<std::pair<std::string, std::string>> fields;
      if (parse_form_urlencoded(body, fields)) return parse_translate_fields(fields);
    }
    if (trimmed.empty()) return bad("missing q parameter");
  }
  return RequestError{400, "Invalid request: unsupported Content-Type '" + std::string(content_type) +
                               "' (send application/json or a form)"};
}

size_t find_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = bytes[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t code = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code = c & 0x07;
    } else {
      return i;  // a continuation byte, C0/C1 or F5..FF
    }
    if (i + length > n) return i;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = bytes[i + k];
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF))
      return i;
    i += length;
  }
  return std::string_view::npos;
}

size_t count_characters(std::string_view text) {
  size_t count = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  return count;
}

}  // namespace opusrt::server
