// Live incremental translation: finals equal offline translation under every policy (greedy and
// beam 4), committed text never shrinks within a segment, the committed prefix goes through the
// decoder in one prefill run, an unchanged source runs nothing, bad input is a clear error.
#include <sstream>

#include <gtest/gtest.h>

#include "opusrt/error.h"
#include "opusrt/incremental.h"
#include "opusrt/translator.h"
#include "engine_harness.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

std::vector<std::string> word_prefixes(const std::string& text) {
  std::istringstream words(text);
  std::vector<std::string> out;
  std::string word, partial;
  while (words >> word) {
    partial += (partial.empty() ? "" : " ") + word;
    out.push_back(partial);
  }
  return out;
}

const Translator& tiny() {
  static const Translator translator(tiny_model_dir());
  return translator;
}

void replay_and_check(const Translator& translator, const std::vector<std::string>& texts, IncrementalOptions options) {
  IncrementalSession session(translator, options);
  int64_t segment = 0;
  for (const std::string& text : texts) {
    SCOPED_TRACE(to_string(options.policy) + ", " + std::to_string(options.translate.num_beams.value_or(0)) +
                 " beams: " + text);
    std::vector<int64_t> committed;
    for (const std::string& partial : word_prefixes(text)) {
      const IncrementalUpdate u = session.push(partial, false);
      EXPECT_FALSE(u.final);
      EXPECT_EQ(u.segment, segment);
      // Committed never shrinks: the old committed tokens are a prefix of the new.
      ASSERT_GE(u.committed_ids.size(), committed.size());
      EXPECT_TRUE(std::equal(committed.begin(), committed.end(), u.committed_ids.begin()));
      // The committed prefix costs one prefill run, not one run per committed token (greedy:
      // one run per token generated after it; beam search may run on past its best hypothesis).
      if (u.model_ran && options.translate.num_beams.value_or(1) == 1) {
        EXPECT_LE(u.decoder_runs, static_cast<int64_t>(u.committed_ids.size() - committed.size() + u.tentative_ids.size()) +
                                      options.mask + 1);
        EXPECT_GE(u.decoder_runs, 1);
      }
      committed = u.committed_ids;
    }
    const IncrementalUpdate final = session.push(text, true);
    EXPECT_TRUE(final.final);
    EXPECT_EQ(final.committed, translator.translate(text, options.translate).text);
    EXPECT_TRUE(final.tentative.empty());
    ++segment;
  }
}

TEST(Incremental, FinalsEqualOfflineUnderEveryPolicyGreedyAndBeam) {
  const std::vector<std::string> texts = fixture_inputs();
  for (const char* policy : {"la2", "la3", "hold:2", "wait:2"}) {
    for (int beams : {1, 4}) {
      IncrementalOptions options;
      options.policy = parse_commit_policy(policy);
      options.translate.num_beams = beams;
      options.translate.max_new_tokens = 30;
      replay_and_check(tiny(), std::vector<std::string>(texts.begin(), texts.begin() + 8), options);
    }
  }
}

TEST(Incremental, MaskAndBiasKeepFinalsExact) {
  IncrementalOptions options;
  options.mask = 2;
  options.bias = 0.5;
  options.translate.num_beams = 1;
  options.translate.max_new_tokens = 30;
  const std::vector<std::string> texts = fixture_inputs();
  replay_and_check(tiny(), std::vector<std::string>(texts.begin(), texts.begin() + 6), options);
}

TEST(Incremental, SharedModelFinalsEqualTransformersOutput) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  const Translator translator(dir);
  for (int beams : {1, 4}) {
    for (const char* policy : {"la2", "hold:2", "wait:2"}) {
      IncrementalOptions options;
      options.policy = parse_commit_policy(policy);
      options.translate.num_beams = beams;
      options.translate.max_new_tokens = 40;
      IncrementalSession session(translator, options);
      for (const auto& c : reference["cases"]) {
        const std::string text = c["text"].get<std::string>();
        for (const std::string& partial : word_prefixes(text)) session.push(partial, false);
        const IncrementalUpdate final = session.push(text, true);
        EXPECT_EQ(final.committed, c[beams == 1 ? "greedy" : "beam"]["text"].get<std::string>()) << policy << " " << text;
      }
    }
  }
}

TEST(Incremental, AnUnchangedSourceRunsNoModel) {
  IncrementalSession session(tiny(), {});
  const IncrementalUpdate first = session.push("Open the file", false);
  EXPECT_TRUE(first.model_ran);
  const IncrementalUpdate again = session.push("Open the file", false);
  EXPECT_FALSE(again.model_ran);
  EXPECT_EQ(again.decoder_runs, 0);
  EXPECT_EQ(again.committed, first.committed);
  EXPECT_EQ(again.tentative, first.tentative);
  EXPECT_EQ(again.seq, first.seq + 1);
  // Spacing that the tokenizer ignores is "unchanged" too.
  EXPECT_FALSE(session.push("Open the file ", false).model_ran);
  const IncrementalUpdate empty = session.push("", false);
  EXPECT_FALSE(empty.model_ran);
}

TEST(Incremental, TentativeTokensAreCappedAndMasked) {
  IncrementalOptions options;
  options.max_tentative_tokens = 3;
  options.policy = parse_commit_policy("hold:100");  // commits nothing
  IncrementalSession session(tiny(), options);
  const IncrementalUpdate u = session.push("Save your changes before closing the window", false);
  EXPECT_LE(u.tentative_ids.size(), 3u);
  EXPECT_LE(u.decoder_runs, 3);
  IncrementalOptions masked = options;
  masked.mask = 2;
  IncrementalSession masked_session(tiny(), masked);
  const IncrementalUpdate m = masked_session.push("Save your changes before closing the window", false);
  EXPECT_EQ(m.tentative_ids.size() + 2, std::max<size_t>(u.tentative_ids.size(), 2));
}

TEST(Incremental, BadInputIsAClearErrorAndTheSessionGoesOn) {
  IncrementalSession session(tiny(), {});
  EXPECT_THROW(session.push("caf\xc3", false), Error);
  EXPECT_NO_THROW(session.push("Open the file", false));
  const IncrementalUpdate empty_final = session.push("", true);
  EXPECT_TRUE(empty_final.final);
  EXPECT_EQ(empty_final.committed, tiny().translate("").text);  // exactly offline, blank too
  session.close();
  EXPECT_THROW(session.push("Hello", false), Error);

  IncrementalOptions prefixed;
  prefixed.translate.target_prefix = "x";
  EXPECT_THROW(IncrementalSession(tiny(), prefixed), Error);
  IncrementalOptions sampling;
  sampling.translate.do_sample = true;
  sampling.translate.num_beams = 1;
  EXPECT_THROW(IncrementalSession(tiny(), sampling), Error);
  IncrementalOptions bias;
  bias.bias = 1.0;
  EXPECT_THROW(IncrementalSession(tiny(), bias), Error);
  for (const char* bad : {"la", "la0", "hold", "hold:x", "wait:-1", "lazy"}) EXPECT_THROW(parse_commit_policy(bad), Error) << bad;
  EXPECT_EQ(to_string(parse_commit_policy("hold:3")), "hold:3");
}

// Sentences for a partial that outgrows the model: word by word, the session must close the
// earlier sentences as a final of their own and go on with the last one.
std::string sentences_longer_than_the_model(const Translator& translator) {
  const std::vector<std::string> sentences = {"Open the file before you save it.", "Close the window now.",
                                              "The printer is not ready.", "Save your changes first."};
  TranslateOptions one_token;  // only the unit count matters here
  one_token.max_new_tokens = 1;
  std::string text;
  for (size_t i = 0; text.empty() || translator.translate_text(text, one_token, SplitMode::kAuto).units.size() == 1; ++i)
    text += (text.empty() ? "" : " ") + sentences[i % sentences.size()];
  return text + " " + sentences[0] + " " + sentences[1] + " " + sentences[2];  // well past the model's length
}

TEST(Incremental, APartialLongerThanTheModelClosesItsEarlierSentences) {
  const Translator& translator = tiny();
  const std::string text = sentences_longer_than_the_model(translator);
  IncrementalOptions options;
  options.max_tentative_tokens = 4;  // keeps the word-by-word replay quick; finals are unaffected
  IncrementalSession session(translator, options);
  StreamMetrics metrics(translator, {});
  std::string closed;     // the start of the partial the session closed
  std::string finals;     // what the viewer has as final text
  int64_t splits = 0, segment = 0;
  for (const std::string& partial : word_prefixes(text)) {
    SCOPED_TRACE(partial);
    const IncrementalUpdate u = session.push(partial, false);  // the caller just keeps pushing the whole partial
    metrics.add(u);
    EXPECT_EQ(u.segment, segment);
    if (u.split) {
      ++splits;
      ++segment;
      EXPECT_TRUE(u.final);
      EXPECT_TRUE(partial.starts_with(closed + u.source));
      // The closed part ends at a sentence boundary, and its final is the CLI's --split auto.
      EXPECT_TRUE(u.source.ends_with(". ")) << u.source;
      EXPECT_EQ(u.committed, translator.translate_text(u.source, {}, SplitMode::kAuto).text);
      closed += u.source;
      finals += u.committed;
    } else {
      EXPECT_FALSE(u.final);
      EXPECT_EQ(closed + u.source, partial);  // the closed start is dropped from later pushes
    }
  }
  EXPECT_GE(splits, 1);
  const IncrementalUpdate last = session.push(text, true);
  metrics.add(last);
  EXPECT_TRUE(last.final);
  EXPECT_EQ(closed + last.source, text);
  EXPECT_EQ(last.committed, translator.translate(last.source).text);
  const StreamSummary summary = metrics.summary();
  EXPECT_EQ(summary.segments, splits + 1);
  EXPECT_EQ(summary.finals_equal_offline, summary.segments);

  // A final pushed in one piece that is too long for one translation is translated as the
  // CLI's --split auto translates it.
  IncrementalSession whole(translator, {});
  const IncrementalUpdate at_once = whole.push(text, true);
  EXPECT_TRUE(at_once.final);
  EXPECT_TRUE(at_once.split);
  EXPECT_EQ(at_once.committed, translator.translate_text(text, {}, SplitMode::kAuto).text);

  // The recogniser revising closed text: that push starts over as the new segment's source.
  IncrementalSession revised(translator, options);
  IncrementalUpdate u;
  for (const std::string& partial : word_prefixes(text)) {
    u = revised.push(partial, false);
    if (u.split) break;
  }
  ASSERT_TRUE(u.split);
  const IncrementalUpdate restart = revised.push("Close the window", false);
  EXPECT_EQ(restart.source, "Close the window");
  EXPECT_FALSE(restart.final);
  // One word with no boundary, far longer than the model: cut into pieces, never an error.
  const std::string endless(static_cast<size_t>(translator.model_info().max_position_embeddings) * 8, 'a');
  IncrementalSession pieces(translator, {});
  const IncrementalUpdate cut = pieces.push(endless + " " + endless, false);
  EXPECT_TRUE(cut.split);
  EXPECT_TRUE(cut.final);
}

TEST(Incremental, RetractionIsReportedNotHidden) {
  // hold:0 commits every tentative token at once; a final that disagrees must say so.
  IncrementalOptions options;
  options.policy = parse_commit_policy("hold:0");
  options.translate.num_beams = 1;
  IncrementalSession session(tiny(), options);
  size_t retracted = 0, finals = 0;
  for (const std::string& text : fixture_inputs()) {
    std::string committed;
    for (const std::string& partial : word_prefixes(text)) committed = session.push(partial, false).committed;
    const IncrementalUpdate final = session.push(text, true);
    ++finals;
    EXPECT_EQ(final.retracted, !final.committed.starts_with(committed)) << text;
    if (final.retracted) {
      ++retracted;
      EXPECT_GT(final.retracted_chars, 0u);
    }
  }
  EXPECT_GT(finals, 0u);
  (void)retracted;
}

// compute_ratio is over every update that ran the model; compute_ratio_partials leaves out the
// finals (each an offline translation): here two finals made to look a million times slower.
TEST(StreamMetricsTest, PartialsRatioLeavesOutTheFinals) {
  IncrementalOptions options;
  options.translate.num_beams = 1;
  IncrementalSession session(tiny(), options);
  StreamMetrics only_finals(tiny(), options.translate);
  only_finals.add(session.push("Open the file.", true));
  EXPECT_GT(only_finals.summary().compute_ratio, 0.0);
  EXPECT_EQ(only_finals.summary().compute_ratio_partials, 0.0);  // no partial ran the model

  StreamMetrics metrics(tiny(), options.translate);
  const IncrementalUpdate partial = session.push("Open the", false);
  ASSERT_TRUE(partial.model_ran);
  metrics.add(partial);
  for (const char* text : {"Open the file.", "Close it."}) {
    IncrementalUpdate final = session.push(text, true);
    final.timings.encoder_ms = 1e9;
    metrics.add(final);
  }
  const StreamSummary s = metrics.summary();
  EXPECT_GT(s.compute_ratio, 1e3);  // the median of three, two of them finals
  EXPECT_GT(s.compute_ratio_partials, 0.0);
  EXPECT_LT(s.compute_ratio_partials, 1e3);
}

TEST(StreamMetricsTest, CountsFinalsAndErasure) {
  IncrementalOptions options;
  options.translate.num_beams = 1;
  IncrementalSession session(tiny(), options);
  StreamMetrics metrics(tiny(), options.translate);
  const std::vector<std::string> texts = {"Open the file.", "Save your changes before closing the window."};
  size_t updates = 0;
  for (const std::string& text : texts) {
    for (const std::string& partial : word_prefixes(text)) {
      metrics.add(session.push(partial, false));
      ++updates;
    }
    metrics.add(session.push(text, true));
    ++updates;
  }
  const StreamSummary s = metrics.summary();
  EXPECT_EQ(s.segments, 2);
  EXPECT_EQ(s.updates, static_cast<int64_t>(updates));
  EXPECT_EQ(s.finals_equal_offline, 2);
  EXPECT_GE(s.ne_displayed, 0.0);
  EXPECT_GE(s.ne_committed, 0.0);
  EXPECT_GT(s.compute_ratio, 0.0);
  EXPECT_GT(s.compute_ratio_partials, 0.0);
  EXPECT_GT(s.ms_per_update_p95, 0.0);
}

}  // namespace
}  // namespace opusrt::test
