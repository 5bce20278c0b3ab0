#include "incremental/commit_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "opusrt/error.h"

namespace opusrt {
namespace {

bool is_word_character(unsigned char c) { return c < 0x80 && std::isalnum(c); }

}  // namespace

size_t count_words(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

CommitPolicy parse_commit_policy(std::string_view text) {
  auto number = [&](std::string_view digits) {
    int value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty())
      throw Error("policy '" + std::string(text) + "': expected la<n>, hold:<n> or wait:<k> with a number");
    return value;
  };
  CommitPolicy policy;
  if (text.starts_with("la")) {
    policy = {CommitPolicy::Kind::kLocalAgreement, number(text.substr(2))};
    if (policy.n < 1) throw Error("policy '" + std::string(text) + "': LocalAgreement needs n >= 1");
  } else if (text.starts_with("hold:")) {
    policy = {CommitPolicy::Kind::kHold, number(text.substr(5))};
    if (policy.n < 0) throw Error("policy '" + std::string(text) + "': hold needs n >= 0");
  } else if (text.starts_with("wait:")) {
    policy = {CommitPolicy::Kind::kWaitK, number(text.substr(5))};
    if (policy.n < 0) throw Error("policy '" + std::string(text) + "': wait needs k >= 0");
  } else {
    throw Error("unknown policy '" + std::string(text) + "' (expected la2, la3, hold:N or wait:K)");
  }
  return policy;
}

std::string to_string(const CommitPolicy& policy) {
  switch (policy.kind) {
    case CommitPolicy::Kind::kLocalAgreement: return "la" + std::to_string(policy.n);
    case CommitPolicy::Kind::kHold: return "hold:" + std::to_string(policy.n);
    case CommitPolicy::Kind::kWaitK: return "wait:" + std::to_string(policy.n);
  }
  return "?";
}

bool ends_a_word(std::span<const int64_t> hypothesis, size_t length, const TargetDecoder& decode) {
  if (length == 0) return true;
  if (length >= hypothesis.size()) return length == hypothesis.size();
  const std::string before = decode(hypothesis.first(length));
  const std::string after = decode(hypothesis.first(length + 1));
  if (!after.starts_with(before) || after.size() == before.size()) return false;
  const unsigned char next = static_cast<unsigned char>(after[before.size()]);
  if (next == ' ') return true;
  return before.empty() || !is_word_character(static_cast<unsigned char>(before.back())) || !is_word_character(next);
}

size_t commit_length(const CommitPolicy& policy, std::span<const std::vector<int64_t>> history,
                     size_t committed, size_t source_words, const TargetDecoder& decode) {
  if (history.empty()) return committed;
  const std::vector<int64_t>& current = history.back();
  size_t target = committed;
  switch (policy.kind) {
    case CommitPolicy::Kind::kLocalAgreement: {
      if (static_cast<int>(history.size()) < policy.n) return committed;
      size_t agreed = current.size();
      for (size_t h = history.size() - static_cast<size_t>(policy.n); h + 1 < history.size(); ++h) {
        const std::vector<int64_t>& other = history[h];
        const size_t limit = std::min(agreed, other.size());
        size_t common = 0;
        while (common < limit && other[common] == current[common]) ++common;
        agreed = common;
      }
      target = agreed;
      break;
    }
    case CommitPolicy::Kind::kHold:
      target = current.size() > static_cast<size_t>(policy.n) ? current.size() - static_cast<size_t>(policy.n) : 0;
      break;
    case CommitPolicy::Kind::kWaitK: {
      // The approximation: the hypothesis is taken to cover the source read so far evenly, so
      // a target token is "aligned" to source word i * words / tokens. A token is committed once
      // the source has k words more than its aligned position.
      if (source_words <= static_cast<size_t>(policy.n) || source_words == 0) return committed;
      target = (source_words - static_cast<size_t>(policy.n)) * current.size() / source_words;
      break;
    }
  }
  target = std::min(target, current.size());
  // Snap down to a cut that ends a word; never below what is already committed.
  while (target > committed && !ends_a_word(current, target, decode)) --target;
  return std::max(target, committed);
}

}  // namespace opusrt
