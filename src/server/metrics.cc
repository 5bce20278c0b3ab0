#include "server/metrics.h"

#include <algorithm>

#include <prometheus/text_serializer.h>

namespace opusrt::server {
namespace {

std::string handler_label(std::string_view handler) {
  for (const char* known : {"/translate", "/translate/stream", "/languages", "/health", "/metrics"})
    if (handler == known) return known;
  return "other";
}

const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10,  30};

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("opusrt_http_requests_total")
                    .Help("HTTP responses by handler and status code")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("opusrt_http_request_duration_seconds")
                   .Help("Time from the request's arrival to the end of its response (streams: the whole stream)")
                   .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("opusrt_http_requests_in_flight")
                     .Help("Translation requests (/translate, /translate/stream) being served")
                     .Register(*registry_)
                     .Add({})),
      tokens_(prometheus::BuildCounter()
                  .Name("opusrt_generated_tokens_total")
                  .Help("Tokens generated (the best hypothesis of each sentence, without the start token)")
                  .Register(*registry_)
                  .Add({})),
      sentences_(prometheus::BuildCounter()
                     .Name("opusrt_translated_sentences_total")
                     .Help("Units translated: sentences, pieces of long sentences, or whole texts that fit the model")
                     .Register(*registry_)
                     .Add({})),
      batches_(prometheus::BuildCounter()
                   .Name("opusrt_batches_total")
                   .Help("translate_batch calls")
                   .Register(*registry_)
                   .Add({})),
      tokens_per_second_(prometheus::BuildGauge()
                             .Name("opusrt_generated_tokens_per_second")
                             .Help("Tokens generated per second over the last 10 seconds")
                             .Register(*registry_)
                             .Add({})),
      batch_size_(prometheus::BuildHistogram()
                      .Name("opusrt_batch_size")
                      .Help("Units per translate_batch call")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128})),
      batch_requests_(prometheus::BuildHistogram()
                          .Name("opusrt_batch_requests")
                          .Help("Requests whose units share one translate_batch call")
                          .Register(*registry_)
                          .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128})),
      batch_seconds_(prometheus::BuildHistogram()
                         .Name("opusrt_batch_duration_seconds")
                         .Help("Wall time of one translate_batch call")
                         .Register(*registry_)
                         .Add({}, kLatencyBuckets)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("opusrt_queue_depth")
                       .Help("Units waiting for a worker")
                       .Register(*registry_)
                       .Add({})),
      live_streams_(prometheus::BuildGauge()
                        .Name("opusrt_live_streams")
                        .Help("Open live-speech WebSocket connections (each holds one incremental session)")
                        .Register(*registry_)
                        .Add({})) {}

void ServerMetrics::record_request(std::string_view handler, int status, double seconds) {
  const std::string label = handler_label(handler);
  requests_.Add({{"handler", label}, {"code", std::to_string(status)}}).Increment();
  latency_.Add({{"handler", label}}, kLatencyBuckets).Observe(std::max(0.0, seconds));
}

void ServerMetrics::record_batch(size_t units, size_t requests, size_t tokens, double seconds) {
  tokens_.Increment(static_cast<double>(tokens));
  sentences_.Increment(static_cast<double>(units));
  batches_.Increment();
  batch_size_.Observe(static_cast<double>(units));
  batch_requests_.Observe(static_cast<double>(requests));
  batch_seconds_.Observe(std::max(0.0, seconds));
  std::lock_guard<std::mutex> lock(window_mutex_);
  window_.emplace_back(std::chrono::steady_clock::now(), tokens);
}

void ServerMetrics::set_queue_depth(size_t depth) { queue_depth_.Set(static_cast<double>(depth)); }

void ServerMetrics::set_live_streams(size_t open) { live_streams_.Set(static_cast<double>(open)); }

void ServerMetrics::add_in_flight(int delta) { in_flight_.Increment(static_cast<double>(delta)); }

void ServerMetrics::refresh_rate() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(window_mutex_);
  while (!window_.empty() && now - window_.front().first > kRateWindow) window_.pop_front();
  size_t tokens = 0;
  for (const auto& [when, count] : window_) tokens += count;
  // Right after start the window is shorter than 10 s.
  const double seconds =
      std::clamp(std::chrono::duration<double>(now - started_).count(), 1.0,
                 std::chrono::duration<double>(kRateWindow).count());
  tokens_per_second_.Set(static_cast<double>(tokens) / seconds);
}

std::string ServerMetrics::serialize() {
  refresh_rate();
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace opusrt::server
