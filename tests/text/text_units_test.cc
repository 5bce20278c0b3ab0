// opusrt::TextUnits (opusrt/text_units.h): the cut and the join of translate_texts, public for
// callers that schedule units themselves (the server). Same units and same joined text as
// translate_texts; a join of the first units is the text so far.
#include <gtest/gtest.h>

#include "opusrt/error.h"
#include "opusrt/text_units.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt {
namespace {

const Translator& translator() {
  static const Translator tiny(test::tiny_model_dir());
  return tiny;
}

// One sentence far longer than the model takes: it is cut at word boundaries.
std::string run_on_sentence() {
  std::string sentence = "This";
  for (int i = 0; i < 3 * translator().model_info().max_position_embeddings; ++i)
    sentence += " file" + std::to_string(i % 50);
  return sentence + ".";
}

std::vector<std::string> sample_texts() {
  return {"Open the file.  Save it now.\n\nClose the window. " + run_on_sentence() + " Done.\n",
          "",
          "   ",
          "A text that fits the model whole. It has two sentences.",
          "bad \xC3\x28 UTF-8. Another sentence.",
          "\tLeading and trailing whitespace. Kept. \r\n"};
}

TEST(TextUnits, CutsAsTranslateTextsAndJoinsItsTranslationsBackTheSame) {
  TranslateOptions options;
  options.num_beams = 1;
  options.max_new_tokens = 3;
  options.target_lang = "cmn_Hans";
  const std::vector<std::string> texts = sample_texts();
  for (SplitMode split : {SplitMode::kAuto, SplitMode::kSentences}) {
    const TextUnits cut(translator(), texts, options, split);
    const std::vector<TextTranslation> library = translator().translate_texts(texts, options, split);
    ASSERT_EQ(cut.text_count(), texts.size());
    std::vector<std::string> translations;
    size_t next_unit = 0;
    for (size_t t = 0; t < texts.size(); ++t) {
      EXPECT_EQ(cut.first_unit(t), next_unit) << "text " << t;
      ASSERT_EQ(cut.unit_count(t), library[t].pieces.size()) << "text " << t;
      for (size_t k = 0; k < cut.unit_count(t); ++k) {
        const TextUnits::Unit& unit = cut.units()[cut.first_unit(t) + k];
        EXPECT_EQ(unit.text, t);
        EXPECT_EQ(unit.first, k == 0);
        EXPECT_EQ(unit.source, library[t].pieces[k]);
        translations.push_back(library[t].units[k].text);
      }
      next_unit += cut.unit_count(t);
      EXPECT_EQ(cut.error(t).empty(), library[t].ok()) << "text " << t;
    }
    ASSERT_EQ(translations.size(), cut.units().size());
    const std::vector<std::string> joined = cut.join(translations);
    for (size_t t = 0; t < texts.size(); ++t) {
      if (!library[t].ok()) continue;
      EXPECT_EQ(joined[t], library[t].text) << "text " << t;
      EXPECT_EQ(cut.join(t, std::span<const std::string>(translations).subspan(cut.first_unit(t), cut.unit_count(t))),
                library[t].text)
          << "text " << t;
    }
  }
  // The long sentence was cut into pieces (several units for one sentence); bad UTF-8 names the byte.
  const TextUnits cut(translator(), texts, options);
  EXPECT_GT(cut.unit_count(0), 6u);
  EXPECT_EQ(cut.unit_count(4), 0u);
  EXPECT_NE(cut.error(4).find("byte 4"), std::string::npos) << cut.error(4);
  EXPECT_EQ(cut.unit_count(3), 1u);  // fits: one unit (kAuto)
}

TEST(TextUnits, TheFirstUnitsJoinIntoTheTextSoFar) {
  const std::vector<std::string> texts = sample_texts();
  const TextUnits cut(translator(), texts, {}, SplitMode::kSentences);
  std::vector<std::string> translations;
  for (size_t u = 0; u < cut.units().size(); ++u) translations.push_back("T" + std::to_string(u));
  const std::vector<std::string> joined = cut.join(translations);
  for (size_t t : {size_t{0}, size_t{3}, size_t{5}}) {
    const std::span<const std::string> units =
        std::span<const std::string>(translations).subspan(cut.first_unit(t), cut.unit_count(t));
    ASSERT_GE(units.size(), 2u) << "text " << t;
    EXPECT_EQ(cut.join(t, units.first(0)), "");
    for (size_t k = 1; k <= units.size(); ++k) {
      const std::string so_far = cut.join(t, units.first(k));
      // The text so far starts the whole text and ends with the last unit given (the
      // whitespace after a unit comes with the next one, or at the end).
      EXPECT_TRUE(joined[t].starts_with(so_far)) << "text " << t << " units " << k << ": " << so_far;
      if (k < units.size()) {
        EXPECT_TRUE(so_far.ends_with(units[k - 1])) << so_far;
      }
    }
    // A unit still being decoded shows as far as it got, after the units before it.
    const std::string partial = cut.join(t, std::vector<std::string>{units[0], "par"});
    EXPECT_TRUE(partial.starts_with(cut.join(t, units.first(1)))) << partial;
    EXPECT_NE(partial.find("par", cut.join(t, units.first(1)).size()), std::string::npos) << partial;
  }
  // The layout around the units is the source's.
  EXPECT_TRUE(joined[0].starts_with("T0  T1\n\nT2 T3")) << joined[0];
  const std::string a = "T" + std::to_string(cut.first_unit(5)), b = "T" + std::to_string(cut.first_unit(5) + 1);
  EXPECT_EQ(joined[5], "\t" + a + " " + b + " \r\n");
  EXPECT_EQ(cut.join(5, std::vector<std::string>{a}), "\t" + a);
  EXPECT_EQ(cut.join(5, std::vector<std::string>{a, b}), joined[5]);
  // Blank text has no unit and comes back as it was; so does empty text.
  EXPECT_EQ(cut.unit_count(1), 0u);
  EXPECT_EQ(cut.unit_count(2), 0u);
  EXPECT_EQ(joined[1], "");
  EXPECT_EQ(joined[2], "   ");
  const TextUnits whole(translator(), texts);  // kAuto: a blank text fits, and still has no unit
  EXPECT_EQ(whole.unit_count(2), 0u);
  EXPECT_EQ(whole.join(2, std::vector<std::string>{}), "   ");
}

TEST(TextUnits, WrongCallsAreErrors) {
  const std::vector<std::string> texts = {"One. Two."};
  const TextUnits cut(translator(), texts);
  EXPECT_THROW(cut.first_unit(1), Error);
  EXPECT_THROW(cut.error(1), Error);
  EXPECT_THROW(cut.join(std::vector<std::string>{"a", "b"}), Error);  // one unit: the text fits
  EXPECT_THROW(cut.join(0, std::vector<std::string>{"a", "b"}), Error);
  EXPECT_EQ(cut.join(std::vector<std::string>{"a"}), std::vector<std::string>{"a"});
}

TEST(TextUnits, UnitOptionsKeepAForcedPrefixForTheFirstUnitOnly) {
  TranslateOptions options;
  options.target_prefix = "你好";
  options.target_prefix_ids = {5};
  options.num_beams = 2;
  TextUnits::Unit unit;
  unit.first = true;
  EXPECT_EQ(TextUnits::unit_options(options, unit), options);
  unit.first = false;
  const TranslateOptions later = TextUnits::unit_options(options, unit);
  EXPECT_TRUE(later.target_prefix.empty());
  EXPECT_TRUE(later.target_prefix_ids.empty());
  EXPECT_EQ(later.num_beams, 2);
}

}  // namespace
}  // namespace opusrt
