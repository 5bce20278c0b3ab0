#pragma once

// UTF-8 checks shared by the library, the CLI and the C API: input is validated once, with one
// definition of "valid" (Unicode Table 3-7: no overlongs, no surrogates, nothing past U+10FFFF).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace opusrt {

// Byte offset of the first ill-formed sequence, or nullopt when `text` is valid UTF-8.
std::optional<size_t> find_invalid_utf8(std::string_view text);

// `text` with each ill-formed sequence replaced by U+FFFD (valid text comes back unchanged).
std::string replace_invalid_utf8(std::string_view text);

}  // namespace opusrt
