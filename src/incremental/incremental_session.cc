#include "opusrt/incremental.h"

#include <algorithm>
#include <chrono>

#include "generation/generator.h"
#include "incremental/commit_policy.h"
#include "opusrt/utf8.h"
#include "text/document_batcher.h"
#include "translator/translator_impl.h"

namespace opusrt {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

size_t code_points(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

struct IncrementalSession::State {
  const Translator& translator;
  const Translator::Impl& model;
  IncrementalOptions options;
  GenerationRequest request;  // options.translate resolved once
  bool closed = false;
  int64_t segment = 0;
  int64_t seq = 0;
  // The current segment:
  std::vector<int64_t> source_ids;                // of its last update that ran the model
  std::vector<int64_t> committed;                 // target tokens after the decoder start
  std::vector<std::vector<int64_t>> hypotheses;   // its last full hypotheses (LocalAgreement)
  std::vector<int64_t> previous;                  // last hypothesis, decoder start first (biased search)
  IncrementalUpdate last;
  // The start of the caller's partial that a split already closed (dropped from later pushes).
  std::string closed_start;

  State(const Translator& t, const Translator::Impl& m, IncrementalOptions o)
      : translator(t), model(m), options(std::move(o)), request(model.request(options.translate)) {
    if (options.mask < 0) throw Error("mask must not be negative, got " + std::to_string(options.mask));
    if (!(options.bias >= 0 && options.bias < 1)) throw Error("bias must be in [0, 1), got " + std::to_string(options.bias));
    if (options.max_tentative_tokens && *options.max_tentative_tokens < 1)
      throw Error("max_tentative_tokens must be at least 1");
    if (request.config.do_sample) throw Error("incremental translation needs greedy or beam search, not sampling");
    if (!options.translate.target_prefix.empty() || !options.translate.target_prefix_ids.empty())
      throw Error("incremental translation forces its own committed prefix: target_prefix is not allowed");
    if (!options.translate.target_lang.empty()) model.language_token(options.translate);
  }

  std::string decode(std::span<const int64_t> target) const {
    std::vector<int64_t> ids;
    ids.reserve(target.size() + 1);
    ids.push_back(request.config.decoder_start_token_id);
    ids.insert(ids.end(), target.begin(), target.end());
    return model.tokenizer.decode(ids);
  }

  void start_segment() {
    ++segment;
    source_ids.clear();
    committed.clear();
    hypotheses.clear();
    previous.clear();
    last = {};
  }

  void add_final_ids(const Translation& t, IncrementalUpdate& update) const {
    for (size_t i = 1; i < t.output_ids.size(); ++i)
      if (!is_eos(t.output_ids[i])) update.committed_ids.push_back(t.output_ids[i]);
    update.timings.encoder_ms += t.timings.encoder_ms;
    update.timings.decoder_ms += t.timings.decoder_ms;
  }

  // `split`: the source is longer than the model takes; it is translated as the CLI's
  // --split auto translates a text (sentence by sentence, pieces of over-long sentences).
  IncrementalUpdate finish(std::string_view source, Clock::time_point start, bool split) {
    IncrementalUpdate update;
    update.segment = segment;
    update.final = true;
    update.split = split;
    update.source = std::string(source);
    update.model_ran = true;
    const std::string committed_text = decode(committed);
    if (split) {
      const TextTranslation t = translator.translate_text(source, options.translate, SplitMode::kAuto);
      if (!t.ok()) throw Error("incremental session: " + t.error);
      update.committed = t.text;
      for (const Translation& unit : t.units) add_final_ids(unit, update);
    } else {
      // Exactly the offline translation, whatever was shown before (blank text too, as
      // Translator::translate and transformers translate it).
      const Translation t = translator.translate(source, options.translate);
      update.committed = t.text;
      add_final_ids(t, update);
    }
    if (!update.committed.starts_with(committed_text)) {
      size_t common = 0;
      while (common < committed_text.size() && common < update.committed.size() &&
             committed_text[common] == update.committed[common])
        ++common;
      while (common > 0 && (static_cast<unsigned char>(committed_text[common]) & 0xC0) == 0x80) --common;
      update.retracted = true;
      update.retracted_chars = code_points(std::string_view(committed_text).substr(common));
    }
    update.timings.total_ms = ms_since(start);
    start_segment();
    return update;
  }

  // The partial does not fit the model: everything before its last sentence (or, within one
  // over-long sentence, its last piece) becomes a final segment; the rest is left for the next
  // push, which the caller makes with the whole partial as usual.
  IncrementalUpdate split_off(std::string_view source, Clock::time_point start) {
    const std::string text(source);
    const auto fits = [this](std::string_view piece) { return model.fits(piece, options.translate); };
    const DocumentUnits units = split_documents(std::span(&text, 1), SplitMode::kSentences, fits);
    if (!units.errors.empty() && !units.errors.front().empty())
      throw Error("incremental session: " + units.errors.front());
    if (units.units.size() < 2)  // cannot happen: a text that does not fit splits into pieces that do
      throw Error("incremental session: a partial longer than the model takes could not be split");
    size_t head = 0;
    const std::vector<TextSegment>& segments = units.segments.front();
    for (size_t i = 0; i < units.units.back().segment; ++i)
      head += segments[i].leading.size() + segments[i].content.size() + segments[i].trailing.size();
    const size_t last = units.units.back().segment;
    head += segments[last].leading.size();
    // Pieces of one over-long sentence concatenate to it exactly (split_to_fit).
    for (size_t u = 0; u + 1 < units.units.size(); ++u)
      if (units.units[u].segment == last) head += units.sources[u].size();
    if (head == 0 || head >= source.size())
      throw Error("incremental session: a partial longer than the model takes could not be split");
    IncrementalUpdate update = finish(source.substr(0, head), start, true);
    closed_start += source.substr(0, head);
    return update;
  }

  bool is_eos(int64_t id) const {
    return std::find(request.config.eos_token_ids.begin(), request.config.eos_token_ids.end(), id) !=
           request.config.eos_token_ids.end();
  }

  IncrementalUpdate update(std::string_view source, Clock::time_point start) {
    std::vector<int64_t> ids = model.source_ids(source, options.translate);
    if (ids == source_ids) {  // nothing new for the model: show the last update again
      IncrementalUpdate again = last;
      again.source = std::string(source);
      again.model_ran = false;
      again.decoder_runs = 0;
      again.timings = {};
      again.timings.total_ms = ms_since(start);
      return again;
    }
    const int64_t added = std::max<int64_t>(1, static_cast<int64_t>(ids.size()) - static_cast<int64_t>(source_ids.size()));
    IncrementalUpdate update;
    update.segment = segment;
    update.source = std::string(source);
    update.model_ran = true;

    const auto encoder_start = Clock::now();
    EncoderOutput encoded = model.encoder.run(TokenBatch::right_padded(std::span(&ids, 1), model.generation.pad_token_id));
    update.timings.encoder_ms = ms_since(encoder_start);

    const auto decoder_start = Clock::now();
    GenerationRequest r = request;
    r.max_new_tokens = options.max_tentative_tokens.value_or(2 * added + 8);
    r.config.min_new_tokens.reset();  // a partial source's translation may end early
    if (options.bias > 0 && !previous.empty()) {
      r.bias_towards = previous;
      r.bias_beta = options.bias;
    }
    std::vector<int64_t> hypothesis = committed;
    if (1 + static_cast<int64_t>(committed.size()) < model.config.max_position_embeddings) {
      Generator generator(model.decoder, model.config, std::move(encoded), r, {committed});
      while (!generator.finished()) generator.step();
      update.decoder_runs = generator.decoder_runs();
      const std::vector<int64_t> ids_out = generator.hypotheses(0).front().ids;
      hypothesis.assign(ids_out.begin() + 1, ids_out.end());
      if (!hypothesis.empty() && is_eos(hypothesis.back())) hypothesis.pop_back();
      previous = ids_out;
    }
    update.timings.decoder_ms = ms_since(decoder_start);
    source_ids = std::move(ids);

    hypotheses.push_back(hypothesis);
    const size_t keep = static_cast<size_t>(std::max(1, options.policy.n));
    if (hypotheses.size() > keep) hypotheses.erase(hypotheses.begin(), hypotheses.end() - static_cast<std::ptrdiff_t>(keep));
    const TargetDecoder decoder = [this](std::span<const int64_t> target) { return decode(target); };
    const size_t length = commit_length(options.policy, hypotheses, committed.size(), count_words(source), decoder);
    committed.assign(hypothesis.begin(), hypothesis.begin() + static_cast<std::ptrdiff_t>(length));

    std::vector<int64_t> shown(hypothesis.begin() + static_cast<std::ptrdiff_t>(length), hypothesis.end());
    shown.resize(shown.size() > static_cast<size_t>(options.mask) ? shown.size() - static_cast<size_t>(options.mask) : 0);
    update.committed_ids = committed;
    update.tentative_ids = shown;
    update.committed = decode(committed);
    std::vector<int64_t> displayed = committed;
    displayed.insert(displayed.end(), shown.begin(), shown.end());
    const std::string all = decode(displayed);
    update.tentative = all.starts_with(update.committed) ? all.substr(update.committed.size()) : decode(shown);
    update.timings.total_ms = ms_since(start);
    last = update;
    return update;
  }
};

IncrementalSession::IncrementalSession(const Translator& translator, IncrementalOptions options)
    : state_(std::make_unique<State>(translator, *translator.impl_, std::move(options))) {}

IncrementalSession::~IncrementalSession() = default;
IncrementalSession::IncrementalSession(IncrementalSession&&) noexcept = default;
IncrementalSession& IncrementalSession::operator=(IncrementalSession&&) noexcept = default;

const IncrementalOptions& IncrementalSession::options() const { return state_->options; }

void IncrementalSession::close() { state_->closed = true; }

IncrementalUpdate IncrementalSession::push(std::string_view source, bool final) {
  State& s = *state_;
  if (s.closed) throw Error("incremental session: push after close()");
  if (const std::optional<size_t> bad = find_invalid_utf8(source))
    throw Error("incremental session: invalid UTF-8 at byte " + std::to_string(*bad) + " of the partial");
  const auto start = Clock::now();
  if (!s.closed_start.empty()) {
    if (source.starts_with(s.closed_start))
      source.remove_prefix(s.closed_start.size());
    else
      s.closed_start.clear();  // the recogniser revised closed text: this push starts over
  }
  const bool blank = std::all_of(source.begin(), source.end(), [](unsigned char c) { return std::isspace(c) != 0; });
  IncrementalUpdate update;
  if (final) {
    update = s.finish(source, start, !blank && !s.model.fits(source, s.options.translate));
    s.closed_start.clear();
  } else if (blank) {
    update.segment = s.segment;
    update.source = std::string(source);
    update.committed = s.decode(s.committed);
    update.committed_ids = s.committed;
  } else if (!s.model.fits(source, s.options.translate)) {
    update = s.split_off(source, start);
  } else {
    update = s.update(source, start);
  }
  update.seq = s.seq++;
  return update;
}

}  // namespace opusrt
