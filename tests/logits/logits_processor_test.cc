// Each logits processor on hand-made logits: what transformers' processor of the same name does.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "logits/logits_processor.h"
#include "search/sampler.h"

namespace opusrt {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> logits_of(size_t n, float value = 1.0f) { return std::vector<float>(n, value); }

TEST(BadWords, SingleTokenIsAlwaysBanned) {
  BadWordsProcessor processor(std::vector<std::vector<int64_t>>{{3}});
  std::vector<float> logits = logits_of(5);
  const std::vector<int64_t> sequence = {9};
  processor.apply(sequence, logits);
  EXPECT_EQ(logits[3], -kInf);
  EXPECT_EQ(logits[2], 1.0f);
}

TEST(BadWords, MultiTokenBansTheLastTokenOnlyAfterThePrefix) {
  BadWordsProcessor processor(std::vector<std::vector<int64_t>>{{1, 2, 4}});
  std::vector<float> logits = logits_of(5);
  const std::vector<int64_t> after_prefix = {0, 1, 2};
  processor.apply(after_prefix, logits);
  EXPECT_EQ(logits[4], -kInf);
  std::vector<float> other = logits_of(5);
  const std::vector<int64_t> not_after = {0, 2, 1};
  processor.apply(not_after, other);
  EXPECT_EQ(other[4], 1.0f);
  std::vector<float> short_sequence = logits_of(5);
  const std::vector<int64_t> too_short = {2};
  processor.apply(too_short, short_sequence);
  EXPECT_EQ(short_sequence[4], 1.0f);
}

TEST(ForcedEos, OnlyEosAtMaxLengthMinusOne) {
  ForcedEosProcessor processor(4, 0);
  std::vector<float> logits = logits_of(5, 2.0f);
  const std::vector<int64_t> two = {7, 1};
  processor.apply(two, logits);
  EXPECT_EQ(logits[1], 2.0f);  // not yet
  const std::vector<int64_t> three = {7, 1, 2};
  processor.apply(three, logits);
  EXPECT_EQ(logits[0], 0.0f);
  for (size_t i = 1; i < logits.size(); ++i) EXPECT_EQ(logits[i], -kInf);
}

TEST(MinLength, EosBannedWhileShort) {
  MinLengthProcessor processor(3, {0});
  std::vector<float> logits = logits_of(4);
  const std::vector<int64_t> two = {7, 1};
  processor.apply(two, logits);
  EXPECT_EQ(logits[0], -kInf);
  std::vector<float> later = logits_of(4);
  const std::vector<int64_t> three = {7, 1, 2};
  processor.apply(three, later);
  EXPECT_EQ(later[0], 1.0f);
}

TEST(MinNewTokens, CountsTokensAfterTheStartToken) {
  MinNewTokensProcessor processor(2, {0});
  std::vector<float> logits = logits_of(4);
  const std::vector<int64_t> one_new = {7, 1};
  processor.apply(one_new, logits);
  EXPECT_EQ(logits[0], -kInf);
  std::vector<float> later = logits_of(4);
  const std::vector<int64_t> two_new = {7, 1, 2};
  processor.apply(two_new, later);
  EXPECT_EQ(later[0], 1.0f);
}

TEST(RepetitionPenalty, DividesPositiveAndMultipliesNegativeScoresOfSeenTokensOnce) {
  RepetitionPenaltyProcessor processor(2.0);
  std::vector<float> logits = {4.0f, -4.0f, 4.0f, -4.0f};
  const std::vector<int64_t> sequence = {0, 1, 1};  // token 1 twice: penalised once
  processor.apply(sequence, logits);
  EXPECT_FLOAT_EQ(logits[0], 2.0f);
  EXPECT_FLOAT_EQ(logits[1], -8.0f);
  EXPECT_FLOAT_EQ(logits[2], 4.0f);
  EXPECT_FLOAT_EQ(logits[3], -4.0f);
}

TEST(NoRepeatNGram, BansTheTokenThatWouldRepeatAnNGram) {
  NoRepeatNGramProcessor processor(2);
  std::vector<float> logits = logits_of(6);
  const std::vector<int64_t> sequence = {5, 1, 2, 3, 1};  // "1 2" seen: after 1, 2 is banned
  processor.apply(sequence, logits);
  EXPECT_EQ(logits[2], -kInf);
  for (int64_t id : {0, 1, 3, 4, 5}) EXPECT_EQ(logits[id], 1.0f) << id;
  NoRepeatNGramProcessor trigram(3);
  std::vector<float> short_logits = logits_of(6);
  const std::vector<int64_t> short_sequence = {5};
  trigram.apply(short_sequence, short_logits);  // too short for any trigram
  for (float v : short_logits) EXPECT_EQ(v, 1.0f);
}

TEST(SuppressTokens, AreNeverGenerated) {
  SuppressTokensProcessor processor({1, 3});
  std::vector<float> logits = logits_of(4);
  const std::vector<int64_t> sequence = {0};
  processor.apply(sequence, logits);
  EXPECT_EQ(logits[1], -kInf);
  EXPECT_EQ(logits[3], -kInf);
  EXPECT_EQ(logits[0], 1.0f);
}

TEST(MinNewTokens, CountsTheTokensAfterAForcedPrefix) {
  // transformers' MinNewTokensLengthLogitsProcessor skips the decoder_input_ids (prompt) length.
  MinNewTokensProcessor processor(2, {0}, /*prompt_length=*/3);
  for (const auto& [sequence, banned] : std::vector<std::pair<std::vector<int64_t>, bool>>{
           {{9, 5, 6}, true}, {{9, 5, 6, 7}, true}, {{9, 5, 6, 7, 8}, false}}) {
    std::vector<float> logits = logits_of(4);
    processor.apply(sequence, logits);
    EXPECT_EQ(logits[0], banned ? -kInf : 1.0f) << sequence.size();
  }
}

TEST(LogSoftmax, NormalisesAndKeepsBannedTokens) {
  std::vector<float> logits = {1.0f, 2.0f, -kInf, 3.0f};
  log_softmax(logits);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v));
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_EQ(logits[2], -kInf);
}

TEST(Warpers, TopKKeepsTheKBestAndTopPTheSmallestMassReachingP) {
  std::vector<float> scores = {0.0f, 1.0f, 2.0f, 3.0f};
  warp_scores({1.0, 2, 1.0, 0}, scores);
  EXPECT_EQ(scores[0], -kInf);
  EXPECT_EQ(scores[1], -kInf);
  EXPECT_EQ(scores[3], 3.0f);
  // probabilities 0.643, 0.237, 0.087, 0.032: top_p 0.7 keeps the two best
  std::vector<float> nucleus = {0.0f, 1.0f, 2.0f, 3.0f};
  warp_scores({1.0, 0, 0.7, 0}, nucleus);
  EXPECT_EQ(nucleus[0], -kInf);
  EXPECT_EQ(nucleus[1], -kInf);
  EXPECT_EQ(nucleus[2], 2.0f);
  std::vector<float> hot = {0.0f, 2.0f};
  warp_scores({2.0, 0, 1.0, 0}, hot);
  EXPECT_FLOAT_EQ(hot[1], 1.0f);
}

TEST(Sampler, SameSeedSameDrawsAndOnlyKeptTokens) {
  const SamplingSettings settings{1.0, 3, 1.0, 42};
  TokenSampler a(settings), b(settings);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> x = {0.5f, 1.0f, 0.1f, 2.0f, 1.5f, -1.0f};
    std::vector<float> y = x;
    const int64_t drawn = a.sample(x);
    EXPECT_EQ(drawn, b.sample(y));
    EXPECT_TRUE(drawn == 1 || drawn == 3 || drawn == 4) << drawn;
  }
}

}  // namespace
}  // namespace opusrt
