// Search strategies end to end on the tiny fixture model, through the Translator.
#include <fstream>
#include <limits>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

std::vector<std::string> mixed_sentences(size_t count) {
  std::ifstream in(tiny_model_dir() / "reference.json");
  const nlohmann::json reference = nlohmann::json::parse(in);
  std::vector<std::string> texts;
  for (const auto& c : reference["cases"]) texts.push_back(c["text"].get<std::string>());
  texts.insert(texts.end(), {"", "a", "!!!", ">>cmn_Hans<< ok"});
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(texts[(i * 7) % texts.size()]);
  return out;
}

TEST(Batching, ThirtyTwoMixedLengthSentencesEqualOneByOne) {
  const Translator translator(tiny_model_dir());
  const std::vector<std::string> texts = mixed_sentences(32);
  std::set<size_t> lengths;
  for (const auto& text : texts) lengths.insert(text.size());
  ASSERT_GT(lengths.size(), 10u);  // really mixed
  for (int beams : {1, 4}) {
    TranslateOptions options;
    options.num_beams = beams;
    options.max_new_tokens = 24;
    const std::vector<Translation> batch = translator.translate_batch(texts, options);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      const Translation alone = translator.translate(texts[i], options);
      EXPECT_EQ(batch[i].output_ids, alone.output_ids) << beams << " beams, sentence " << i << ": " << texts[i];
      EXPECT_EQ(batch[i].text, alone.text);
      EXPECT_NEAR(batch[i].score, alone.score, 1e-4);
    }
  }
}

TEST(BeamSearch, NBestIsBestFirstAndStartsWithTheTranslation) {
  const Translator translator(tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 5;
  options.num_return_sequences = 5;
  options.max_new_tokens = 20;
  const Translation t = translator.translate("The quick brown fox jumps over the lazy dog.", options);
  ASSERT_EQ(t.n_best.size(), 5u);
  EXPECT_EQ(t.n_best.front().output_ids, t.output_ids);
  EXPECT_EQ(t.n_best.front().score, t.score);
  for (size_t i = 1; i < t.n_best.size(); ++i) EXPECT_GE(t.n_best[i - 1].score, t.n_best[i].score);
}

TEST(BeamSearch, DefaultsToTheModelsNumBeams) {
  const Translator translator(tiny_model_dir());
  EXPECT_EQ(translator.model_info().default_num_beams, 4);
  TranslateOptions defaults, explicit_beams;
  defaults.max_new_tokens = explicit_beams.max_new_tokens = 20;
  explicit_beams.num_beams = 4;
  for (const char* text : {"Hello world.", "Where is the nearest train station?"})
    EXPECT_EQ(translator.translate(text, defaults).output_ids, translator.translate(text, explicit_beams).output_ids);
}

TEST(Sampling, SameSeedSameOutputOtherSeedsVary) {
  const Translator translator(tiny_model_dir());
  TranslateOptions options;
  options.do_sample = true;
  options.num_beams = 1;
  options.top_k = 0;
  options.temperature = 1.5;
  options.max_new_tokens = 20;
  options.seed = 7;
  const std::string text = "The quick brown fox jumps over the lazy dog.";
  const Translation first = translator.translate(text, options);
  EXPECT_EQ(translator.translate(text, options).output_ids, first.output_ids);
  std::set<std::vector<int64_t>> outputs;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    options.seed = seed;
    outputs.insert(translator.translate(text, options).output_ids);
  }
  EXPECT_GT(outputs.size(), 1u);
  // top_k 1 leaves only the argmax: sampling becomes greedy
  options.top_k = 1;
  TranslateOptions greedy;
  greedy.num_beams = 1;
  greedy.max_new_tokens = 20;
  EXPECT_EQ(translator.translate(text, options).output_ids, translator.translate(text, greedy).output_ids);
}

TEST(TargetPrefix, OutputStartsWithThePrefixThenContinues) {
  const Translator translator(tiny_model_dir());
  for (int beams : {1, 3}) {
    TranslateOptions options;
    options.num_beams = beams;
    options.max_new_tokens = 20;
    const Translation free = translator.translate("Hello world.", options);
    // a prefix the model would not choose itself: ordinary tokens other than its first choice
    std::vector<int64_t> prefix;
    for (int64_t id = 10; prefix.size() < 3; ++id)
      if (id != free.output_ids[1]) prefix.push_back(id);
    options.target_prefix_ids = prefix;
    const Translation forced = translator.translate("Hello world.", options);
    ASSERT_GT(forced.output_ids.size(), prefix.size() + 1);
    EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), forced.output_ids.begin() + 1)) << beams << " beams";
  }
  TranslateOptions text_prefix;
  text_prefix.num_beams = 1;
  text_prefix.target_prefix = "你好";
  text_prefix.max_new_tokens = 10;
  EXPECT_TRUE(translator.translate("Hello", text_prefix).text.starts_with("你好"));
}

TEST(Streaming, CallbackSeesEveryTokenAndEndsWithTheFinalText) {
  const Translator translator(tiny_model_dir());
  for (int beams : {1, 4}) {
    TranslateOptions options;
    options.num_beams = beams;
    options.max_new_tokens = 20;
    std::vector<int64_t> tokens;
    std::string last_text;
    const Translation t = translator.translate("Save changes to the document before closing?", options,
                                               [&](size_t index, int64_t token, std::string_view text) {
                                                 EXPECT_EQ(index, 0u);
                                                 tokens.push_back(token);
                                                 last_text = text;
                                                 return true;
                                               });
    EXPECT_EQ(tokens, std::vector<int64_t>(t.output_ids.begin() + 1, t.output_ids.end())) << beams;
    EXPECT_EQ(last_text, t.text);
  }
}

TEST(Streaming, ReturningFalseStopsThatTextOnly) {
  const Translator translator(tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 20;
  options.min_new_tokens = 20;  // no early eos: a text runs all 20 steps unless stopped
  const std::vector<std::string> texts = {"Open the file.", "Close the window now."};
  const std::vector<Translation> free = translator.translate_batch(texts, options);
  std::vector<size_t> seen(2, 0);
  const std::vector<Translation> stopped =
      translator.translate_batch(texts, options, [&](size_t index, int64_t, std::string_view) {
        ++seen[index];
        return !(index == 0 && seen[0] == 3);  // the first text's client leaves after 3 tokens
      });
  EXPECT_EQ(seen[0], 3u);
  EXPECT_TRUE(stopped[0].stopped);
  EXPECT_EQ(stopped[0].output_ids, std::vector<int64_t>(free[0].output_ids.begin(), free[0].output_ids.begin() + 4));
  EXPECT_FALSE(stopped[1].stopped);
  EXPECT_EQ(stopped[1].output_ids, free[1].output_ids);
  EXPECT_EQ(seen[1], free[1].output_ids.size() - 1);
}

TEST(Options, EarlyStoppingParsesTransformersValues) {
  EXPECT_EQ(parse_early_stopping("never"), EarlyStopping::kNever);
  EXPECT_EQ(parse_early_stopping("true"), EarlyStopping::kTrue);
  EXPECT_EQ(parse_early_stopping("false"), EarlyStopping::kFalse);
  EXPECT_THROW(parse_early_stopping("sometimes"), Error);
}

TEST(Options, AreComparableValues) {
  TranslateOptions a, b;
  EXPECT_EQ(a, b);
  b.target_lang = "cmn_Hans";
  EXPECT_NE(a, b);
  a = b;
  EXPECT_EQ(a, b);
  a.target_prefix_ids = {5};
  EXPECT_NE(a, b);
}

TEST(Batch, ATextsOwnErrorFailsThatTextOnly) {
  const Translator translator(tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 10;
  const std::string too_long(static_cast<size_t>(translator.model_info().max_position_embeddings) * 8, 'a');
  std::string bad_utf8 = "caf\xc3";
  const std::vector<std::string> texts = {"Hello world.", too_long + " " + too_long, bad_utf8, "What time is it?"};
  const std::vector<Translation> batch = translator.translate_batch(texts, options);
  EXPECT_TRUE(batch[0].ok());
  EXPECT_NE(batch[1].error.find("max_position_embeddings"), std::string::npos) << batch[1].error;
  EXPECT_NE(batch[2].error.find("UTF-8"), std::string::npos) << batch[2].error;
  EXPECT_TRUE(batch[3].ok());
  EXPECT_EQ(batch[0].output_ids, translator.translate(texts[0], options).output_ids);
  EXPECT_EQ(batch[3].output_ids, translator.translate(texts[3], options).output_ids);
  EXPECT_THROW(translator.translate(texts[1], options), Error);
}

TEST(Options, HugeMaxNewTokensIsCappedByThePositionTable) {
  const Translator translator(tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = std::numeric_limits<int64_t>::max();
  const Translation t = translator.translate("Hello world.", options);
  EXPECT_LE(static_cast<int64_t>(t.output_ids.size()), translator.model_info().max_position_embeddings);
}

TEST(Options, InvalidValuesAreClearErrors) {
  const Translator translator(tiny_model_dir());
  auto expect_error = [&](TranslateOptions options, const std::string& fragment) {
    try {
      translator.translate("Hello", options);
      ADD_FAILURE() << "accepted; expected an error about " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  TranslateOptions o;
  o.num_beams = 0;
  expect_error(o, "num_beams");
  o = {};
  o.num_beams = 2;
  o.num_return_sequences = 3;
  expect_error(o, "num_return_sequences");
  o = {};
  o.top_p = 1.5;
  o.do_sample = true;
  o.num_beams = 1;
  expect_error(o, "top_p");
  o = {};
  o.suppress_tokens = {1 << 30};
  expect_error(o, "suppress_tokens");
  o = {};
  o.do_sample = true;
  o.num_beams = 4;
  expect_error(o, "beam sampling");
  o = {};
  o.max_new_tokens = 0;
  expect_error(o, "max_new_tokens");
}

}  // namespace
}  // namespace opusrt::test
