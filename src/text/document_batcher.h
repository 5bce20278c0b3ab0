#pragma once

// Documents to model-sized units and back (bergamot-translator's TextProcessor / BatchingPool /
// ResponseBuilder split, in one file per job is overkill here: three small functions).
//
//   DocumentUnits units = split_documents(texts, SplitMode::kAuto, fits);        // text -> units
//   for (const std::vector<size_t>& batch : batch_by_length(unit_lengths, 32, false))
//     ... translate units.sources[i] for i in batch ...
//   std::vector<std::string> joined = join_documents(units, unit_translations);   // units -> texts
//
// A text's units are its sentences (ICU), and pieces of sentences too long for the model; the
// whitespace around them is kept so the translations are joined back with the source's layout.
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/types.h"
#include "text/sentence_splitter.h"

namespace opusrt {

struct DocumentUnits {
  struct Unit {
    size_t text = 0;     // which input text
    size_t segment = 0;  // which of its segments
    bool first = false;  // its text's first unit: where a forced target prefix belongs
  };
  std::vector<std::vector<TextSegment>> segments;  // per text
  std::vector<Unit> units;                         // every unit of every text, in order
  std::vector<std::string> sources;                // per unit, the text to translate
  std::vector<std::string> errors;                 // per text: why it could not be split (no units then)
};

// kNone: each text is one unit, exactly as given (blank too). kAuto: each line of a text (up to
// a line break) that `fits` is one unit, a line that does not is cut as kSentences cuts it; line
// breaks stay in the layout. kSentences: sentences, blank ones kept out, pieces cut to `fits`.
// A text that cannot be split (invalid UTF-8) gets an error and no units; the others go on.
DocumentUnits split_documents(std::span<const std::string> texts, SplitMode split,
                              const std::function<bool(std::string_view)>& fits);

// Unit indices in batches of at most `max_batch`, from the units' lengths (bytes). Sorted by
// length unless `keep_order`: padding costs every row of a batch the longest row's encoder
// positions (and cross-attention over them at every decoder step); a streaming caller wants
// text order, as it shows the units.
std::vector<std::vector<size_t>> batch_by_length(std::span<const size_t> lengths, size_t max_batch, bool keep_order);

// Per text: its units' translations joined back. Pieces of one sentence are rejoined with a
// space where the source had whitespace at the cut; sentences get their original surroundings.
std::vector<std::string> join_documents(const DocumentUnits& units, std::span<const std::string> translations);

// One text (`text`, whose units start at units.units[first_unit]) from its units' translations,
// in order. All of them: what join_documents gives for the text. Fewer (the units translated so
// far, the last one perhaps unfinished): the text so far, i.e. the source's layout up to the last
// unit given, without the whitespace that follows it; empty for none.
std::string join_document(const DocumentUnits& units, size_t text, size_t first_unit,
                          std::span<const std::string> translations);

}  // namespace opusrt
