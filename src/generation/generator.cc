#include "generation/generator.h"

#include <algorithm>
#include <map>

#include "opusrt/error.h"
#include "search/beam_search.h"
#include "search/single_sequence_search.h"

namespace opusrt {
namespace {

std::unique_ptr<Search> make_search(const GenerationRequest& request, int64_t max_length,
                                    std::vector<std::vector<int64_t>> prompts) {
  const GenerationConfig& g = request.config;
  SearchSettings settings{g.decoder_start_token_id, g.pad_token_id, g.eos_token_ids,
                          max_length,               g.renormalize_logits, g.length_penalty};
  if (g.do_sample)
    return std::make_unique<SingleSequenceSearch>(settings, std::move(prompts),
                                                  SamplingSettings{g.temperature, g.top_k, g.top_p, request.seed});
  if (g.num_beams == 1) return std::make_unique<SingleSequenceSearch>(settings, std::move(prompts));
  return std::make_unique<BeamSearch>(settings, BeamSettings{g.num_beams, g.num_return_sequences, g.early_stopping},
                                      std::move(prompts));
}

void check_token_id(int64_t id, const ModelConfig& model, const std::string& what) {
  if (id < 0 || id >= model.decoder_vocab_size)
    throw Error(what + ": token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                std::to_string(model.decoder_vocab_size - 1) + ")");
}

}  // namespace

void check_request(const GenerationRequest& request, const ModelConfig& model) {
  const GenerationConfig& g = request.config;
  auto fail = [](const std::string& message) { throw Error(message); };
  if (g.num_beams < 1) fail("num_beams must be at least 1, got " + std::to_string(g.num_beams));
  if (g.num_return_sequences < 1 || g.num_return_sequences > g.num_beams)
    fail("num_return_sequences = " + std::to_string(g.num_return_sequences) +
         " needs num_beams >= num_return_sequences (num_beams = " + std::to_string(g.num_beams) + ")");
  if (g.do_sample && g.num_beams > 1) fail("sampling with num_beams > 1 (beam sampling) is not supported");
  if (g.repetition_penalty <= 0) fail("repetition_penalty must be positive");
  if (g.no_repeat_ngram_size < 0) fail("no_repeat_ngram_size must not be negative");
  if (g.min_new_tokens && *g.min_new_tokens < 0) fail("min_new_tokens must not be negative");
  if (g.temperature <= 0) fail("temperature must be positive");
  if (g.top_k < 0) fail("top_k must not be negative");
  if (g.top_p <= 0 || g.top_p > 1) fail("top_p must be in (0, 1]");
  if (request.max_new_tokens && *request.max_new_tokens < 1)
    fail("max_new_tokens must be at least 1, got " + std::to_string(*request.max_new_tokens));
  for (const auto& word : g.bad_words_ids) {
    if (word.empty()) fail("bad_words_ids: an empty token sequence");
    for (int64_t id : word) check_token_id(id, model, "bad_words_ids");
  }
  for (int64_t id : g.suppress_tokens) check_token_id(id, model, "suppress_tokens");
}

Generator::Generator(const DecoderGraphs& graphs, const ModelConfig& model, EncoderOutput encoded,
                     const GenerationRequest& request, const std::vector<std::vector<int64_t>>& prefixes)
    : sentences_(encoded.rows), prefill_token_by_token_(request.prefill_token_by_token) {
  if (static_cast<int64_t>(prefixes.size()) != sentences_)
    throw Error("generation: " + std::to_string(prefixes.size()) + " target prefixes for " +
                std::to_string(sentences_) + " sentences");
  const GenerationConfig& g = request.config;
  prompt_length_ = 1 + (prefixes.empty() ? 0 : static_cast<int64_t>(prefixes.front().size()));
  std::vector<std::vector<int64_t>> prompts;
  for (const std::vector<int64_t>& prefix : prefixes) {
    if (1 + static_cast<int64_t>(prefix.size()) != prompt_length_)
      throw Error("generation: the target prefixes of one batch must have one length (got " +
                  std::to_string(prompt_length_ - 1) + " and " + std::to_string(prefix.size()) + " tokens)");
    for (int64_t id : prefix) check_token_id(id, model, "target prefix");
    prompts.push_back({g.decoder_start_token_id});
    prompts.back().insert(prompts.back().end(), prefix.begin(), prefix.end());
    prompt_ids_.insert(prompt_ids_.end(), prompts.back().begin(), prompts.back().end());
  }
  max_length_ = resolve_max_length(g, model, request.max_new_tokens, prompt_length_);
  if (max_length_ <= prompt_length_)
    throw Error("target prefix of " + std::to_string(prompt_length_ - 1) +
                " tokens leaves no room to generate: the output may have " + std::to_string(max_length_) +
                " tokens (max_length, max_position_embeddings " + std::to_string(model.max_position_embeddings) +
                ") and the prefix takes " + std::to_string(prompt_length_) + " with the decoder start token");
  processors_ = make_processors(g, max_length_, prompt_length_);
  if (request.bias_beta > 0)
    processors_.add(std::make_unique<HypothesisBiasProcessor>(request.bias_towards, request.bias_beta));
  search_ = make_search(request, max_length_, std::move(prompts));
  decoder_ = start_decoding(graphs, std::move(encoded));
}

Generator::~Generator() = default;

bool Generator::finished() const { return search_->finished(); }
bool Generator::finished(int64_t sentence) const { return search_->finished(sentence); }

StepLogits Generator::run_prompts() {
  if (!prefill_token_by_token_) {
    ++decoder_runs_;
    return decoder_->prefill(prompt_ids_, prompt_length_);
  }
  // The oracle: position by position, as a decoder without prefill would force the prefix.
  StepLogits logits;
  std::vector<int64_t> column(static_cast<size_t>(sentences_));
  for (int64_t position = 0; position < prompt_length_; ++position) {
    for (int64_t s = 0; s < sentences_; ++s) column[s] = prompt_ids_[s * prompt_length_ + position];
    logits = decoder_->step(column);
    ++decoder_runs_;
  }
  return logits;
}

std::span<const TokenEvent> Generator::step() {
  events_.clear();
  if (search_->finished()) return events_;
  StepLogits logits;
  if (steps_ == 0) {
    logits = run_prompts();
  } else {
    logits = decoder_->step(search_->next_tokens());
    ++decoder_runs_;
  }
  if (observer_) observer_(steps_, logits, search_->row_sentences());
  ++steps_;
  search_->advance(logits, processors_, *decoder_, events_);
  return events_;
}

void Generator::stop(int64_t sentence) {
  if (sentence < 0 || sentence >= sentences_)
    throw Error("generation: stop(" + std::to_string(sentence) + ") in a batch of " + std::to_string(sentences_));
  search_->stop(sentence, *decoder_);
}

std::vector<Hypothesis> Generator::hypotheses(int64_t sentence) const {
  if (sentence < 0 || sentence >= sentences_)
    throw Error("generation: hypotheses(" + std::to_string(sentence) + ") in a batch of " + std::to_string(sentences_));
  return search_->hypotheses(sentence);
}

SearchResult generate(const DecoderGraphs& graphs, const ModelConfig& model, EncoderOutput encoded,
                      const GenerationRequest& request, const std::vector<std::vector<int64_t>>& prefixes,
                      const GenerationStream& on_token, const StepObserver& observer) {
  check_request(request, model);
  const int64_t sentences = encoded.rows;
  if (static_cast<int64_t>(prefixes.size()) != sentences)
    throw Error("generation: " + std::to_string(prefixes.size()) + " target prefixes for " +
                std::to_string(sentences) + " sentences");
  std::map<size_t, std::vector<int64_t>> groups;  // prefix length -> sentences
  for (int64_t s = 0; s < sentences; ++s) groups[prefixes[s].size()].push_back(s);

  SearchResult result;
  result.hypotheses.resize(sentences);
  result.stopped.assign(sentences, false);
  for (const auto& group : groups) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::vector<int64_t>& members = group.second;
    const bool whole_batch = static_cast<int64_t>(members.size()) == sentences;
    std::vector<std::vector<int64_t>> group_prefixes;
    for (int64_t s : members) group_prefixes.push_back(prefixes[s]);
    Generator generator(graphs, model, whole_batch ? std::move(encoded) : encoded.select_rows(members), request,
                        group_prefixes);
    if (observer) {
      generator.observe_steps([&, step_base = result.steps](int64_t step, const StepLogits& logits,
                                                            std::span<const int64_t> rows) {
        std::vector<int64_t> global(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) global[i] = members[rows[i]];
        observer(step_base + step, logits, global);
      });
    }
    while (!generator.finished()) {
      for (const TokenEvent& event : generator.step()) {
        if (on_token && !on_token({members[event.sentence], event.sequence}) && !generator.finished(event.sentence)) {
          generator.stop(event.sentence);
          result.stopped[members[event.sentence]] = true;
        }
      }
    }
    result.steps += generator.decoder_runs();
    for (size_t i = 0; i < members.size(); ++i)
      result.hypotheses[members[i]] = generator.hypotheses(static_cast<int64_t>(i));
  }
  return result;
}

}  // namespace opusrt
