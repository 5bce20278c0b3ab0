#include "server/translation_service.h"

#include <algorithm>
#include <mutex>

#include "server/metrics.h"

namespace opusrt::server {
namespace {

// One request's texts: results are collected here until the last one is done.
struct RequestState {
  std::mutex mutex;
  std::vector<JobResult> results;
  size_t remaining = 0;
  TranslationService::Done done;

  void finish(size_t index, JobResult result) {
    TranslationService::Done callback;
    std::vector<JobResult> all;
    {
      std::lock_guard<std::mutex> lock(mutex);
      results[index] = std::move(result);
      if (--remaining != 0) return;
      callback = std::move(done);
      all = std::move(results);
    }
    callback(std::move(all));
  }
};

// on_done must not take a worker down: a callback that throws loses its own result only.
void deliver(TranslationJob& job, JobResult result) {
  try {
    job.on_done(std::move(result));
  } catch (...) {
  }
}

JobResult failure(int status, std::string message) {
  JobResult result;
  result.status = status;
  result.error = std::move(message);
  return result;
}

}  // namespace

TranslationService::TranslationService(const Translator& translator, ServiceOptions options, ServerMetrics* metrics)
    : translator_(translator), metrics_(metrics), queue_(options.batching) {
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

BatchingQueue::Push TranslationService::submit(std::vector<std::string> texts,
                                               std::shared_ptr<const TranslateOptions> options,
                                               Done done, Partial on_partial) {
  auto state = std::make_shared<RequestState>();
  state->results.resize(texts.size());
  state->done = std::move(done);
  std::vector<TranslationJob> jobs;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) {
      state->results[i].translation = Translation{};
      continue;
    }
    TranslationJob job;
    job.text = std::move(texts[i]);
    job.options = options;
    if (on_partial) job.on_partial = [on_partial, i](std::string_view partial) { return on_partial(i, partial); };
    job.on_done = [state, i](JobResult result) { state->finish(i, std::move(result)); };
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) {
    Done callback = std::move(state->done);
    callback(std::move(state->results));
    return BatchingQueue::Push::kAccepted;
  }
  state->remaining = jobs.size();
  const BatchingQueue::Push pushed = queue_.push(std::move(jobs));
  if (metrics_) metrics_->set_queue_depth(queue_.depth());
  return pushed;
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
    on_token = [&batch](size_t index, int64_t, std::string_view partial) {
      return index >= batch.size() || !batch[index].on_partial || batch[index].on_partial(partial);
    };
  }

  const auto start = Clock::now();
  try {
    // A text's own problem (too long, invalid UTF-8) fails that text only.
    std::vector<Translation> translations = translator_.translate_batch(texts, *batch.front().options, on_token);
    if (metrics_) {
      size_t tokens = 0;
      for (const Translation& t : translations) tokens += t.output_ids.empty() ? 0 : t.output_ids.size() - 1;
      metrics_->record_batch(batch.size(), tokens, std::chrono::duration<double>(Clock::now() - start).count());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Translation& translation = translations.at(i);
      if (!translation.ok()) {
        deliver(batch[i], failure(400, translation.error));
        continue;
      }
      JobResult result;
      result.translation = std::move(translation);
      deliver(batch[i], std::move(result));
    }
  } catch (const Error& e) {
    // Options wrong for every text of the batch (all of its jobs share them).
    for (TranslationJob& job : batch) deliver(job, failure(400, e.what()));
  } catch (const std::exception& e) {
    for (TranslationJob& job : batch) deliver(job, failure(500, std::string("internal error: ") + e.what()));
  } catch (...) {
    for (TranslationJob& job : batch) deliver(job, failure(500, "internal error"));
  }
}

}  // namespace opusrt::server
