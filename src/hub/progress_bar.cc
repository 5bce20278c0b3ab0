#include "hub/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace opusrt::hub {

std::string human_bytes(uint64_t bytes) {
  char text[32];
  const double value = static_cast<double>(bytes);
  if (bytes < 1000) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1000 * 1000) {
    std::snprintf(text, sizeof text, "%.1f kB", value / 1e3);
  } else if (bytes < 1000ULL * 1000 * 1000) {
    std::snprintf(text, sizeof text, "%.1f MB", value / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.2f GB", value / 1e9);
  }
  return text;
}

ProgressBar::ProgressBar(bool requested) : enabled_(requested && ::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::start(std::string_view file, uint64_t resumed_from) {
  file_ = std::string(file);
  resumed_from_ = resumed_from;
  drawn_ = false;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done, total);
}

void ProgressBar::finish(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  draw(done, total);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ProgressBar::draw(uint64_t done, uint64_t total) {
  drawn_ = true;
  constexpr int kWidth = 24;
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  std::string bar(kWidth, ' ');
  const int filled = total > 0 ? static_cast<int>(fraction * kWidth + 0.5) : 0;
  for (int i = 0; i < filled && i < kWidth; ++i) bar[i] = '#';
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const uint64_t fresh = done > resumed_from_ ? done - resumed_from_ : 0;
  const std::string rate = seconds > 0.05 ? human_bytes(static_cast<uint64_t>(static_cast<double>(fresh) / seconds)) + "/s" : "";
  std::string name = file_;
  if (name.size() > 36) name = "..." + name.substr(name.size() - 33);
  std::fprintf(stderr, "\r%-36s [%s] %3d%% %s / %s %s\x1b[K", name.c_str(), bar.c_str(),
               static_cast<int>(fraction * 100), human_bytes(done).c_str(),
               total > 0 ? human_bytes(total).c_str() : "?", rate.c_str());
  std::fflush(stderr);
}

}  // namespace opusrt::hub
