#pragma once

// `opusrt serve`: load the model, start the workers and the HTTP server, run until SIGTERM or
// SIGINT, then drain (new requests get 503, the ones in flight finish, the queue empties) and
// return 0.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "opusrt/translator.h"

namespace opusrt::server {

struct ServeConfig {
  std::filesystem::path model;
  std::string host = "127.0.0.1";
  int port = 5000;                  // 0: any free port (printed on the "listening on" line)
  int workers = 2;                  // translation workers, each one translate_batch call at a time
  size_t max_batch = 16;            // sentences per batch; 1 turns dynamic batching off
  int batch_wait_ms = 5;            // how long a sentence waits for others to join its batch
  size_t max_chars = 10000;         // characters per request (413 above)
  std::string api_keys_file;        // one key per line; empty: no key needed
  size_t queue_size = 1024;         // sentences waiting; a request that does not fit gets 429
  size_t http_threads = 64;         // connections served at once
  int threads = 0;                  // ONNX Runtime intra-op threads (0: its default)
  DecoderMode decoder = DecoderMode::kAuto;
  std::string variant;              // graph variant (TranslatorConfig::variant): "", quantized, q4, ...
  std::optional<int64_t> max_new_tokens;  // server-wide cap (default: the model's max_length)
  std::chrono::seconds drain_timeout{60};  // how long SIGTERM waits for requests in flight
  // Live speech over WebSocket (ws://host:stream_port/v1/stream, src/server/stream_server.h);
  // 0: a free port (printed in the log); -1: off. Greedy LocalAgreement-2 sessions with the
  // server's max_new_tokens.
  int stream_port = -1;
  bool web = true;                  // the translation page at / (--no-web turns it off)
};

// Blocks until SIGTERM / SIGINT (which it blocks in the calling thread and every thread it
// starts). Startup problems (model, port, keys file) throw opusrt::Error before anything is
// served. Progress lines go to `log`. Returns the process exit code.
int serve(const ServeConfig& config, std::ostream& log);

}  // namespace opusrt::server
