#include "server/model_turns.h"

#include <algorithm>

namespace opusrt::server {

ModelTurns::ModelTurns(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

ModelTurns::Turn ModelTurns::take() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t ticket = tickets_++;
  // Tickets are admitted strictly in order, each once fewer than `capacity_` turns are out.
  turn_freed_.wait(lock, [&] { return ticket == admitted_ && admitted_ - returned_ < capacity_; });
  ++admitted_;
  lock.unlock();
  turn_freed_.notify_all();  // the next ticket may fit too (capacity > 1)
  return Turn(this);
}

void ModelTurns::give_back() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++returned_;
  }
  turn_freed_.notify_all();
}

void ModelTurns::Turn::release() {
  if (turns_ == nullptr) return;
  turns_->give_back();
  turns_ = nullptr;
}

size_t ModelTurns::holding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(admitted_ - returned_);
}

size_t ModelTurns::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(tickets_ - admitted_);
}

}  // namespace opusrt::server
