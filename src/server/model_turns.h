#pragma once

// First come, first served turns at the model for live-speech updates: at most `capacity`
// updates run at once, the others wait in the order they asked.
//
//   ModelTurns turns(1);
//   {
//     ModelTurns::Turn turn = turns.take();   // blocks until this caller's turn
//     session.push(partial, final);
//   }                                         // the next waiter goes
//
// Why: every update already runs ONNX Runtime on all the intra-op threads it was given, so on a
// machine with as many cores as one update's threads, two updates at once only take cores from
// each other (and spinning workers from one steal the cores the other's need). Measured with
// bench/live_streams on 2 cores and 2 threads, alternating with updates all at once
// (docs/results/live_streams_turns_ab.json): the p95 latency at 2 streams 231 / 226 ms against
// 237 / 259 ms, at 3 streams 366 / 380 ms against 500 / 483 ms, and the partials skipped at 3
// streams 13 / 15 against 28 / 25 of 225. FIFO rather than a plain
// mutex, whose wake-up order is unspecified: a stream must not wait behind streams that asked
// later. (A counting semaphore with an arrival order; neither the standard library nor Boost has
// a fair one.)
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace opusrt::server {

class ModelTurns {
 public:
  // `capacity`: updates at once, at least 1.
  explicit ModelTurns(size_t capacity);
  ModelTurns(const ModelTurns&) = delete;
  ModelTurns& operator=(const ModelTurns&) = delete;

  class Turn {
   public:
    Turn(Turn&& other) noexcept : turns_(other.turns_) { other.turns_ = nullptr; }
    Turn& operator=(Turn&&) = delete;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn() { release(); }
    // Gives the turn back before the end of the scope. Idempotent.
    void release();

   private:
    friend class ModelTurns;
    explicit Turn(ModelTurns* turns) : turns_(turns) {}
    ModelTurns* turns_;
  };

  // Blocks until fewer than `capacity` earlier turns are held.
  Turn take();

  size_t capacity() const { return capacity_; }
  size_t holding() const;  // turns held now
  size_t waiting() const;  // callers blocked in take()

 private:
  void give_back();

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable turn_freed_;
  uint64_t tickets_ = 0;   // handed out, in arrival order
  uint64_t returned_ = 0;  // turns given back
  uint64_t admitted_ = 0;  // tickets that got their turn (always a prefix of the ticket order)
};

}  // namespace opusrt::server
