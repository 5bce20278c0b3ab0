// chrF and BLEU as sacreBLEU 2.x computes them (its CHRF() and BLEU(tokenize="zh") defaults).
// Written here rather than taken from a library: no C++ package reproduces sacreBLEU's numbers
// (its tokenizer's range table and its averaging are what every published en->zh score uses),
// and the whole of it is a few counters.
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>

#include "opusrt/error.h"
#include "opusrt/quality.h"
#include "opusrt/utf8.h"

namespace opusrt {
namespace {

std::u32string decode_utf8(std::string_view text, const char* what) {
  if (const auto bad = find_invalid_utf8(text))
    throw Error(std::string(what) + ": invalid UTF-8 at byte " + std::to_string(*bad));
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const int length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4;
    char32_t code = length == 1 ? byte : length == 2 ? byte & 0x1F : length == 3 ? byte & 0x0F : byte & 0x07;
    for (int k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back(code);
    i += static_cast<size_t>(length);
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Python's str.isspace() / re's \s on str: what sacreBLEU strips and splits on.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// sacreBLEU's TokenizerZh._UCODE_RANGES, compared as Python compares strings. Two entries are
// written with five hex digits after \u ('\u20000', '\u2f800'), which Python reads as a
// four-digit escape plus a digit; `start <= char <= end` on those two-character strings then
// holds for U+2001..U+2A6D and U+2F81..U+2FA1, so those are the ranges sacreBLEU really uses
// (general punctuation, arrows and math symbols among them; not CJK Extension B).
constexpr std::pair<char32_t, char32_t> kZhRanges[] = {
    {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
    {0xFA70, 0xFAD9}, {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF},
    {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F},
    {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0x2600, 0x26FF}, {0x2700, 0x27BF},
    {0x3200, 0x32FF}, {0x3300, 0x33FF},
};

bool is_zh_char(char32_t c) {
  for (const auto& [first, last] : kZhRanges)
    if (c >= first && c <= last) return true;
  return false;
}

// mteval-v13a's first rule: ASCII punctuation and symbols except ' , - . get spaces around.
bool is_v13a_symbol(char32_t c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

std::u32string strip(const std::u32string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && is_python_space(s[begin])) ++begin;
  while (end > begin && is_python_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

std::vector<std::u32string> split_python(const std::u32string& s) {
  std::vector<std::u32string> tokens;
  std::u32string current;
  for (char32_t c : s) {
    if (is_python_space(c)) {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

// The tokens of sacreBLEU's TokenizerZh (BLEU first rstrips the line, the tokenizer strips it).
std::vector<std::u32string> zh_tokens(std::string_view text, const char* what) {
  const std::u32string line = strip(decode_utf8(text, what));
  std::u32string s;
  for (char32_t c : line) {
    if (is_zh_char(c)) {
      s += U' ';
      s += c;
      s += U' ';
    } else {
      s += c;
    }
  }
  // TokenizerRegexp's four re.sub passes, each scanning left to right without overlaps.
  std::u32string a;
  for (char32_t c : s) {
    if (is_v13a_symbol(c)) {
      a += U' ';
      a += c;
      a += U' ';
    } else {
      a += c;
    }
  }
  auto is_period_or_comma = [](char32_t c) { return c == U'.' || c == U','; };
  std::u32string b;
  for (size_t i = 0; i < a.size();) {  // ([^0-9])([\.,]) -> '\1 \2 '
    if (i + 1 < a.size() && !is_ascii_digit(a[i]) && is_period_or_comma(a[i + 1])) {
      b += a[i];
      b += U' ';
      b += a[i + 1];
      b += U' ';
      i += 2;
    } else {
      b += a[i++];
    }
  }
  std::u32string c;
  for (size_t i = 0; i < b.size();) {  // ([\.,])([^0-9]) -> ' \1 \2'
    if (i + 1 < b.size() && is_period_or_comma(b[i]) && !is_ascii_digit(b[i + 1])) {
      c += U' ';
      c += b[i];
      c += U' ';
      c += b[i + 1];
      i += 2;
    } else {
      c += b[i++];
    }
  }
  std::u32string d;
  for (size_t i = 0; i < c.size();) {  // ([0-9])(-) -> '\1 \2 '
    if (i + 1 < c.size() && is_ascii_digit(c[i]) && c[i + 1] == U'-') {
      d += c[i];
      d += U' ';
      d += U'-';
      d += U' ';
      i += 2;
    } else {
      d += c[i++];
    }
  }
  return split_python(d);
}

using NgramCounts = std::unordered_map<std::u32string, int64_t>;

NgramCounts char_ngrams(const std::u32string& s, int n) {
  NgramCounts counts;
  for (size_t i = 0; i + static_cast<size_t>(n) <= s.size(); ++i) ++counts[s.substr(i, static_cast<size_t>(n))];
  return counts;
}

int64_t total(const NgramCounts& counts) {
  int64_t sum = 0;
  for (const auto& [_, count] : counts) sum += count;
  return sum;
}

int64_t clipped_matches(const NgramCounts& hypothesis, const NgramCounts& reference) {
  int64_t matched = 0;
  for (const auto& [ngram, count] : hypothesis) {
    const auto it = reference.find(ngram);
    if (it != reference.end()) matched += std::min(count, it->second);
  }
  return matched;
}

ChrfScorer::Statistics chrf_statistics(std::string_view hypothesis, std::string_view reference) {
  auto without_spaces = [](std::string_view text, const char* what) {
    std::u32string out;
    for (char32_t c : decode_utf8(text, what))
      if (!is_python_space(c)) out.push_back(c);
    return out;
  };
  const std::u32string hyp = without_spaces(hypothesis, "chrF hypothesis");
  const std::u32string ref = without_spaces(reference, "chrF reference");
  ChrfScorer::Statistics stats;
  for (int n = 1; n <= ChrfScorer::kOrder; ++n) {
    const NgramCounts h = char_ngrams(hyp, n), r = char_ngrams(ref, n);
    stats.hypothesis[n - 1] = total(h);
    stats.reference[n - 1] = total(r);
    stats.matched[n - 1] = clipped_matches(h, r);
  }
  return stats;
}

double chrf_from(const ChrfScorer::Statistics& stats) {
  double precision = 0, recall = 0;
  int effective_order = 0;
  for (int i = 0; i < ChrfScorer::kOrder; ++i) {
    if (stats.hypothesis[i] > 0 && stats.reference[i] > 0) {
      precision += static_cast<double>(stats.matched[i]) / static_cast<double>(stats.hypothesis[i]);
      recall += static_cast<double>(stats.matched[i]) / static_cast<double>(stats.reference[i]);
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  precision /= effective_order;
  recall /= effective_order;
  if (precision + recall == 0) return 0.0;
  const double beta2 = ChrfScorer::kBeta * ChrfScorer::kBeta;
  return 100.0 * (1 + beta2) * precision * recall / (beta2 * precision + recall);
}

}  // namespace

void ChrfScorer::add(std::string_view hypothesis, std::string_view reference) {
  const Statistics stats = chrf_statistics(hypothesis, reference);
  for (int i = 0; i < kOrder; ++i) {
    statistics_.hypothesis[i] += stats.hypothesis[i];
    statistics_.reference[i] += stats.reference[i];
    statistics_.matched[i] += stats.matched[i];
  }
}

double ChrfScorer::score() const { return chrf_from(statistics_); }

double ChrfScorer::sentence_score(std::string_view hypothesis, std::string_view reference) const {
  return chrf_from(chrf_statistics(hypothesis, reference));
}

std::string tokenize_zh(std::string_view text) {
  std::string out;
  for (const std::u32string& token : zh_tokens(text, "zh tokenizer input")) {
    if (!out.empty()) out.push_back(' ');
    for (char32_t c : token) append_utf8(out, c);
  }
  return out;
}

void BleuScorer::add(std::string_view hypothesis, std::string_view reference) {
  const auto hyp = zh_tokens(hypothesis, "BLEU hypothesis");
  const auto ref = zh_tokens(reference, "BLEU reference");
  hypothesis_length_ += static_cast<int64_t>(hyp.size());
  reference_length_ += static_cast<int64_t>(ref.size());
  for (size_t n = 1; n <= matched_.size(); ++n) {
    std::map<std::vector<std::u32string>, int64_t> hyp_counts, ref_counts;
    for (size_t i = 0; i + n <= hyp.size(); ++i) ++hyp_counts[{hyp.begin() + i, hyp.begin() + i + n}];
    for (size_t i = 0; i + n <= ref.size(); ++i) ++ref_counts[{ref.begin() + i, ref.begin() + i + n}];
    for (const auto& [ngram, count] : hyp_counts) {
      total_[n - 1] += count;
      const auto it = ref_counts.find(ngram);
      if (it != ref_counts.end()) matched_[n - 1] += std::min(count, it->second);
    }
  }
}

BleuScore BleuScorer::score() const {
  BleuScore result;
  result.hypothesis_length = hypothesis_length_;
  result.reference_length = reference_length_;
  const auto sys = static_cast<double>(hypothesis_length_), ref = static_cast<double>(reference_length_);
  result.brevity_penalty = hypothesis_length_ >= reference_length_ ? 1.0
                           : hypothesis_length_ > 0               ? std::exp(1.0 - ref / sys)
                                                                  : 0.0;
  bool any_match = false;
  for (int64_t m : matched_) any_match = any_match || m > 0;
  if (!any_match) return result;  // sacreBLEU: 0 when nothing matches
  double smooth = 1.0;
  for (size_t n = 0; n < matched_.size(); ++n) {
    if (total_[n] == 0) break;  // later precisions stay 0
    if (matched_[n] == 0) {
      smooth *= 2;  // "exp" smoothing (mteval's NIST method)
      result.precisions[n] = 100.0 / (smooth * static_cast<double>(total_[n]));
    } else {
      result.precisions[n] = 100.0 * static_cast<double>(matched_[n]) / static_cast<double>(total_[n]);
    }
  }
  double log_sum = 0;
  for (double p : result.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;  // sacreBLEU's my_log
  result.score = result.brevity_penalty * std::exp(log_sum / static_cast<double>(result.precisions.size()));
  return result;
}

}  // namespace opusrt
