#include "text/sentence_splitter.h"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <memory>

#include "opusrt/error.h"
#include "opusrt/utf8.h"

namespace opusrt {
namespace {

void require_utf8(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT32_MAX)) throw Error("text of " + std::to_string(text.size()) + " bytes is too large");
  if (const auto bad = find_invalid_utf8(text)) throw Error("invalid UTF-8 at byte " + std::to_string(*bad) + " of the input");
}

bool is_space_at(std::string_view text, size_t byte, size_t& length) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  int32_t i = static_cast<int32_t>(byte);
  UChar32 c;
  U8_NEXT(bytes, i, static_cast<int32_t>(text.size()), c);
  length = static_cast<size_t>(i) - byte;
  return c >= 0 && u_isUWhiteSpace(c);
}

// Byte offsets of the boundaries an ICU break iterator finds in `text` (UTF-8).
std::vector<size_t> boundaries(std::string_view text, bool sentences, const char* locale) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Locale where(locale);
  std::unique_ptr<icu::BreakIterator> iterator(sentences ? icu::BreakIterator::createSentenceInstance(where, status)
                                                         : icu::BreakIterator::createWordInstance(where, status));
  if (U_FAILURE(status) || !iterator) throw Error(std::string("ICU: cannot create a break iterator: ") + u_errorName(status));
  const icu::UnicodeString utf16 = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  iterator->setText(utf16);
  // Map UTF-16 offsets back to UTF-8 byte offsets while walking the string once.
  std::vector<size_t> out;
  int32_t utf16_pos = 0;
  size_t byte_pos = 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  for (int32_t boundary = iterator->first(); boundary != icu::BreakIterator::DONE; boundary = iterator->next()) {
    while (utf16_pos < boundary) {
      int32_t i = static_cast<int32_t>(byte_pos);
      UChar32 c;
      U8_NEXT(bytes, i, static_cast<int32_t>(text.size()), c);
      byte_pos = static_cast<size_t>(i);
      utf16_pos += U16_LENGTH(c);
    }
    out.push_back(byte_pos);
  }
  return out;
}

}  // namespace

std::vector<TextSegment> split_sentences(std::string_view text, const char* locale) {
  require_utf8(text);
  std::vector<TextSegment> segments;
  const std::vector<size_t> cuts = boundaries(text, true, locale);
  std::string pending_whitespace;  // whitespace-only pieces attach to the next sentence
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    const std::string_view piece = text.substr(cuts[k], cuts[k + 1] - cuts[k]);
    size_t begin = 0, end = piece.size(), length = 0;
    while (begin < end && is_space_at(piece, begin, length)) begin += length;
    // Trailing whitespace: walk back over whole code points.
    while (end > begin) {
      size_t back = end - 1;
      while (back > begin && (static_cast<uint8_t>(piece[back]) & 0xC0) == 0x80) --back;
      if (!is_space_at(piece, back, length)) break;
      end = back;
    }
    if (begin == end) {
      pending_whitespace.append(piece);
      continue;
    }
    TextSegment segment;
    segment.leading = pending_whitespace + std::string(piece.substr(0, begin));
    segment.content = std::string(piece.substr(begin, end - begin));
    segment.trailing = std::string(piece.substr(end));
    pending_whitespace.clear();
    segments.push_back(std::move(segment));
  }
  if (segments.empty()) {
    segments.push_back({pending_whitespace, "", ""});
  } else {
    segments.back().trailing += pending_whitespace;
  }
  return segments;
}

namespace {

// The largest index i in [0, ends.size()) with fits(text[start, ends[i])), or -1: exponential
// then binary search, so a long text costs O(log n) checks per piece, not O(n).
int64_t longest_fitting(std::string_view text, size_t start, const std::vector<size_t>& ends, size_t first,
                        const std::function<bool(std::string_view)>& fits) {
  auto ok = [&](size_t index) { return fits(text.substr(start, ends[index] - start)); };
  if (first >= ends.size() || !ok(first)) return -1;
  size_t good = first, step = 1;
  size_t bad = ends.size();
  while (good + step < ends.size()) {
    if (!ok(good + step)) {
      bad = good + step;
      break;
    }
    good += step;
    step *= 2;
  }
  while (bad - good > 1) {
    const size_t mid = good + (bad - good) / 2;
    if (ok(mid)) {
      good = mid;
    } else {
      bad = mid;
    }
  }
  return static_cast<int64_t>(good);
}

}  // namespace

std::vector<std::string> split_to_fit(std::string_view content, const std::function<bool(std::string_view)>& fits) {
  require_utf8(content);
  std::vector<std::string> pieces;
  if (fits(content)) {
    pieces.emplace_back(content);
    return pieces;
  }
  std::vector<size_t> word_ends = boundaries(content, false, "en");
  word_ends.erase(word_ends.begin());  // the boundary at 0
  const auto* bytes = reinterpret_cast<const uint8_t*>(content.data());
  size_t start = 0, first_word = 0;
  while (start < content.size()) {
    while (first_word < word_ends.size() && word_ends[first_word] <= start) ++first_word;
    size_t end;
    const int64_t word = longest_fitting(content, start, word_ends, first_word, fits);
    if (word >= 0) {
      end = word_ends[word];
    } else {
      // The next word alone is too long: cut it between code points (at least one per piece).
      const size_t word_end = first_word < word_ends.size() ? word_ends[first_word] : content.size();
      std::vector<size_t> code_point_ends;
      for (int32_t i = static_cast<int32_t>(start); i < static_cast<int32_t>(word_end);) {
        UChar32 c;
        U8_NEXT(bytes, i, static_cast<int32_t>(content.size()), c);
        code_point_ends.push_back(static_cast<size_t>(i));
      }
      const int64_t cut = longest_fitting(content, start, code_point_ends, 0, fits);
      end = code_point_ends[cut < 0 ? 0 : static_cast<size_t>(cut)];
    }
    pieces.emplace_back(content.substr(start, end - start));
    start = end;
  }
  return pieces;
}

std::string join_segments(const std::vector<TextSegment>& segments, const std::vector<std::string>& translations) {
  if (segments.size() != translations.size())
    throw Error("join_segments: " + std::to_string(translations.size()) + " translations for " +
                std::to_string(segments.size()) + " segments");
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) out += segments[i].leading + translations[i] + segments[i].trailing;
  return out;
}

}  // namespace opusrt
