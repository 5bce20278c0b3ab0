#pragma once

// Dynamic batching: the units (sentences, or whole short texts) of concurrent requests wait
// here, and each worker takes the ones that can share one Translator::translate_batch call.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/translator.h"

namespace opusrt::server {

using Clock = std::chrono::steady_clock;

// One finished unit: a translation, or an HTTP status with a message.
struct JobResult {
  std::optional<Translation> translation;
  int status = 200;
  std::string error;
};

// One unit to translate.
struct TranslationJob {
  std::string text;
  uint64_t request = 0;  // which request it belongs to (the metrics count requests per batch)
  // Jobs share a batch only when their options are equal (TranslateOptions is a plain value).
  std::shared_ptr<const TranslateOptions> options;
  // Streaming: called from the worker with each new token and the unit decoded so far
  // (optional); returning false (the client left) stops decoding this unit.
  std::function<bool(int64_t token, std::string_view partial)> on_partial;
  // Called exactly once, from a worker thread (or from close() for jobs that never ran).
  std::function<void(JobResult)> on_done;
  Clock::time_point enqueued{};
};

struct BatchingOptions {
  size_t max_batch = 16;                       // units per translate_batch call
  std::chrono::microseconds max_wait{5000};    // how long the oldest unit waits for company
  size_t capacity = 1024;                      // pending units; more is "queue full"
};

class BatchingQueue {
 public:
  explicit BatchingQueue(BatchingOptions options);

  // kTooLarge: more jobs than the capacity, so never admitted (retrying cannot help).
  enum class Push { kAccepted, kFull, kClosed, kTooLarge };
  // All jobs or none (one request's units are admitted together); stamps `enqueued`.
  Push push(std::vector<TranslationJob> jobs);

  // Blocks until a batch is ready, and returns it: the oldest pending job and up to
  // max_batch - 1 later jobs with the same key, in arrival order. A batch is ready when it is
  // full or when its oldest job has waited max_wait. After close(), returns what is left
  // without waiting, then an empty batch once the queue is empty.
  std::vector<TranslationJob> pop_batch();

  // No more pushes; pop_batch() drains the queue and then returns empty batches.
  void close();

  size_t depth() const;  // pending units
  const BatchingOptions& options() const { return options_; }

 private:
  // Pending jobs that may share a batch with `first` (at most max_batch); under mutex_.
  size_t count_batchable(const TranslationJob& first) const;

  const BatchingOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<TranslationJob> pending_;
  bool closed_ = false;
};

}  // namespace opusrt::server
