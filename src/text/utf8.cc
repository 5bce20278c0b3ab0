#include "opusrt/utf8.h"

namespace opusrt {
namespace {

// Length of the well-formed sequence at text[i], or 0 when it is ill-formed.
size_t sequence_length(std::string_view text, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char c = p[i];
  if (c < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c == 0xE0) {
    length = 3, low = 0xA0;  // no overlongs
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    length = 3;
  } else if (c == 0xED) {
    length = 3, high = 0x9F;  // no surrogates
  } else if (c == 0xF0) {
    length = 4, low = 0x90;  // no overlongs
  } else if (c >= 0xF1 && c <= 0xF3) {
    length = 4;
  } else if (c == 0xF4) {
    length = 4, high = 0x8F;  // <= U+10FFFF
  } else {
    return 0;  // continuation byte, 0xC0, 0xC1, 0xF5..0xFF
  }
  if (i + length > text.size() || p[i + 1] < low || p[i + 1] > high) return 0;
  for (size_t k = 2; k < length; ++k)
    if (p[i + k] < 0x80 || p[i + k] > 0xBF) return 0;
  return length;
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = sequence_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t length = sequence_length(text, i);
    if (length == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace opusrt
