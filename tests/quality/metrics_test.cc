// chrF2 and BLEU (sacreBLEU's definitions) against values worked out by hand in the comments.
#include <cmath>

#include <gtest/gtest.h>

#include "opusrt/error.h"
#include "opusrt/quality.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

// "ab" vs "abc": 1-grams hyp {a,b} ref {a,b,c} match 2; 2-grams hyp {ab} ref {ab,bc} match 1;
// 3-grams only in the reference (order not counted). P = (2/2 + 1/1)/2 = 1,
// R = (2/3 + 1/2)/2 = 7/12, chrF2 = 5PR / (4P + R) = (35/12) / (55/12) = 7/11.
TEST(Chrf, SentenceByHand) {
  ChrfScorer chrf;
  chrf.add("ab", "abc");
  EXPECT_NEAR(chrf.score(), 100.0 * 7 / 11, 1e-9);
  EXPECT_EQ(chrf.statistics().hypothesis[0], 2);
  EXPECT_EQ(chrf.statistics().reference[1], 2);
  EXPECT_EQ(chrf.statistics().matched[1], 1);
  EXPECT_EQ(chrf.statistics().reference[2], 1);
}

// Characters are code points, not bytes: the same shape in Chinese gives the same score.
TEST(Chrf, CountsCodePoints) {
  ChrfScorer chrf;
  chrf.add("你好", "你好吗");
  EXPECT_NEAR(chrf.score(), 100.0 * 7 / 11, 1e-9);
}

// Corpus chrF sums the statistics first. With ("x", "y") added: 1-grams hyp 3 ref 4 match 2,
// 2-grams hyp 1 ref 2 match 1: P = (2/3 + 1)/2 = 5/6, R = (1/2 + 1/2)/2 = 1/2,
// chrF2 = 5 (5/6)(1/2) / (4 (5/6) + 1/2) = 25/46 (the mean of sentence scores would be 7/22).
TEST(Chrf, CorpusSumsStatistics) {
  ChrfScorer chrf;
  chrf.add("ab", "abc");
  chrf.add("x", "y");
  EXPECT_NEAR(chrf.score(), 100.0 * 25 / 46, 1e-9);
  EXPECT_NEAR(chrf.sentence_score("x", "y"), 0.0, 1e-12);
}

// Matches are clipped to the reference count: "aaa" vs "a": 1-grams 3 / 1 / match 1, 2-grams
// only in the hypothesis. P = 1/3, R = 1, chrF2 = 5 (1/3) / (4/3 + 1) = 5/7.
TEST(Chrf, ClipsRepeatedNgrams) {
  ChrfScorer chrf;
  chrf.add("aaa", "a");
  EXPECT_NEAR(chrf.score(), 100.0 * 5 / 7, 1e-9);
}

TEST(Chrf, WhitespaceIsIgnoredAndEmptyScoresZero) {
  EXPECT_NEAR(ChrfScorer().sentence_score("a b\u3000c", "abc"), 100.0, 1e-9);
  EXPECT_NEAR(ChrfScorer().sentence_score("", "abc"), 0.0, 1e-12);
  EXPECT_NEAR(ChrfScorer().score(), 0.0, 1e-12);
  EXPECT_THROW(ChrfScorer().sentence_score("\xff", "a"), Error);
}

TEST(BleuTokenizer, SplitsCjkAndPunctuationLikeSacrebleuZh) {
  EXPECT_EQ(tokenize_zh("你好，世界!"), "你 好 ， 世 界 !");
  EXPECT_EQ(tokenize_zh("Hello, world."), "Hello , world .");
  EXPECT_EQ(tokenize_zh("3.5-4 x,y"), "3.5 - 4 x , y");
  EXPECT_EQ(tokenize_zh("  打开(O)...  "), "打 开 ( O ) . . .");
  // sacreBLEU's range table, as Python compares its strings, covers U+2001..U+2A6D (here an
  // en dash) but not U+2000.
  EXPECT_EQ(tokenize_zh("a\u2013b"), "a \u2013 b");
  EXPECT_EQ(tokenize_zh("it's"), "it's");
}

// "我爱你们" vs "我爱你": 1-grams 3/4, 2-grams 2/3, 3-grams 1/2, 4-grams 0/1 -> exp smoothing
// 100 / (2 * 1) = 50. Hypothesis longer: BP 1. BLEU = (75 * 200/3 * 50 * 50) ^ (1/4).
TEST(Bleu, CorpusByHand) {
  BleuScorer bleu;
  bleu.add("我爱你们", "我爱你");
  const BleuScore s = bleu.score();
  EXPECT_NEAR(s.precisions[0], 75.0, 1e-9);
  EXPECT_NEAR(s.precisions[1], 200.0 / 3, 1e-9);
  EXPECT_NEAR(s.precisions[2], 50.0, 1e-9);
  EXPECT_NEAR(s.precisions[3], 50.0, 1e-9);
  EXPECT_NEAR(s.brevity_penalty, 1.0, 1e-12);
  EXPECT_NEAR(s.score, std::pow(75.0 * 200.0 / 3 * 50 * 50, 0.25), 1e-9);
  EXPECT_EQ(s.hypothesis_length, 4);
  EXPECT_EQ(s.reference_length, 3);
}

// "我" vs "我爱你": 1-gram precision 100 %, no 2-grams (sacreBLEU stops: later precisions 0, so
// the score is 0); brevity penalty exp(1 - 3/1).
TEST(Bleu, ShortHypothesisAndNoMatch) {
  BleuScorer bleu;
  bleu.add("我", "我爱你");
  const BleuScore s = bleu.score();
  EXPECT_NEAR(s.brevity_penalty, std::exp(-2.0), 1e-12);
  EXPECT_NEAR(s.precisions[0], 100.0, 1e-9);
  EXPECT_NEAR(s.score, 0.0, 1e-12);
  BleuScorer none;
  none.add("甲乙丙丁", "戊己庚辛");
  EXPECT_EQ(none.score().score, 0.0);
}

TEST(Bleu, IdenticalTextScoresHundred) {
  BleuScorer bleu;
  bleu.add("文件无法打开。", "文件无法打开。");
  bleu.add("Save the file", "Save the file");
  EXPECT_NEAR(bleu.score().score, 100.0, 1e-9);
}

// evaluate() on the fixture model: its own translations as references score 100; a length
// mismatch is an error naming both counts.
TEST(Evaluate, OwnOutputAsReferenceScoresHundred) {
  const Translator translator(tiny_model_dir());
  const std::vector<std::string> sources = {"Hello world.", "The file could not be opened.", "Save changes?"};
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 12;
  std::vector<std::string> references;
  for (const std::string& source : sources) references.push_back(translator.translate(source, options).text);
  const Evaluation e = evaluate(translator, sources, references, options, 2);
  ASSERT_EQ(e.hypotheses, references);
  EXPECT_NEAR(e.chrf, 100.0, 1e-9);
  EXPECT_GT(e.output_tokens, 3);
  EXPECT_GT(e.tokens_per_second, 0.0);
  try {
    evaluate(translator, sources, {"one"}, options);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("3 source lines but 1 reference"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace opusrt::test
