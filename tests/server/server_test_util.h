#pragma once

// Helpers of the server tests: the tiny model's Translator (loaded once per process), an
// in-process server on a free loopback port, a worker held still, SSE parsing and corpus sentences.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/translator.h"
#include "server/http_server.h"
#include "server/language_map.h"
#include "server/metrics.h"
#include "server/translation_service.h"
#include "test_env.h"

namespace opusrt::server::testing {

// Every test server caps outputs at this many tokens: the tiny model's random weights otherwise
// run to its 256-token limit, which is slow under the sanitizers.
inline constexpr int64_t kMaxNewTokens = 16;

inline const Translator& tiny_translator() {
  static const Translator translator(opusrt::test::tiny_model_dir());
  return translator;
}

// What the server should answer for `text`: the Translator with the same options.
inline TranslateOptions reference_options(const std::string& target_lang = "", int alternatives = 0) {
  TranslateOptions options;
  options.max_new_tokens = kMaxNewTokens;
  options.target_lang = target_lang;
  if (alternatives > 0) {
    options.num_return_sequences = alternatives + 1;
    options.num_beams = std::max(alternatives + 1, tiny_translator().model_info().default_num_beams);
  }
  return options;
}

inline std::vector<std::string> corpus_sentences(size_t count) {
  std::ifstream in(opusrt::test::env_path("OPUSRT_SOURCE_DIR") / "scripts/fixtures/corpus/en.txt");
  std::vector<std::string> sentences;
  for (std::string line; sentences.size() < count && std::getline(in, line);)
    if (!line.empty()) sentences.push_back(line);
  EXPECT_EQ(sentences.size(), count);
  return sentences;
}

struct TestServerOptions {
  int workers = 2;
  size_t max_batch = 8;
  std::chrono::microseconds batch_wait = std::chrono::milliseconds(5);
  size_t queue_size = 1024;
  size_t max_chars = 10000;
  std::set<std::string> api_keys;
  std::optional<TranslateOptions> base_options;  // default: max_new_tokens kMaxNewTokens
  bool web = true;
  BatchTranslate translate_batch;  // default: the translator's translate_batch
};

// The whole server in this process (no signals): metrics, workers, HTTP on 127.0.0.1:<free port>.
class TestServer {
 public:
  explicit TestServer(const TestServerOptions& options = {})
      : languages_(LanguageMap::for_model(tiny_translator().model_info())),
        service_(tiny_translator(), service_options(options), &metrics_),
        http_(service_, languages_, metrics_, http_options(options)) {
    port_ = http_.bind("127.0.0.1", 0);
    thread_ = std::thread([this] { http_.run(); });
  }
  ~TestServer() {
    http_.begin_drain();
    http_.wait_idle(std::chrono::minutes(5));
    http_.stop();
    thread_.join();
    service_.shutdown();
  }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port_);
    // One connection, one server thread, requests in order: the metrics of a response are
    // recorded before the next request of the same client is read.
    client.set_keep_alive(true);
    client.set_connection_timeout(std::chrono::seconds(60));
    client.set_read_timeout(std::chrono::minutes(10));
    client.set_write_timeout(std::chrono::minutes(1));
    return client;
  }

  int port() const { return port_; }
  HttpServer& http() { return http_; }
  TranslationService& service() { return service_; }

 private:
  static ServiceOptions service_options(const TestServerOptions& options) {
    ServiceOptions service;
    service.workers = options.workers;
    service.batching.max_batch = options.max_batch;
    service.batching.max_wait = options.batch_wait;
    service.batching.capacity = options.queue_size;
    service.translate_batch = options.translate_batch;
    return service;
  }
  static HttpOptions http_options(const TestServerOptions& options) {
    HttpOptions http;
    http.max_chars = options.max_chars;
    http.api_keys = options.api_keys;
    http.web = options.web;
    http.http_threads = 32;
    http.base_options.max_new_tokens = kMaxNewTokens;
    if (options.base_options) http.base_options = *options.base_options;
    http.default_num_beams = tiny_translator().model_info().default_num_beams;
    return http;
  }

  ServerMetrics metrics_;
  LanguageMap languages_;
  TranslationService service_;
  HttpServer http_;
  int port_ = 0;
  std::thread thread_;
};

// Holds the only worker inside translate_batch until release(): a queue that does not move,
// without any timing. The blocking job streams (greedy: on_token runs at every step) and waits
// in its first partial callback.
class WorkerBlocker {
 public:
  explicit WorkerBlocker(TranslationService& service) {
    auto options = std::make_shared<TranslateOptions>();
    options->num_beams = 1;
    options->max_new_tokens = 2;
    auto entered = std::make_shared<std::promise<void>>();
    std::future<void> entered_future = entered->get_future();
    std::shared_future<void> release = release_.get_future().share();
    auto first = std::make_shared<std::atomic<bool>>(true);
    auto done = std::make_shared<std::promise<void>>();
    done_ = done->get_future();
    const auto submitted = service.submit(
        {"Hello world."}, options, [done](std::vector<TextResult>) { done->set_value(); },
        [entered, release, first](size_t, std::string_view) {
          if (first->exchange(false)) {
            entered->set_value();
            release.wait();
          }
          return true;
        });
    EXPECT_EQ(submitted.push, BatchingQueue::Push::kAccepted);
    entered_future.wait();
  }
  ~WorkerBlocker() { release(); }

  void release() {
    if (released_) return;
    released_ = true;
    release_.set_value();
    done_.wait();
  }

 private:
  std::promise<void> release_;
  std::future<void> done_;
  bool released_ = false;
};

// Waits (without a deadline that could fail a slow machine) until `condition` holds.
template <typename Condition>
void wait_until(Condition condition) {
  while (!condition()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

struct SseEvent {
  std::string name;
  nlohmann::json data;
};

// "event: NAME\ndata: JSON\n\n"...
inline std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    const std::string block = body.substr(start, end - start);
    start = end + 2;
    if (block.empty()) continue;
    SseEvent event;
    size_t line_start = 0;
    while (line_start < block.size()) {
      size_t line_end = block.find('\n', line_start);
      if (line_end == std::string::npos) line_end = block.size();
      const std::string line = block.substr(line_start, line_end - line_start);
      if (line.starts_with("event: ")) event.name = line.substr(7);
      if (line.starts_with("data: ")) event.data = nlohmann::json::parse(line.substr(6));
      line_start = line_end + 1;
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace opusrt::server::testing
