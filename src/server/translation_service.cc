#include "server/translation_service.h"

#include <algorithm>
#include <mutex>

#include "opusrt/text_units.h"
#include "server/metrics.h"

namespace opusrt::server {
namespace {

JobResult failure(int status, std::string message) {
  JobResult result;
  result.status = status;
  result.error = std::move(message);
  return result;
}

// At most `limit` bytes of `text`, cut at a code point boundary, "..." when cut: enough of a
// unit to find it in the text.
std::string excerpt(std::string_view text, size_t limit = 40) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

// One request: its texts cut into units, the units' results gathered until the last one is done,
// and for a stream, what each text shows so far. Workers call on_token and finish concurrently.
class RequestState {
 public:
  RequestState(TextUnits split, size_t alternatives, int64_t eos_token, TranslationService::Done done,
               TranslationService::Partial on_partial)
      : split_(std::move(split)),
        alternatives_(alternatives),
        eos_token_(eos_token),
        done_(std::move(done)),
        on_partial_(std::move(on_partial)),
        results_(split_.units().size()),
        remaining_(split_.units().size()) {
    if (on_partial_) {
      latest_.resize(split_.units().size());
      started_.assign(split_.units().size(), 0);
      finished_.assign(split_.units().size(), 0);
      sent_.resize(split_.text_count());
      stopped_.assign(split_.text_count(), 0);
      for (size_t t = 0; t < split_.text_count(); ++t) next_.push_back(split_.first_unit(t));
    }
  }

  const TextUnits& split() const { return split_; }
  bool streaming() const { return static_cast<bool>(on_partial_); }

  // A new token of unit `u` (streams only). False once the client has left.
  bool on_token(size_t u, int64_t token, std::string_view partial) {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t text = split_.units()[u].text;
    if (stopped_[text]) return false;
    latest_[u].assign(partial);
    started_[u] = 1;
    if (token == eos_token_) finished_[u] = 1;  // its text is final: the next unit may show
    if (u != next_[text]) return true;  // ahead of its turn: shown when the units before it are
    advance(text);
    send(text, shown(text));
    return !stopped_[text];
  }

  // Unit `u` is done. The last one completes the request.
  void finish(size_t u, JobResult result) {
    std::vector<TextResult> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (streaming()) {
        latest_[u] = result.translation ? result.translation->text : std::string();
        started_[u] = finished_[u] = 1;
        const size_t text = split_.units()[u].text;
        if (u == next_[text] && !stopped_[text]) {
          advance(text);
          std::string so_far = shown(text);
          if (so_far != sent_[text]) send(text, std::move(so_far));
        }
      }
      results_[u] = std::move(result);
      if (--remaining_ != 0) return;
    }
    complete();
  }

  // Every unit is done (or there were none): one result per text to `done`, once.
  void complete() {
    TranslationService::Done done = std::move(done_);
    std::vector<TextResult> texts;
    try {
      texts = assemble();
    } catch (const std::exception& e) {
      texts.assign(split_.text_count(), TextResult{});
      for (TextResult& text : texts) text = {std::nullopt, {}, 500, std::string("internal error: ") + e.what()};
    }
    try {
      done(std::move(texts));
    } catch (...) {
      // `done` must not take a worker down: a callback that throws loses its own answer only.
    }
  }

 private:
  // Under mutex_: moves text `text`'s next unit past those already finished.
  void advance(size_t text) {
    const size_t end = split_.first_unit(text) + split_.unit_count(text);
    while (next_[text] < end && finished_[next_[text]]) ++next_[text];
  }

  // Under mutex_: the finished units before next_[text], and the next one as far as it got.
  std::string shown(size_t text) const {
    const size_t first = split_.first_unit(text), end = first + split_.unit_count(text);
    size_t count = next_[text] - first;
    if (next_[text] < end && started_[next_[text]]) ++count;
    return split_.join(text, std::span<const std::string>(latest_).subspan(first, count));
  }

  // Under mutex_, so that a text's partials leave in order.
  void send(size_t text, std::string so_far) {
    sent_[text] = std::move(so_far);
    if (!on_partial_(text, sent_[text])) stopped_[text] = 1;
  }

  std::vector<TextResult> assemble() {
    std::vector<TextResult> out(split_.text_count());
    for (size_t t = 0; t < out.size(); ++t) {
      TextResult& result = out[t];
      if (!split_.error(t).empty()) {
        result.status = 400;
        result.error = split_.error(t);
        continue;
      }
      const size_t first = split_.first_unit(t), count = split_.unit_count(t);
      TextTranslation text;
      std::vector<std::string> unit_texts;
      for (size_t k = 0; k < count && result.error.empty(); ++k) {
        JobResult& unit = results_[first + k];
        const std::string& source = split_.units()[first + k].source;
        if (!unit.translation) {
          result.status = unit.status;
          // One unit is the whole text: its message is the text's. Else the message says which.
          result.error = count == 1 ? unit.error
                                    : "part " + std::to_string(k + 1) + " of " + std::to_string(count) + " (\"" +
                                          excerpt(source) + "\"): " + unit.error;
          break;
        }
        unit_texts.push_back(unit.translation->text);
        text.pieces.push_back(source);
        text.units.push_back(std::move(*unit.translation));
      }
      if (!result.error.empty()) continue;
      text.text = split_.join(t, unit_texts);
      if (count > 0) {
        std::vector<std::string> candidates;
        for (size_t k = 1; k <= alternatives_; ++k) {
          std::vector<std::string> hypotheses;
          for (const Translation& unit : text.units)
            hypotheses.push_back(unit.n_best.size() > k ? unit.n_best[k].text : unit.text);
          candidates.push_back(split_.join(t, hypotheses));
        }
        result.alternatives = unique_alternatives(text.text, std::move(candidates));
      }
      result.translation = std::move(text);
    }
    return out;
  }

  const TextUnits split_;
  const size_t alternatives_;
  const int64_t eos_token_;
  TranslationService::Done done_;
  const TranslationService::Partial on_partial_;

  std::mutex mutex_;
  std::vector<JobResult> results_;  // per unit
  size_t remaining_;                // units not finished
  // Streams only: per unit, its translation so far (final once finished); per text, its first
  // unit not finished, the last text sent, and whether its client left (no more partials, its
  // units stop decoding).
  std::vector<std::string> latest_;
  std::vector<uint8_t> started_, finished_;
  std::vector<size_t> next_;
  std::vector<std::string> sent_;
  std::vector<uint8_t> stopped_;
};

// on_done must not take a worker down: a callback that throws loses its own result only.
void deliver(TranslationJob& job, JobResult result) {
  try {
    job.on_done(std::move(result));
  } catch (...) {
  }
}

}  // namespace

std::vector<std::string> unique_alternatives(const std::string& translation, std::vector<std::string> candidates) {
  std::vector<std::string> kept;
  for (std::string& candidate : candidates) {
    if (candidate.empty() || candidate == translation || std::find(kept.begin(), kept.end(), candidate) != kept.end())
      continue;
    kept.push_back(std::move(candidate));
  }
  return kept;
}

TranslationService::TranslationService(const Translator& translator, ServiceOptions options, ServerMetrics* metrics)
    : translator_(translator),
      metrics_(metrics),
      translate_batch_(std::move(options.translate_batch)),
      queue_(options.batching) {
  const int workers = std::max(1, options.workers);
  workers_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

TranslationService::~TranslationService() { shutdown(); }

void TranslationService::shutdown() {
  std::call_once(shutdown_once_, [this] {
    queue_.close();
    for (std::thread& worker : workers_) worker.join();
  });
}

TranslationService::Submitted TranslationService::submit(std::vector<std::string> texts,
                                                         std::shared_ptr<const TranslateOptions> options, Done done,
                                                         Partial on_partial) {
  // Cut as translate_text cuts with SplitMode::kAuto (the CLI's default): a text that fits the
  // model is one unit, a longer one its sentences; never cropped, and the same translation. The
  // cut is the public TextUnits (opusrt/text_units.h), not src/text/: the server stays a shell
  // over the library, and translate_texts is built on the same type, so the two cannot drift.
  TextUnits split(translator_, texts, *options, SplitMode::kAuto);
  texts.clear();
  const size_t alternatives = static_cast<size_t>(std::max(options->num_return_sequences.value_or(1), 1) - 1);
  auto state = std::make_shared<RequestState>(std::move(split), alternatives, translator_.model_info().eos_token_id,
                                              std::move(done), std::move(on_partial));
  const std::vector<TextUnits::Unit>& units = state->split().units();
  if (units.empty()) {
    state->complete();
    return {BatchingQueue::Push::kAccepted, 0};
  }
  // A forced target prefix belongs to a text's first unit only. The other units get options
  // without it (equal for every such unit, so they batch together).
  std::shared_ptr<const TranslateOptions> later_units = options;
  if (!options->target_prefix.empty() || !options->target_prefix_ids.empty())
    later_units = std::make_shared<const TranslateOptions>(TextUnits::unit_options(*options, TextUnits::Unit{}));
  const uint64_t request = next_request_++;
  std::vector<TranslationJob> jobs;
  jobs.reserve(units.size());
  for (size_t u = 0; u < units.size(); ++u) {
    TranslationJob job;
    job.text = units[u].source;
    job.request = request;
    job.options = units[u].first ? options : later_units;
    if (state->streaming())
      job.on_partial = [state, u](int64_t token, std::string_view partial) { return state->on_token(u, token, partial); };
    job.on_done = [state, u](JobResult result) { state->finish(u, std::move(result)); };
    jobs.push_back(std::move(job));
  }
  const BatchingQueue::Push pushed = queue_.push(std::move(jobs));
  if (metrics_) metrics_->set_queue_depth(queue_.depth());
  return {pushed, units.size()};
}

void TranslationService::work() {
  while (true) {
    std::vector<TranslationJob> batch = queue_.pop_batch();
    if (batch.empty()) return;  // closed and drained
    if (metrics_) metrics_->set_queue_depth(queue_.depth());
    run_batch(batch);
  }
}

void TranslationService::run_batch(std::vector<TranslationJob>& batch) {
  std::vector<std::string> texts;
  texts.reserve(batch.size());
  for (const TranslationJob& job : batch) texts.push_back(job.text);
  const bool streaming =
      std::any_of(batch.begin(), batch.end(), [](const TranslationJob& job) { return bool(job.on_partial); });
  TokenCallback on_token;
  if (streaming) {
    on_token = [&batch](size_t index, int64_t token, std::string_view partial) {
      return index >= batch.size() || !batch[index].on_partial || batch[index].on_partial(token, partial);
    };
  }

  const auto start = Clock::now();
  std::vector<JobResult> results(batch.size());
  try {
    const TranslateOptions& options = *batch.front().options;
    std::vector<Translation> translations = translate_batch_ ? translate_batch_(translator_, texts, options, on_token)
                                                             : translator_.translate_batch(texts, options, on_token);
    if (translations.size() != batch.size())
      throw std::runtime_error(std::to_string(translations.size()) + " translations for a batch of " +
                               std::to_string(batch.size()));
    size_t tokens = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      Translation& translation = translations[i];
      if (!translation.ok()) {
        // A unit's own problem fails that unit (and so its text) only.
        results[i] = failure(400, translation.error);
        continue;
      }
      tokens += translation.output_ids.empty() ? 0 : translation.output_ids.size() - 1;
      results[i].translation = std::move(translation);
    }
    if (metrics_) {
      std::vector<uint64_t> requests;
      for (const TranslationJob& job : batch) requests.push_back(job.request);
      std::sort(requests.begin(), requests.end());
      const size_t distinct = static_cast<size_t>(std::unique(requests.begin(), requests.end()) - requests.begin());
      metrics_->record_batch(batch.size(), distinct, tokens,
                             std::chrono::duration<double>(Clock::now() - start).count());
    }
  } catch (const Error& e) {
    // Options wrong for every unit of the batch (all of its jobs share them).
    for (JobResult& result : results) result = failure(400, e.what());
  } catch (const std::exception& e) {
    for (JobResult& result : results) result = failure(500, std::string("internal error: ") + e.what());
  } catch (...) {
    for (JobResult& result : results) result = failure(500, "internal error");
  }
  for (size_t i = 0; i < batch.size(); ++i) deliver(batch[i], std::move(results[i]));
}

}  // namespace opusrt::server
