#include "server/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <ostream>
#include <optional>
#include <string_view>
#include <thread>

#include "server/http_server.h"
#include "server/stream_server.h"
#include "server/language_map.h"
#include "server/metrics.h"
#include "server/translation_service.h"

namespace opusrt::server {
namespace {

// Blocks SIGINT and SIGTERM in this thread and so in every thread started after it (ONNX
// Runtime's, the workers, httplib's): only sigtimedwait() below receives them.
class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
    // A client that hangs up must not kill the server (httplib also sends with MSG_NOSIGNAL).
    ::signal(SIGPIPE, SIG_IGN);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

  // The signal received within `timeout`, or 0.
  int wait(std::chrono::milliseconds timeout) const {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
    const int signal = sigtimedwait(&signals_, nullptr, &ts);
    return signal > 0 ? signal : 0;
  }

 private:
  sigset_t signals_{};
  sigset_t previous_{};
};

}  // namespace

int serve(const ServeConfig& config, std::ostream& log) {
  const SignalBlock signals;

  HttpOptions http_options;
  http_options.max_chars = config.max_chars;
  http_options.http_threads = config.http_threads;
  if (!config.api_keys_file.empty()) http_options.api_keys = load_api_keys(config.api_keys_file);
  http_options.base_options.max_new_tokens = config.max_new_tokens;
  http_options.web = config.web;

  TranslatorConfig translator_config;
  translator_config.decoder = config.decoder;
  translator_config.variant = config.variant;
  translator_config.intra_op_threads = config.threads;
  const Translator translator(config.model, translator_config);
  for (const std::string& warning : translator.model_info().warnings) log << "opusrt serve: warning: " << warning << std::endl;
  http_options.default_num_beams = translator.model_info().default_num_beams;
  const LanguageMap languages = LanguageMap::for_model(translator.model_info());

  ServerMetrics metrics;
  ServiceOptions service_options;
  service_options.workers = config.workers;
  service_options.batching.max_batch = config.max_batch;
  service_options.batching.max_wait = std::chrono::milliseconds(config.batch_wait_ms);
  service_options.batching.capacity = config.queue_size;
  TranslationService service(translator, service_options, &metrics);
  HttpServer http(service, languages, metrics, http_options);
  const int port = http.bind(config.host, config.port);

  std::optional<StreamServer> streams;
  std::thread stream_thread;
  if (config.stream_port >= 0) {
    StreamServerOptions stream_options;
    stream_options.incremental.translate.num_beams = 1;
    stream_options.incremental.translate.max_new_tokens = config.max_new_tokens;
    stream_options.on_open_connections = [&metrics](size_t open) { metrics.set_live_streams(open); };
    stream_options.api_keys = http_options.api_keys;
    stream_options.resolve_target = [&languages](std::string_view target) { return languages.target_lang(target); };
    streams.emplace(translator, stream_options);
    const int stream_port = streams->bind(config.host, config.stream_port);
    stream_thread = std::thread([&] { streams->run(); });
    log << "opusrt serve: live speech on ws://" << config.host << ":" << stream_port << "/v1/stream" << std::endl;
  }

  std::atomic<bool> http_returned{false};
  std::thread http_thread([&] {
    http.run();
    http_returned = true;
  });
  log << "opusrt serve: listening on http://" << config.host << ":" << port << " (model " << config.model.string()
      << (config.variant.empty() ? "" : ", variant " + config.variant) << ", " << service_options.workers << " workers, max batch " << config.max_batch << ", batch wait "
      << config.batch_wait_ms << " ms" << (http_options.api_keys.empty() ? "" : ", API keys required")
      << (config.web ? ", web page at /" : ", no web page") << ")"
      << std::endl;

  int signal = 0;
  while (!http_returned && signal == 0) signal = signals.wait(std::chrono::milliseconds(200));
  if (signal != 0) {
    log << "opusrt serve: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << ": draining " << http.in_flight()
        << " request(s) in flight, " << service.queue_depth() << " sentence(s) queued" << std::endl;
  }
  http.begin_drain();
  const bool idle = http.wait_idle(config.drain_timeout);
  if (!idle) log << "opusrt serve: " << http.in_flight() << " request(s) still in flight after the drain timeout" << std::endl;
  if (streams) {
    streams->stop();  // open streams are closed (going away); their sessions are freed
    stream_thread.join();
  }
  http.stop();
  http_thread.join();
  service.shutdown();
  if (signal == 0) {
    log << "opusrt serve: the HTTP server stopped unexpectedly" << std::endl;
    return 1;
  }
  log << "opusrt serve: stopped" << std::endl;
  return 0;
}

}  // namespace opusrt::server
