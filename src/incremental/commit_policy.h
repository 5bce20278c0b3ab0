#pragma once

// How much of a hypothesis an incremental update commits (docs/live-speech.md):
// LocalAgreement-n, hold-n, wait-k; cut only where the committed text stays a prefix of every
// later text and ends a whole word (or a CJK / punctuation piece).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/incremental.h"

namespace opusrt {

// Words of a source text: runs of characters between spaces, tabs and line breaks (what
// wait-k and the lagging metrics count).
size_t count_words(std::string_view text);

// Decodes target tokens (after the decoder start) to text.
using TargetDecoder = std::function<std::string(std::span<const int64_t>)>;

// True when `length` tokens of `hypothesis` end a whole word: their text is a prefix of the
// text with one token more, and that next token starts a word (a space), or one side of the
// cut is not a letter or digit (CJK characters and punctuation are words of their own).
bool ends_a_word(std::span<const int64_t> hypothesis, size_t length, const TargetDecoder& decode);

// The committed length after this update: at least `committed`, never past `hypothesis`.
// `history` holds the last hypotheses, the current one last (LocalAgreement reads n of them);
// `source_words` counts the source's words (wait-k).
size_t commit_length(const CommitPolicy& policy, std::span<const std::vector<int64_t>> history,
                     size_t committed, size_t source_words, const TargetDecoder& decode);

}  // namespace opusrt
