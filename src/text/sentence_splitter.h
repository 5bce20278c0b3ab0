#pragma once

// Splitting text for translation without losing a byte: a text becomes segments, each a piece
// to translate with the whitespace around it kept verbatim, so that joining the translations
// with the same whitespace rebuilds the text's layout (spaces, tabs, line breaks, CR).
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace opusrt {

struct TextSegment {
  std::string leading;   // whitespace before the piece, kept as is
  std::string content;   // what gets translated (never empty unless the whole text is blank)
  std::string trailing;  // whitespace after the piece, kept as is
};

// Sentences by ICU's sentence BreakIterator (rules of `locale`, default English). A text that
// is empty or only whitespace gives one segment with empty content. Throws opusrt::Error on
// invalid UTF-8 (naming the byte offset).
std::vector<TextSegment> split_sentences(std::string_view text, const char* locale = "en");

// Splits `content` into consecutive pieces that each satisfy `fits` (e.g. "encodes to at most
// N tokens"): at word boundaries (ICU word BreakIterator) where possible, between code points
// where a single word is too long. Concatenating the pieces gives `content` back exactly.
std::vector<std::string> split_to_fit(std::string_view content, const std::function<bool(std::string_view)>& fits);

// Rebuilds a text from segments and their translations (same order and count).
std::string join_segments(const std::vector<TextSegment>& segments, const std::vector<std::string>& translations);

}  // namespace opusrt
