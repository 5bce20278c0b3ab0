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

size_t BatchingQueue::count_key(const std::string& key) const {
  size_t count = 0;
  for (const TranslationJob& job : pending_) {
    if (job.batch_key == key && ++count >= options_.max_batch) break;
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
    const std::string key = pending_.front().batch_key;
    const Clock::time_point deadline =
        pending_.front().enqueued + std::chrono::duration_cast<Clock::duration>(options_.max_wait);
    if (closed_ || count_key(key) >= options_.max_batch || Clock::now() >= deadline) {
      std::vector<TranslationJob> batch;
      std::deque<TranslationJob> rest;
      for (TranslationJob& job : pending_) {
        if (batch.size() < options_.max_batch && job.batch_key == key) {
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
