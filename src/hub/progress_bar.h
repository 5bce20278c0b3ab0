#pragma once

// A one-line download progress bar on stderr, drawn only when stderr is a terminal.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace opusrt::hub {

class ProgressBar {
 public:
  explicit ProgressBar(bool requested);  // draws when requested and stderr is a terminal
  void start(std::string_view file, uint64_t resumed_from);
  void update(uint64_t done, uint64_t total);  // redrawn at most 10 times a second
  void finish(uint64_t done, uint64_t total);  // last redraw and a newline

 private:
  void draw(uint64_t done, uint64_t total);
  bool enabled_ = false;
  bool drawn_ = false;
  std::string file_;
  uint64_t resumed_from_ = 0;
  std::chrono::steady_clock::time_point started_, last_draw_;
};

std::string human_bytes(uint64_t bytes);  // "512 B", "1.4 MB", "2.10 GB"

}  // namespace opusrt::hub
