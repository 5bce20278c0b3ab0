#pragma once

// Live speech over WebSocket (`opusrt serve --stream-port N`, path /v1/stream, with
// ?target=LANG and ?api_key=KEY when needed): one IncrementalSession per connection. The client
// sends text messages in the JSON-line format of `opusrt stream` ({"segment", "text", "final",
// "target"?}: server/stream_lines.h); the server answers each translated partial
// with an update line ({"segment", "seq", "committed", "tentative", "final", "retracted", "ms",
// "skipped"}) and each bad message with {"error": "..."}.
//
//   StreamServer server(translator, options);
//   int port = server.bind("127.0.0.1", 0);
//   std::thread([&] { server.run(); });
//   ...
//   server.stop();  // closes every connection; their sessions are freed
//
// Limits per connection: message size (larger: closed with code 1009), idle timeout (closed with
// 1001), and partials per second: a non-final partial that arrives sooner than 1/rate after the
// last translated one, or while newer messages are already waiting, is skipped (latest wins;
// counted in "skipped"); a final is never skipped. Updates of all connections take turns at the
// model (StreamServerOptions::concurrent_updates); a partial that waited for its turn while a
// newer message arrived is skipped too. Boost.Beast (Debian's libboost-dev) speaks
// the protocol, because cpp-httplib 0.11 has no WebSocket.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "opusrt/incremental.h"
#include "server/stream_lines.h"

namespace opusrt::server {

struct StreamServerOptions {
  IncrementalOptions incremental;                   // policy, beams, target language default
  // When not empty, a connection needs one of these keys in its URL (/v1/stream?api_key=KEY),
  // as /translate does (a 403 refuses the handshake otherwise).
  std::set<std::string> api_keys;
  // A client's target language (the URL's ?target=zh, a message's "target") -> the model's code
  // (server/language_map.h); empty: taken as the model's own code. A bad one: 400 at the
  // handshake, an error line for a message.
  TargetResolver resolve_target;
  size_t max_message_bytes = 64 * 1024;
  double max_partials_per_second = 20;
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 64;                      // more: the handshake is refused (503)
  // Updates that run the model at once, across all connections; the others wait their turn in
  // arrival order (server/model_turns.h: on 2 cores one at a time held more streams). 0: as many
  // as the machine has hardware threads for the translator's intra-op threads each (at least 1).
  size_t concurrent_updates = 0;
  // Called with the number of open connections whenever it changes (e.g. a metrics gauge);
  // from the server's threads, under its lock: keep it quick.
  std::function<void(size_t)> on_open_connections;
};

class StreamServer {
 public:
  // `translator` must outlive the server.
  StreamServer(const Translator& translator, StreamServerOptions options);
  ~StreamServer();  // stop()
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Listens; returns the port (a free one for 0). Throws opusrt::Error naming the address.
  int bind(const std::string& host, int port);
  // Accepts connections until stop(); each runs on a thread of its own.
  void run();
  // Stops accepting, closes every connection, joins their threads. Idempotent.
  void stop();
  size_t open_connections() const;
  // Threads held for connections: the open ones, and ended ones not yet joined (the next
  // accept joins those).
  size_t worker_threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt::server
