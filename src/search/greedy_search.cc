#include "search/greedy_search.h"

#include <algorithm>

#include "opusrt/error.h"

namespace opusrt {

GreedySearch::GreedySearch(SearchSettings settings) : settings_(std::move(settings)) {
  if (settings_.eos_token_ids.empty()) throw Error("greedy search: no eos token id");
  if (settings_.max_length < 1) throw Error("greedy search: max_length must be at least 1");
}

SearchResult GreedySearch::run(DecoderSession& decoder, int64_t rows, const LogitsProcessorList& processors,
                               const StepObserver& observer) const {
  SearchResult result;
  result.sequences.assign(rows, {settings_.decoder_start_token_id});
  std::vector<bool> finished(rows, false);
  std::vector<int64_t> last(rows, settings_.decoder_start_token_id);
  auto is_eos = [&](int64_t id) {
    return std::find(settings_.eos_token_ids.begin(), settings_.eos_token_ids.end(), id) !=
           settings_.eos_token_ids.end();
  };

  for (int64_t length = 1; length < settings_.max_length; ++length) {
    StepLogits logits = decoder.step(last);
    if (observer) observer(result.steps, logits);
    ++result.steps;
    bool all_finished = true;
    for (int64_t row = 0; row < rows; ++row) {
      if (finished[row]) {
        last[row] = settings_.pad_token_id;
        continue;
      }
      std::span<float> scores = logits.row(row);
      processors.apply(result.sequences[row], scores);
      const int64_t next = std::max_element(scores.begin(), scores.end()) - scores.begin();
      result.sequences[row].push_back(next);
      last[row] = next;
      finished[row] = is_eos(next);
      all_finished = all_finished && finished[row];
    }
    if (all_finished) break;
  }
  return result;
}

}  // namespace opusrt
