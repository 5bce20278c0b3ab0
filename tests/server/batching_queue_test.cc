// BatchingQueue: which sentences share a translate_batch call. No model, no timing asserts: a
// batch that must not wait is tested with an hour-long max_wait.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "server/batching_queue.h"

namespace opusrt::server {
namespace {

using namespace std::chrono_literals;

TranslationJob job(std::string text, std::string key) {
  TranslationJob j;
  j.text = std::move(text);
  // A new options object per job: jobs batch together when their options are equal in value.
  auto options = std::make_shared<TranslateOptions>();
  options->target_lang = std::move(key);
  j.options = std::move(options);
  j.on_done = [](JobResult) {};
  return j;
}

std::vector<TranslationJob> jobs(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<TranslationJob> out;
  for (const auto& [text, key] : list) out.push_back(job(text, key));
  return out;
}

std::vector<std::string> texts(const std::vector<TranslationJob>& batch) {
  std::vector<std::string> out;
  for (const TranslationJob& j : batch) out.push_back(j.text);
  return out;
}

TEST(ServerQueue, FullBatchIsTakenWithoutWaiting) {
  BatchingQueue queue({4, std::chrono::hours(1), 100});
  ASSERT_EQ(queue.push(jobs({{"a", "k"}, {"b", "k"}, {"c", "k"}, {"d", "k"}, {"e", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(queue.depth(), 5u);
  EXPECT_EQ(texts(queue.pop_batch()), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(queue.depth(), 1u);
}

TEST(ServerQueue, SameKeyOnlyInArrivalOrder) {
  BatchingQueue queue({16, 0us, 100});
  ASSERT_EQ(queue.push(jobs({{"a1", "A"}, {"b1", "B"}, {"a2", "A"}, {"b2", "B"}, {"a3", "A"}})),
            BatchingQueue::Push::kAccepted);
  EXPECT_EQ(texts(queue.pop_batch()), (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(texts(queue.pop_batch()), (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(queue.depth(), 0u);
}

TEST(ServerQueue, MaxBatchCapsEachBatch) {
  BatchingQueue queue({2, 0us, 100});
  ASSERT_EQ(queue.push(jobs({{"1", "k"}, {"2", "k"}, {"3", "k"}, {"4", "k"}, {"5", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(queue.pop_batch().size(), 2u);
  EXPECT_EQ(queue.pop_batch().size(), 2u);
  EXPECT_EQ(queue.pop_batch().size(), 1u);
}

TEST(ServerQueue, MaxBatchOneIsNoBatching) {
  BatchingQueue queue({1, std::chrono::hours(1), 100});
  ASSERT_EQ(queue.push(jobs({{"1", "k"}, {"2", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(texts(queue.pop_batch()), std::vector<std::string>{"1"});
  EXPECT_EQ(texts(queue.pop_batch()), std::vector<std::string>{"2"});
}

TEST(ServerQueue, ALoneSentenceGoesAfterTheWait) {
  BatchingQueue queue({16, 20ms, 100});
  ASSERT_EQ(queue.push(jobs({{"alone", "k"}})), BatchingQueue::Push::kAccepted);
  const auto batch = queue.pop_batch();
  ASSERT_EQ(texts(batch), std::vector<std::string>{"alone"});
  EXPECT_GE(Clock::now() - batch.front().enqueued, 20ms);
}

TEST(ServerQueue, FullQueueRejectsAllOrNothing) {
  BatchingQueue queue({16, std::chrono::hours(1), 3});
  EXPECT_EQ(queue.push(jobs({{"1", "k"}, {"2", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(queue.push(jobs({{"3", "k"}, {"4", "k"}})), BatchingQueue::Push::kFull);
  EXPECT_EQ(queue.depth(), 2u);
  EXPECT_EQ(queue.push(jobs({{"3", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(queue.push(jobs({{"4", "k"}})), BatchingQueue::Push::kFull);
}

// A request with more units than the queue can ever hold is told so, even on an empty queue:
// kFull would have its client retry forever.
TEST(ServerQueue, MoreJobsThanTheCapacityAreTooLargeNotFull) {
  BatchingQueue queue({16, std::chrono::hours(1), 3});
  EXPECT_EQ(queue.push(jobs({{"1", "k"}, {"2", "k"}, {"3", "k"}, {"4", "k"}})), BatchingQueue::Push::kTooLarge);
  EXPECT_EQ(queue.depth(), 0u);
  EXPECT_EQ(queue.push(jobs({{"1", "k"}, {"2", "k"}, {"3", "k"}})), BatchingQueue::Push::kAccepted);
  EXPECT_EQ(queue.push(jobs({{"4", "k"}, {"5", "k"}, {"6", "k"}, {"7", "k"}})), BatchingQueue::Push::kTooLarge);
  EXPECT_EQ(queue.push(jobs({{"4", "k"}})), BatchingQueue::Push::kFull);
}

TEST(ServerQueue, CloseDrainsWithoutWaitingThenReturnsEmpty) {
  BatchingQueue queue({16, std::chrono::hours(1), 100});
  ASSERT_EQ(queue.push(jobs({{"1", "A"}, {"2", "B"}, {"3", "A"}})), BatchingQueue::Push::kAccepted);
  queue.close();
  EXPECT_EQ(queue.push(jobs({{"late", "A"}})), BatchingQueue::Push::kClosed);
  EXPECT_EQ(texts(queue.pop_batch()), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(texts(queue.pop_batch()), std::vector<std::string>{"2"});
  EXPECT_TRUE(queue.pop_batch().empty());
  EXPECT_TRUE(queue.pop_batch().empty());
}

TEST(ServerQueue, CloseWakesIdleWorkers) {
  BatchingQueue queue({16, 5ms, 100});
  std::vector<std::thread> workers;
  std::atomic<int> returned{0};
  for (int i = 0; i < 3; ++i)
    workers.emplace_back([&] {
      while (!queue.pop_batch().empty()) {
      }
      ++returned;
    });
  queue.close();
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(returned, 3);
}

TEST(ServerQueue, ConcurrentProducersAndWorkersLoseNothing) {
  constexpr int kProducers = 4, kPerProducer = 300, kWorkers = 3;
  BatchingQueue queue({8, 1ms, 100000});
  std::mutex mutex;
  std::multiset<std::string> seen;
  std::atomic<bool> mixed_batch{false}, oversized_batch{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&] {
      while (true) {
        std::vector<TranslationJob> batch = queue.pop_batch();
        if (batch.empty()) return;
        if (batch.size() > 8) oversized_batch = true;
        for (const TranslationJob& j : batch)
          if (*j.options != *batch.front().options) mixed_batch = true;
        std::lock_guard<std::mutex> lock(mutex);
        for (const TranslationJob& j : batch) seen.insert(j.text);
      }
    });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::vector<TranslationJob> request;
        request.push_back(job(std::to_string(p) + ":" + std::to_string(i), "key" + std::to_string(i % 3)));
        ASSERT_EQ(queue.push(std::move(request)), BatchingQueue::Push::kAccepted);
      }
    });
  for (std::thread& producer : producers) producer.join();
  queue.close();
  for (std::thread& worker : workers) worker.join();
  EXPECT_FALSE(mixed_batch);
  EXPECT_FALSE(oversized_batch);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kProducers * kPerProducer));
  for (int p = 0; p < kProducers; ++p)
    for (int i = 0; i < kPerProducer; ++i) EXPECT_EQ(seen.count(std::to_string(p) + ":" + std::to_string(i)), 1u);
}

}  // namespace
}  // namespace opusrt::server
