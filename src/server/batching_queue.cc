#include "server/batching_queue.h"

#include <algorithm>

namespace opusrt::server {

namespace {
BatchingOptions checked(BatchingOptions options) {
  options.max_batch = std::max<size_t>(options.max_batch, 1);
  return options;
}
}  // namespace

BatchingQueue::BatchingQueue(BatchingOptions options) : options_(checked(options)) {}

BatchingQueue::Push BatchingQueue::push(std::vector<TranslationJob> jobs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Push::kClosed;
    if (jobs.size() > options_.capacity) return Push::kTooLarge;
    if (pending_.size() + jobs.size() > options_.capacity) return Push::kFull;
    const Clock::time_point now = Clock::now();
    for (TranslationJob& job : jobs) {
      job.enqueued = now;
      pending_.push_back(std::move(job));
    }
  }
  changed_.notify_all();
  return Push::kAccepted;
}

namespace {

bool same_options(const TranslationJob& a, const TranslationJob& b) {
  return a.options == b.options || (a.options && b.options && *a.options == *b.options);
}

}  // namespace

size_t BatchingQueue::count_batchable(const TranslationJob& first) const {
  size_t count = 0;
  for (const TranslationJob& job : pending_) {
    if (same_options(job, first) && ++count >= options_.max_batch) break;
  }
  return count;
}

std::vector<TranslationJob> BatchingQueue::pop_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (pending_.empty()) {
      if (closed_) return {};
      changed_.wait(lock);
      continue;
    }
    const TranslationJob& first = pending_.front();
    const Clock::time_point deadline =
        first.enqueued + std::chrono::duration_cast<Clock::duration>(options_.max_wait);
    if (closed_ || count_batchable(first) >= options_.max_batch || Clock::now() >= deadline) {
      std::vector<TranslationJob> batch;
      std::deque<TranslationJob> rest;
      const std::shared_ptr<const TranslateOptions> options = first.options;
      for (TranslationJob& job : pending_) {
        const bool batchable = job.options == options || (job.options && options && *job.options == *options);
        if (batch.size() < options_.max_batch && batchable) {
          batch.push_back(std::move(job));
        } else {
          rest.push_back(std::move(job));
        }
      }
      pending_.swap(rest);
      const bool more = !pending_.empty();
      lock.unlock();
      if (more) changed_.notify_all();  // another worker may take the next key now
      return batch;
    }
    changed_.wait_until(lock, deadline);
  }
}

void BatchingQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

size_t BatchingQueue::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.size();
}

}  // namespace opusrt::server
