#pragma once

// The HTTP face of the server (cpp-httplib): LibreTranslate's POST /translate, POST /detect,
// GET /languages, GET /frontend/settings, the translation page at / (src/server/web/), GET /health,
// GET /metrics and POST /translate/stream (server-sent events). httplib's own thread
// pool reads requests and writes responses, so a slow client holds one HTTP thread, never a
// translation worker.
#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>

#include "opusrt/translator.h"

namespace opusrt::server {

class LanguageMap;
class ServerMetrics;
class TranslationService;

struct HttpOptions {
  size_t max_chars = 10000;         // characters (code points) per request, all of `q`; more is 413
  std::set<std::string> api_keys;   // when not empty, /translate needs one of them (403 otherwise)
  size_t http_threads = 64;         // connections served at once
  TranslateOptions base_options;    // server-wide options (max_new_tokens, ...)
  int default_num_beams = 1;        // the model's; `alternatives` raises it when needed
  bool web = true;                  // serve the translation page at / (false: --no-web, 404)
};

class HttpServer {
 public:
  // Everything passed by reference must outlive the server.
  HttpServer(TranslationService& service, const LanguageMap& languages, ServerMetrics& metrics, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; port 0 picks a free port. Returns the port; throws opusrt::Error.
  int bind(const std::string& host, int port);
  // Serves until stop(); returns once every connection's handler has finished.
  void run();
  // New translation requests get 503 from now on; the ones in flight go on (and so does
  // everything else: /health answers 503 "draining").
  void begin_drain();
  // Waits until no translation request is in flight; false when `timeout` passed first.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Stops accepting connections; run() returns when the handlers running now have finished.
  // Thread-safe, idempotent, and fine before or during run().
  void stop();

  size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The API keys file: one key per line; blank lines and lines starting with '#' are skipped,
// surrounding whitespace is not part of a key. Throws opusrt::Error when the file cannot be read
// or holds no key.
std::set<std::string> load_api_keys(const std::string& path);

}  // namespace opusrt::server
