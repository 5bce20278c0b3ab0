#include "search/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "opusrt/error.h"

namespace opusrt {
namespace {

// The finished hypotheses of one sentence (transformers' BeamHypotheses).
class FinishedHypotheses {
 public:
  FinishedHypotheses(int num_beams, double length_penalty, EarlyStopping early_stopping, int64_t max_length)
      : num_beams_(num_beams), length_penalty_(length_penalty), early_stopping_(early_stopping),
        max_length_(max_length) {}

  void add(std::vector<int64_t> ids, double sum_logprobs, int64_t generated_length) {
    const double score = sum_logprobs / std::pow(static_cast<double>(generated_length), length_penalty_);
    if (static_cast<int>(beams_.size()) < num_beams_ || score > worst_score_) {
      beams_.push_back({std::move(ids), score});
      if (static_cast<int>(beams_.size()) > num_beams_) {
        // Drop the worst; the new worst is the second worst (first in order on ties, as Python's sort).
        std::vector<size_t> order(beams_.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return beams_[a].score < beams_[b].score; });
        worst_score_ = beams_[order[1]].score;
        beams_.erase(beams_.begin() + static_cast<std::ptrdiff_t>(order[0]));
      } else {
        worst_score_ = std::min(score, worst_score_);
      }
    }
  }

  // best_sum_logprobs: the best running score among this step's candidates; generated_length:
  // tokens generated including this step's (transformers: cur_len + 1 - decoder_prompt_len).
  bool is_done(double best_sum_logprobs, int64_t generated_length) const {
    if (static_cast<int>(beams_.size()) < num_beams_) return false;
    if (early_stopping_ == EarlyStopping::kTrue) return true;
    const int64_t horizon =
        early_stopping_ == EarlyStopping::kNever && length_penalty_ > 0 ? max_length_ - 1 : generated_length;
    const double highest_attainable = best_sum_logprobs / std::pow(static_cast<double>(horizon), length_penalty_);
    return worst_score_ >= highest_attainable;
  }

  // Best first; equal scores keep transformers' order (the later-added first).
  std::vector<Hypothesis> best(int count) const {
    std::vector<Hypothesis> sorted = beams_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; });
    std::vector<Hypothesis> out;
    for (int i = 0; i < count && !sorted.empty(); ++i) {
      out.push_back(std::move(sorted.back()));
      sorted.pop_back();
    }
    return out;
  }

 private:
  int num_beams_;
  double length_penalty_;
  EarlyStopping early_stopping_;
  int64_t max_length_;
  std::vector<Hypothesis> beams_;
  double worst_score_ = 1e9;
};

struct Candidate {
  float score;
  int64_t beam;
  int64_t token;
};

// Candidates in transformers' topk order: higher score first, then lower flat index.
bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
}

struct SentenceState {
  std::vector<std::vector<int64_t>> beams;  // live sequences, start token first
  std::vector<float> beam_scores;
  FinishedHypotheses finished;
  bool done = false;
};

}  // namespace

EarlyStopping parse_early_stopping(const std::string& text) {
  if (text == "true") return EarlyStopping::kTrue;
  if (text == "false") return EarlyStopping::kFalse;
  if (text == "never") return EarlyStopping::kNever;
  throw Error("early_stopping must be true, false or never, got '" + text + "'");
}

const char* to_string(EarlyStopping value) {
  switch (value) {
    case EarlyStopping::kTrue: return "true";
    case EarlyStopping::kFalse: return "false";
    case EarlyStopping::kNever: return "never";
  }
  return "?";
}

BeamSearch::BeamSearch(SearchSettings settings, BeamSettings beam) : settings_(std::move(settings)), beam_(beam) {
  if (settings_.eos_token_ids.empty()) throw Error("beam search: no eos token id");
  if (settings_.max_length < 1) throw Error("beam search: max_length must be at least 1");
  if (beam_.num_beams < 1) throw Error("beam search: num_beams must be at least 1");
  if (beam_.num_return_sequences < 1 || beam_.num_return_sequences > beam_.num_beams)
    throw Error("num_return_sequences (" + std::to_string(beam_.num_return_sequences) +
                ") must be between 1 and num_beams (" + std::to_string(beam_.num_beams) + ")");
}

SearchResult BeamSearch::run(DecoderSession& decoder, int64_t sentences, const LogitsProcessorList& processors,
                             const SearchHooks& hooks) const {
  const int64_t K = beam_.num_beams;
  if (decoder.rows() != sentences * K)
    throw Error("beam search: the decoder holds " + std::to_string(decoder.rows()) + " rows for " +
                std::to_string(sentences) + " sentences of " + std::to_string(K) + " beams");
  const size_t candidates_per_sentence = static_cast<size_t>(std::max<int64_t>(2, 1 + settings_.eos_token_ids.size()) * K);

  std::vector<SentenceState> states;
  states.reserve(sentences);
  for (int64_t s = 0; s < sentences; ++s) {
    SentenceState state{std::vector<std::vector<int64_t>>(K, {settings_.decoder_start_token_id}),
                        std::vector<float>(K, -1e9f),
                        FinishedHypotheses(beam_.num_beams, settings_.length_penalty, beam_.early_stopping,
                                           settings_.max_length),
                        false};
    state.beam_scores[0] = 0.0f;
    states.push_back(std::move(state));
  }
  std::vector<int64_t> active(sentences);  // block of K rows -> sentence
  for (int64_t s = 0; s < sentences; ++s) active[s] = s;
  std::vector<int64_t> row_sentences;
  std::vector<int64_t> last(sentences * K, settings_.decoder_start_token_id);

  SearchResult result;
  std::vector<Candidate> candidates, row_best;
  for (int64_t length = 1; !active.empty(); ++length) {
    StepLogits logits = decoder.step(last);
    if (hooks.on_step) {
      row_sentences.clear();
      for (int64_t s : active) row_sentences.insert(row_sentences.end(), K, s);
      hooks.on_step(result.steps, logits, row_sentences);
    }
    ++result.steps;

    std::vector<int64_t> next_rows;  // which current row each next row continues
    std::vector<int64_t> next_active;
    last.clear();
    for (size_t block = 0; block < active.size(); ++block) {
      SentenceState& state = states[active[block]];
      candidates.clear();
      for (int64_t k = 0; k < K; ++k) {
        std::span<float> scores = logits.row(static_cast<int64_t>(block) * K + k);
        // MarianMTModel.adjust_logits_during_generation: beam search never considers pad.
        if (settings_.pad_token_id >= 0 && settings_.pad_token_id < static_cast<int64_t>(scores.size()))
          scores[settings_.pad_token_id] = -std::numeric_limits<float>::infinity();
        log_softmax(scores);
        processors.apply(state.beams[k], scores);
        if (settings_.renormalize_logits) log_softmax(scores);
        // Only this beam's best candidates can be among the sentence's best. Once the heap is
        // full, tokens scoring below its worst cannot enter and are skipped a vector at a time.
        row_best.clear();
        const float beam_score = state.beam_scores[k];
        const size_t vocab = scores.size();
        for (size_t token = 0; token < vocab; ++token) {
          if (row_best.size() == candidates_per_sentence) {
            token = first_reaching(scores, token, beam_score, row_best.front().score);
            if (token == vocab) break;
          }
          const Candidate c{scores[token] + beam_score, k, static_cast<int64_t>(token)};
          if (row_best.size() < candidates_per_sentence) {
            row_best.push_back(c);
            std::push_heap(row_best.begin(), row_best.end(), better);
          } else if (better(c, row_best.front())) {
            std::pop_heap(row_best.begin(), row_best.end(), better);
            row_best.back() = c;
            std::push_heap(row_best.begin(), row_best.end(), better);
          }
        }
        candidates.insert(candidates.end(), row_best.begin(), row_best.end());
      }
      std::sort(candidates.begin(), candidates.end(), better);
      candidates.resize(std::min(candidates.size(), candidates_per_sentence));

      std::vector<std::vector<int64_t>> beams;
      std::vector<float> beam_scores;
      for (size_t rank = 0; rank < candidates.size() && static_cast<int64_t>(beams.size()) < K; ++rank) {
        const Candidate& c = candidates[rank];
        if (is_eos(settings_, c.token)) {
          if (static_cast<int64_t>(rank) >= K) continue;
          // Scored over the tokens generated with the eos, which is appended at the end.
          state.finished.add(state.beams[c.beam], c.score, length);
        } else {
          beams.push_back(state.beams[c.beam]);
          beams.back().push_back(c.token);
          beam_scores.push_back(c.score);
          next_rows.push_back(static_cast<int64_t>(block) * K + c.beam);
        }
      }
      state.done = state.finished.is_done(candidates.front().score, length);  // length = generated incl. this step
      const bool at_max_length = length + 1 >= settings_.max_length;
      if (state.done || at_max_length) {
        // Rows of this sentence leave the batch; live beams at max_length become hypotheses.
        next_rows.resize(next_rows.size() - beams.size());
        if (!state.done) {
          for (size_t k = 0; k < beams.size(); ++k)
            state.finished.add(beams[k], beam_scores[k], static_cast<int64_t>(beams[k].size()) - 1);
          state.done = true;
        }
        continue;
      }
      state.beams = std::move(beams);
      state.beam_scores = std::move(beam_scores);
      for (const auto& beam : state.beams) last.push_back(beam.back());
      next_active.push_back(active[block]);
    }
    active = std::move(next_active);
    if (!active.empty()) decoder.select_rows(next_rows);
  }

  result.hypotheses.resize(sentences);
  for (int64_t s = 0; s < sentences; ++s) {
    result.hypotheses[s] = states[s].finished.best(beam_.num_return_sequences);
    for (Hypothesis& h : result.hypotheses[s])
      if (static_cast<int64_t>(h.ids.size()) < settings_.max_length) h.ids.push_back(settings_.eos_token_ids.front());
    if (hooks.on_token) {
      const std::vector<int64_t>& best = result.hypotheses[s].front().ids;
      for (size_t length = 2; length <= best.size(); ++length)
        hooks.on_token(s, std::span<const int64_t>(best.data(), length));
    }
  }
  return result;
}

}  // namespace opusrt
