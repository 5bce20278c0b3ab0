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
  // max_generated: the most tokens a hypothesis can generate (max_length minus the prompt).
  FinishedHypotheses(int num_beams, double length_penalty, EarlyStopping early_stopping, int64_t max_generated)
      : num_beams_(num_beams), length_penalty_(length_penalty), early_stopping_(early_stopping),
        max_generated_(max_generated) {}

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
        early_stopping_ == EarlyStopping::kNever && length_penalty_ > 0 ? max_generated_ : generated_length;
    const double highest_attainable = best_sum_logprobs / std::pow(static_cast<double>(horizon), length_penalty_);
    return worst_score_ >= highest_attainable;
  }

  bool empty() const { return beams_.empty(); }

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
  int64_t max_generated_;
  std::vector<Hypothesis> beams_;
  double worst_score_ = 1e9;
};

using Candidate = BeamCandidate;

// Candidates in transformers' topk order: higher score first, then lower flat index.
bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
}

}  // namespace

struct BeamSearch::SentenceState {
  std::vector<std::vector<int64_t>> beams;  // live sequences, prompt first
  std::vector<float> beam_scores;
  FinishedHypotheses finished;
  std::vector<Hypothesis> result;  // once done
  bool done = false;
};

const char* to_string(EarlyStopping value) {
  switch (value) {
    case EarlyStopping::kTrue: return "true";
    case EarlyStopping::kFalse: return "false";
    case EarlyStopping::kNever: return "never";
  }
  return "?";
}

EarlyStopping parse_early_stopping(std::string_view text) {
  if (text == "true") return EarlyStopping::kTrue;
  if (text == "false") return EarlyStopping::kFalse;
  if (text == "never") return EarlyStopping::kNever;
  throw Error("early_stopping must be true, false or never, got '" + std::string(text) + "'");
}

BeamSearch::BeamSearch(SearchSettings settings, BeamSettings beam, std::vector<std::vector<int64_t>> prompts)
    : settings_(std::move(settings)), beam_(beam) {
  if (settings_.eos_token_ids.empty()) throw Error("beam search: no eos token id");
  if (settings_.max_length < 1) throw Error("beam search: max_length must be at least 1");
  if (beam_.num_beams < 1) throw Error("beam search: num_beams must be at least 1");
  if (beam_.num_return_sequences < 1 || beam_.num_return_sequences > beam_.num_beams)
    throw Error("num_return_sequences (" + std::to_string(beam_.num_return_sequences) +
                ") must be between 1 and num_beams (" + std::to_string(beam_.num_beams) + ")");
  prompt_length_ = prompts.empty() ? 1 : static_cast<int64_t>(prompts.front().size());
  const int64_t K = beam_.num_beams;
  for (std::vector<int64_t>& prompt : prompts) {
    if (static_cast<int64_t>(prompt.size()) != prompt_length_ || prompt.empty())
      throw Error("beam search: the prompts of one batch must have one length");
    SentenceState state{std::vector<std::vector<int64_t>>(K, prompt), std::vector<float>(K, -1e9f),
                        FinishedHypotheses(beam_.num_beams, settings_.length_penalty, beam_.early_stopping,
                                           settings_.max_length - prompt_length_),
                        {}, false};
    state.beam_scores[0] = 0.0f;
    states_.push_back(std::move(state));
  }
  if (prompt_length_ < settings_.max_length) {
    for (int64_t s = 0; s < static_cast<int64_t>(states_.size()); ++s) active_.push_back(s);
  } else {
    for (int64_t s = 0; s < static_cast<int64_t>(states_.size()); ++s) {
      states_[s].done = true;
      states_[s].result = {{states_[s].beams.front(), 0.0}};
    }
  }
  update_rows();
}

BeamSearch::~BeamSearch() = default;

bool BeamSearch::finished(int64_t sentence) const { return states_.at(sentence).done; }

void BeamSearch::update_rows() {
  next_.clear();
  row_sentences_.clear();
  for (int64_t s : active_) {
    if (!replicated_) {
      // Before the first choice the decoder holds one row per sentence: its prompt's prefill.
      next_.push_back(states_[s].beams.front().back());
      row_sentences_.push_back(s);
      continue;
    }
    for (const auto& beam : states_[s].beams) next_.push_back(beam.back());
    row_sentences_.insert(row_sentences_.end(), beam_.num_beams, s);
  }
}

void BeamSearch::finish(int64_t sentence, std::vector<TokenEvent>* events) {
  SentenceState& state = states_[sentence];
  state.result = state.finished.best(beam_.num_return_sequences);
  for (Hypothesis& h : state.result)
    if (static_cast<int64_t>(h.ids.size()) < settings_.max_length) h.ids.push_back(settings_.eos_token_ids.front());
  state.done = true;
  if (events && !state.result.empty()) {
    const std::vector<int64_t>& best = state.result.front().ids;
    for (size_t length = static_cast<size_t>(prompt_length_) + 1; length <= best.size(); ++length)
      events->push_back({sentence, std::span<const int64_t>(best.data(), length)});
  }
}

void BeamSearch::advance(const StepLogits& raw_logits, const LogitsProcessorList& processors, DecoderState& decoder,
                         std::vector<TokenEvent>& events) {
  const int64_t K = beam_.num_beams;
  StepLogits logits = raw_logits;
  if (!replicated_) {
    // Every beam of a sentence continues its prompt's prefill: the decoder's rows (and this
    // run's logits) are replicated num_beams times, as if each beam had run it.
    if (logits.rows != static_cast<int64_t>(active_.size()))
      throw Error("beam search: " + std::to_string(logits.rows) + " logits rows for " +
                  std::to_string(active_.size()) + " sentences");
    std::vector<int64_t> rows;
    replicated_logits_.resize(static_cast<size_t>(logits.rows * K * logits.vocab));
    for (int64_t row = 0; row < logits.rows; ++row) {
      const std::span<float> source = logits.row(row);
      for (int64_t k = 0; k < K; ++k) {
        rows.push_back(row);
        std::copy(source.begin(), source.end(), replicated_logits_.begin() + (row * K + k) * logits.vocab);
      }
    }
    decoder.select_rows(rows);
    logits = {replicated_logits_.data(), logits.rows * K, logits.vocab};
    replicated_ = true;
  }
  if (logits.rows != static_cast<int64_t>(active_.size()) * K)
    throw Error("beam search: " + std::to_string(logits.rows) + " logits rows for " + std::to_string(active_.size()) +
                " sentences of " + std::to_string(K) + " beams");
  const size_t candidates_per_sentence = static_cast<size_t>(std::max<int64_t>(2, 1 + settings_.eos_token_ids.size()) * K);
  const int64_t length = ++generated_;  // tokens generated including this step's

  std::vector<int64_t> next_rows;  // which current row each next row continues
  std::vector<int64_t> next_active;
  for (size_t block = 0; block < active_.size(); ++block) {
    SentenceState& state = states_[active_[block]];
    candidates_.clear();
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
      row_best_.clear();
      const float beam_score = state.beam_scores[k];
      const size_t vocab = scores.size();
      for (size_t token = 0; token < vocab; ++token) {
        if (row_best_.size() == candidates_per_sentence) {
          token = first_reaching(scores, token, beam_score, row_best_.front().score);
          if (token == vocab) break;
        }
        const Candidate c{scores[token] + beam_score, k, static_cast<int64_t>(token)};
        if (row_best_.size() < candidates_per_sentence) {
          row_best_.push_back(c);
          std::push_heap(row_best_.begin(), row_best_.end(), better);
        } else if (better(c, row_best_.front())) {
          std::pop_heap(row_best_.begin(), row_best_.end(), better);
          row_best_.back() = c;
          std::push_heap(row_best_.begin(), row_best_.end(), better);
        }
      }
      candidates_.insert(candidates_.end(), row_best_.begin(), row_best_.end());
    }
    std::sort(candidates_.begin(), candidates_.end(), better);
    candidates_.resize(std::min(candidates_.size(), candidates_per_sentence));

    std::vector<std::vector<int64_t>> beams;
    std::vector<float> beam_scores;
    for (size_t rank = 0; rank < candidates_.size() && static_cast<int64_t>(beams.size()) < K; ++rank) {
      const Candidate& c = candidates_[rank];
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
    const bool done = state.finished.is_done(candidates_.front().score, length);
    const bool at_max_length = prompt_length_ + length >= settings_.max_length;
    if (done || at_max_length) {
      // Rows of this sentence leave the batch; live beams at max_length become hypotheses.
      next_rows.resize(next_rows.size() - beams.size());
      if (!done) {
        for (size_t k = 0; k < beams.size(); ++k)
          state.finished.add(beams[k], beam_scores[k], static_cast<int64_t>(beams[k].size()) - prompt_length_);
      }
      finish(active_[block], &events);
      continue;
    }
    state.beams = std::move(beams);
    state.beam_scores = std::move(beam_scores);
    next_active.push_back(active_[block]);
  }
  active_ = std::move(next_active);
  if (!active_.empty()) decoder.select_rows(next_rows);
  update_rows();
}

void BeamSearch::stop(int64_t sentence, DecoderState& decoder) {
  const auto it = std::find(active_.begin(), active_.end(), sentence);
  if (it == active_.end()) return;
  SentenceState& state = states_[sentence];
  // What it has so far: its finished hypotheses and its live beams, ranked together.
  if (replicated_) {
    for (size_t k = 0; k < state.beams.size(); ++k)
      state.finished.add(state.beams[k], state.beam_scores[k],
                         std::max<int64_t>(1, static_cast<int64_t>(state.beams[k].size()) - prompt_length_));
  } else {
    state.finished.add(state.beams.front(), 0.0, 1);
  }
  finish(sentence, nullptr);
  const int64_t rows_per_sentence = replicated_ ? beam_.num_beams : 1;
  const int64_t block = it - active_.begin();
  std::vector<int64_t> keep;
  for (int64_t row = 0; row < static_cast<int64_t>(active_.size()) * rows_per_sentence; ++row)
    if (row / rows_per_sentence != block) keep.push_back(row);
  active_.erase(it);
  if (!active_.empty()) decoder.select_rows(keep);
  update_rows();
}

std::vector<Hypothesis> BeamSearch::hypotheses(int64_t sentence) const {
  const SentenceState& state = states_.at(sentence);
  if (state.done) return state.result;
  const double generated = static_cast<double>(static_cast<int64_t>(state.beams.front().size()) - prompt_length_);
  const double score = generated > 0 ? state.beam_scores.front() / std::pow(generated, settings_.length_penalty) : 0.0;
  return {{state.beams.front(), score}};
}

}  // namespace opusrt
