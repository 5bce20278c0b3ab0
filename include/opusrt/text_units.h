#pragma once

// Texts of any length cut into the units a model translates, and the units' translations joined
// back: the two ends of Translator::translate_texts, for callers that schedule the units
// themselves (a server's queue batches the units of many requests together). It is the very
// cut translate_texts makes (translate_texts is built on it), so joining the same unit
// translations gives what translate_texts gives.
//
//   opusrt::TextUnits split(translator, texts, options);     // SplitMode::kAuto, as the CLI's default
//   std::vector<std::string> translated(split.units().size());
//   for (size_t u = 0; u < translated.size(); ++u) {            // any order, any batches
//     const opusrt::TextUnits::Unit& unit = split.units()[u];
//     translated[u] = translator.translate(unit.source, opusrt::TextUnits::unit_options(options, unit)).text;
//   }
//   std::vector<std::string> texts_out = split.join(translated);   // one per text
//
//   // Streaming: the text so far, from the translations of its first units (the last may be partial).
//   std::string so_far = split.join(text, std::span(translated).subspan(split.first_unit(text), 2));
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "opusrt/translator.h"
#include "opusrt/types.h"

namespace opusrt {

class TextUnits {
 public:
  struct Unit {
    size_t text = 0;     // which input text
    bool first = false;  // its text's first unit: a forced target prefix belongs to it only
    std::string source;  // what the model translates
  };

  // Cuts every text as translate_texts does with `split` (kAuto: a text that fits the model's
  // max_position_embeddings is one unit, else its sentences, and pieces of sentences still too
  // long cut at word boundaries; blank text has no unit and joins back as it was). `options`
  // counts because a target_lang adds a token to every unit. A text that cannot be cut (invalid
  // UTF-8) gets error(text) and no units; the others are cut regardless. `translator` is only
  // used here (its tokenizer measures the pieces).
  TextUnits(const Translator& translator, std::span<const std::string> texts, const TranslateOptions& options = {},
            SplitMode split = SplitMode::kAuto);
  ~TextUnits();
  TextUnits(TextUnits&&) noexcept;
  TextUnits& operator=(TextUnits&&) noexcept;

  size_t text_count() const;
  // Every unit of every text: text after text, each text's in order.
  const std::vector<Unit>& units() const;
  // Text `text`'s units are units()[first_unit(text)], ... (unit_count(text) of them).
  size_t first_unit(size_t text) const;
  size_t unit_count(size_t text) const;
  // Why `text` could not be cut; empty when it was.
  const std::string& error(size_t text) const;

  // One translation per unit (units().size(), same order) -> one per text, with the source's
  // whitespace and line breaks around the units. Throws opusrt::Error on a wrong count.
  std::vector<std::string> join(std::span<const std::string> translations) const;
  // One text from its units' translations, in order. All unit_count(text) of them: that text of
  // join(). Fewer (the units translated so far, the last one perhaps unfinished): the text so
  // far, ending with the last unit given (the whitespace after it follows with the next unit).
  std::string join(size_t text, std::span<const std::string> translations) const;

  // The options to translate `unit` with: `options` without the forced target prefix unless the
  // unit is its text's first (what translate_texts does).
  static TranslateOptions unit_options(const TranslateOptions& options, const Unit& unit);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt
