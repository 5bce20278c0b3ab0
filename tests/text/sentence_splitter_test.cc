// Cutting text into translatable units and putting it back together, losing nothing.
#include <gtest/gtest.h>

#include <map>

#include "opusrt/error.h"
#include "opusrt/translator.h"
#include "test_env.h"
#include "text/sentence_splitter.h"

namespace opusrt {
namespace {

std::vector<std::string> contents(const std::vector<TextSegment>& segments) {
  std::vector<std::string> out;
  for (const TextSegment& s : segments) out.push_back(s.content);
  return out;
}

TEST(SentenceSplitter, SplitsSentencesAndKeepsEveryByteAround) {
  const std::string text = "  Hello world. How are you?  Fine!\r\nNext line.\t";
  const std::vector<TextSegment> segments = split_sentences(text);
  EXPECT_EQ(contents(segments),
            (std::vector<std::string>{"Hello world.", "How are you?", "Fine!", "Next line."}));
  EXPECT_EQ(join_segments(segments, contents(segments)), text);
  EXPECT_EQ(join_segments(segments, {"A", "B", "C", "D"}), "  A B  C\r\nD\t");
}

TEST(SentenceSplitter, BlankTextIsOneEmptySegment) {
  for (const std::string text : {"", "   ", "\t\r\n "}) {
    const std::vector<TextSegment> segments = split_sentences(text);
    ASSERT_EQ(segments.size(), 1u);
    EXPECT_TRUE(segments[0].content.empty());
    EXPECT_EQ(join_segments(segments, {""}), text);
  }
}

TEST(SentenceSplitter, HandlesCjkAndOtherScripts) {
  const std::string text = "这是第一句。这是第二句！Ωμέγα. Привет мир.";
  const std::vector<TextSegment> segments = split_sentences(text);
  EXPECT_GE(segments.size(), 3u);
  EXPECT_EQ(join_segments(segments, contents(segments)), text);
}

TEST(SentenceSplitter, InvalidUtf8IsAnError) {
  EXPECT_THROW(split_sentences("ok \xC3\x28 no"), Error);
  EXPECT_THROW(split_to_fit("\xFF", [](std::string_view) { return true; }), Error);
}

TEST(SplitToFit, PiecesFitAndConcatenateToTheInput) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + " ";
  auto fits = [](std::string_view piece) { return piece.size() <= 50; };
  const std::vector<std::string> pieces = split_to_fit(text, fits);
  std::string joined;
  for (const std::string& piece : pieces) {
    EXPECT_TRUE(fits(piece)) << piece;
    EXPECT_FALSE(piece.empty());
    joined += piece;
  }
  EXPECT_EQ(joined, text);
  EXPECT_GT(pieces.size(), 20u);
}

TEST(SplitToFit, AWordTooLongIsCutBetweenCodePoints) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "é中";  // no spaces; 2- and 3-byte code points
  auto fits = [](std::string_view piece) { return piece.size() <= 20; };
  const std::vector<std::string> pieces = split_to_fit(text, fits);
  std::string joined;
  for (const std::string& piece : pieces) {
    EXPECT_TRUE(fits(piece));
    EXPECT_NO_THROW(split_sentences(piece));  // each piece is valid UTF-8
    joined += piece;
  }
  EXPECT_EQ(joined, text);
}

TEST(TranslateText, LongInputIsSplitNeverCropped) {
  const Translator translator(test::tiny_model_dir());
  const int64_t limit = translator.model_info().max_position_embeddings;
  std::string sentence;  // one sentence far longer than the model takes
  for (int i = 0; i < 3 * limit; ++i) sentence += "file" + std::to_string(i % 50) + " ";
  sentence += "end.";
  const std::string text = "Short one. " + sentence + " Last one.";
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 4;
  EXPECT_THROW(translator.translate(text, options), Error);  // one unit: too long
  EXPECT_THROW(translator.translate_text(text, options, SplitMode::kNone), Error);
  const TextTranslation result = translator.translate_text(text, options);
  ASSERT_GE(result.units.size(), 5u);
  std::string sources;
  for (size_t i = 0; i < result.units.size(); ++i) {
    EXPECT_LE(static_cast<int64_t>(result.units[i].source_ids.size()), limit);
    sources += result.pieces[i];
  }
  // Every character of every sentence went to the model (the whitespace between sentences is kept aside).
  std::string expected = text;
  std::erase(expected, ' ');
  std::erase(sources, ' ');
  EXPECT_EQ(sources, expected);
}

TEST(TranslateText, AutoKeepsAFittingTextWholeAndSentencesModeSplitsIt) {
  const Translator translator(test::tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 8;
  const std::string text = "Hello world. What time is it?";
  const TextTranslation whole = translator.translate_text(text, options);
  ASSERT_EQ(whole.units.size(), 1u);
  EXPECT_EQ(whole.text, translator.translate(text, options).text);
  const TextTranslation sentences = translator.translate_text(text, options, SplitMode::kSentences);
  ASSERT_EQ(sentences.units.size(), 2u);
  EXPECT_EQ(sentences.text, translator.translate("Hello world.", options).text + " " +
                                translator.translate("What time is it?", options).text);
}

// Auto cuts at line breaks first: each line on its own (whole when it fits, even with several
// sentences), the breaks kept where they were. Translated whole, the model would see the lines
// as one (sentencepiece turns line breaks into spaces) and run them together.
TEST(TranslateText, AutoTranslatesEachLineOnItsOwnAndKeepsTheLineBreaks) {
  const Translator translator(test::tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 8;
  const auto one = [&](const std::string& text) { return translator.translate(text, options).text; };
  const std::string text = "Open the file.\n\nHide all toolbars. Print it\r\nClose the window\n";
  const TextTranslation t = translator.translate_text(text, options);
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_EQ(t.units.size(), 3u);
  EXPECT_EQ(t.text, one("Open the file.") + "\n\n" + one("Hide all toolbars. Print it") + "\r\n" +
                        one("Close the window") + "\n");
  // Other line breaks: LS, PS, NEL.
  for (const std::string brk : {"\u2028", "\u2029", "\u0085"}) {
    const TextTranslation lines = translator.translate_text("Open the file" + brk + "Close the window", options);
    ASSERT_EQ(lines.units.size(), 2u) << brk;
    EXPECT_EQ(lines.text, one("Open the file") + brk + one("Close the window"));
  }
  // A line too long for the model is still cut into its sentences; the others stay whole.
  std::string long_line;
  for (int i = 0; i < 60; ++i) long_line += "Save the document now. ";
  long_line.pop_back();
  const TextTranslation mixed = translator.translate_text("Open the file. Close it.\n" + long_line, options);
  ASSERT_TRUE(mixed.ok()) << mixed.error;
  EXPECT_EQ(mixed.units.size(), 61u);
  EXPECT_TRUE(mixed.text.starts_with(one("Open the file. Close it.") + "\n")) << mixed.text;
  // Sentences mode splits every line's sentences too.
  EXPECT_EQ(translator.translate_text(text, options, SplitMode::kSentences).units.size(), 4u);
}

// translate_texts batches units by length; every text still gets its own translation back, in
// its place.
TEST(TranslateText, LengthSortedBatchesReturnEachTextInItsPlace) {
  const Translator translator(test::tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 6;
  const std::vector<std::string> texts = {"A much longer sentence, with many more words than the others have.",
                                          "Hi.", "Medium length text here.", "Ok.",
                                          "Another long one: the quick brown fox jumps over the lazy dog."};
  for (size_t batch : {1u, 2u, 3u, 8u}) {
    const std::vector<TextTranslation> results = translator.translate_texts(texts, options, SplitMode::kNone, batch);
    ASSERT_EQ(results.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      const Translation alone = translator.translate(texts[i], options);
      EXPECT_EQ(results[i].units.at(0).source_ids, alone.source_ids) << "batch " << batch << " text " << i;
      EXPECT_EQ(results[i].units.at(0).output_ids, alone.output_ids) << "batch " << batch << " text " << i;
    }
  }
}

// A streaming caller is told partial texts by batch index; its units keep text order.
TEST(TranslateText, StreamingKeepsUnitsInTextOrder) {
  const Translator translator(test::tiny_model_dir());
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 6;
  std::map<size_t, std::string> last_partial;
  const std::string text = "A rather long first sentence comes here, with words. Short. Mid-sized third one.";
  const TextTranslation result =
      translator.translate_text(text, options, SplitMode::kSentences, 8, [&](size_t index, int64_t, std::string_view partial) {
        last_partial[index] = partial;
        return true;
      });
  ASSERT_EQ(result.units.size(), 3u);
  ASSERT_EQ(last_partial.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(last_partial[i], result.units[i].text) << "unit " << i;
}

}  // namespace
}  // namespace opusrt
