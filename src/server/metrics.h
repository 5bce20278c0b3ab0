#pragma once

// The server's Prometheus metrics (prometheus-cpp's registry and text format; GET /metrics is
// served by the HTTP server itself, not by prometheus-cpp's exposer).
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace opusrt::server {

class ServerMetrics {
 public:
  ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // One HTTP response. `handler` is the route ("/translate", ...; anything else counts as "other").
  void record_request(std::string_view handler, int status, double seconds);
  // One translate_batch call: its units (sentences, or whole texts that fit the model), how many
  // requests they came from, generated tokens and wall time.
  void record_batch(size_t units, size_t requests, size_t tokens, double seconds);
  void set_queue_depth(size_t depth);
  void add_in_flight(int delta);
  void set_live_streams(size_t open);

  // The Prometheus text exposition format (version 0.0.4).
  std::string serialize();

  // The window opusrt_generated_tokens_per_second averages over.
  static constexpr std::chrono::seconds kRateWindow{10};

 private:
  void refresh_rate();

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& tokens_;
  prometheus::Counter& sentences_;
  prometheus::Counter& batches_;
  prometheus::Gauge& tokens_per_second_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& batch_requests_;
  prometheus::Histogram& batch_seconds_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& live_streams_;

  std::mutex window_mutex_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, size_t>> window_;  // (batch end, tokens)
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace opusrt::server
