// ModelTurns: live-speech updates take turns at the model in arrival order, at most `capacity`
// at once. No timing is asserted: each waiter is started only once the previous one is seen
// waiting, so the arrival order is known.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/model_turns.h"

namespace opusrt::server {
namespace {

void wait_until(const std::function<bool()>& condition) {
  while (!condition()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(ModelTurns, OneAtATimeInTheOrderAsked) {
  ModelTurns turns(1);
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  {
    ModelTurns::Turn first = turns.take();
    EXPECT_EQ(turns.holding(), 1u);
    for (int i = 1; i <= 5; ++i) {
      waiters.emplace_back([&, i] {
        ModelTurns::Turn turn = turns.take();
        EXPECT_EQ(turns.holding(), 1u);
        std::lock_guard<std::mutex> lock(order_mutex);
        order.push_back(i);
      });
      wait_until([&] { return turns.waiting() == static_cast<size_t>(i); });
    }
    EXPECT_TRUE(order.empty());
  }  // the first turn is given back: the waiters go, one after the other, as they came
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(turns.holding(), 0u);
  EXPECT_EQ(turns.waiting(), 0u);
}

TEST(ModelTurns, NeverMoreThanTheCapacityAtOnce) {
  ModelTurns turns(2);
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        ModelTurns::Turn turn = turns.take();
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(turns.holding(), 0u);
}

TEST(ModelTurns, ReleaseIsIdempotentAndCapacityAtLeastOne) {
  ModelTurns turns(0);
  EXPECT_EQ(turns.capacity(), 1u);
  ModelTurns::Turn turn = turns.take();
  turn.release();
  turn.release();
  EXPECT_EQ(turns.holding(), 0u);
  ModelTurns::Turn moved = turns.take();
  ModelTurns::Turn owner = std::move(moved);  // the moved-from turn gives nothing back
  EXPECT_EQ(turns.holding(), 1u);
  owner.release();
  EXPECT_EQ(turns.holding(), 0u);
  ModelTurns::Turn again = turns.take();  // not blocked: the earlier turns all came back
  EXPECT_EQ(turns.holding(), 1u);
}

}  // namespace
}  // namespace opusrt::server
