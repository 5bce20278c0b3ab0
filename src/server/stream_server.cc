#include "server/stream_server.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "opusrt/error.h"
#include "server/model_turns.h"
#include "server/stream_lines.h"

namespace opusrt::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string error_line(const std::string& message) { return json_line({{"error", message}}); }

// %XX and '+' of a URL query value. Written here because Debian 12's Boost (1.74) has no
// Boost.URL and cpp-httplib keeps its decoder in a detail namespace; a bad escape stays as is.
std::string url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The value of `name` in the query of `target` ("/v1/stream?target=zh&api_key=K"), "" when absent.
std::string query_value(std::string_view target, std::string_view name) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return "";
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name) return eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

size_t turns_for(const StreamServerOptions& options, const Translator& translator) {
  if (options.concurrent_updates > 0) return options.concurrent_updates;
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  // ONNX Runtime's default intra-op pool takes every core.
  const int threads = translator.model_info().intra_op_threads;
  const size_t per_update = threads > 0 ? static_cast<size_t>(threads) : cores;
  return std::max<size_t>(1, cores / per_update);
}

}  // namespace

struct StreamServer::Impl {
  const Translator& translator;
  StreamServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::once_flag stop_once;
  mutable std::mutex mutex;
  ModelTurns turns;
  // One per connection; `done` once its serve() has returned, so the next accept joins it (a
  // long-running server must not keep a thread per connection it ever had).
  struct Worker {
    std::thread thread;
    bool done = false;
  };
  std::list<Worker> threads;
  struct Connection {
    tcp::socket* socket;
    Clock::time_point last_activity;
  };
  std::list<Connection> connections;  // open ones: shut down on stop() or when idle too long
  size_t open = 0;
  std::thread watchdog;
  std::condition_variable stop_requested;

  // Asio's blocking reads ignore SO_RCVTIMEO (they poll again), so idle connections are shut
  // down from here.
  void watch_idle() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      stop_requested.wait_for(lock, std::chrono::milliseconds(50));
      const Clock::time_point now = Clock::now();
      for (Connection& c : connections) {
        if (now - c.last_activity > options.idle_timeout) {
          boost::system::error_code ignored;
          c.socket->shutdown(tcp::socket::shutdown_both, ignored);
        }
      }
    }
  }

  void touch(tcp::socket& socket) {
    std::lock_guard<std::mutex> lock(mutex);
    for (Connection& c : connections)
      if (c.socket == &socket) c.last_activity = Clock::now();
  }

  Impl(const Translator& t, StreamServerOptions o) : translator(t), options(std::move(o)), turns(turns_for(options, translator)) {}

  void serve(tcp::socket socket) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) {
        --open;
        opened_or_closed();
        return;
      }
      connections.push_back({&socket, Clock::now()});
    }
    try {
      handle(socket);
    } catch (const std::exception&) {
      // The client left or broke the protocol: nothing to answer; the session is freed below.
    }
    std::lock_guard<std::mutex> lock(mutex);
    connections.remove_if([&](const Connection& c) { return c.socket == &socket; });
    --open;
    opened_or_closed();
    for (Worker& w : threads)
      if (w.thread.get_id() == std::this_thread::get_id()) w.done = true;
  }

  // Under mutex.
  void opened_or_closed() {
    if (options.on_open_connections) options.on_open_connections(open);
  }

  // Under mutex: joins the threads of connections that have ended (they are past their last lock).
  void reap_finished() {
    for (auto it = threads.begin(); it != threads.end();) {
      if (!it->done) {
        ++it;
        continue;
      }
      it->thread.join();
      it = threads.erase(it);
    }
  }

  // Latest wins: messages already here are read now, so that a stale partial is skipped.
  static void read_waiting(websocket::stream<tcp::socket&>& ws, tcp::socket& socket, std::deque<std::string>& waiting) {
    while (socket.available() > 0) {
      beast::flat_buffer message;
      ws.read(message);
      waiting.push_back(beast::buffers_to_string(message.data()));
    }
  }

  void handle(tcp::socket& socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request);
    auto refuse = [&](http::status status, const std::string& body) {
      http::response<http::string_body> response{status, request.version()};
      response.set(http::field::content_type, "application/json");
      response.body() = error_line(body);
      response.prepare_payload();
      http::write(socket, response);
    };
    const std::string_view url(request.target().data(), request.target().size());
    if (url.substr(0, url.find('?')) != "/v1/stream")
      return refuse(http::status::not_found, "not found: the stream is at /v1/stream");
    if (!websocket::is_upgrade(request)) return refuse(http::status::bad_request, "/v1/stream is a WebSocket endpoint");
    if (!options.api_keys.empty()) {  // as /translate: LibreTranslate's api_key, here in the URL
      const std::string key = query_value(url, "api_key");
      if (key.empty()) return refuse(http::status::forbidden, "Missing API key: this server needs an api_key (/v1/stream?api_key=KEY)");
      if (!options.api_keys.contains(key)) return refuse(http::status::forbidden, "Invalid API key");
    }
    std::optional<StreamConnection> stream;
    try {
      stream.emplace(translator, options.incremental, options.resolve_target, query_value(url, "target"));
    } catch (const Error& e) {
      return refuse(http::status::bad_request, e.what());
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (open > options.max_connections) return refuse(http::status::service_unavailable, "too many streams, retry later");
    }

    websocket::stream<tcp::socket&> ws(socket);
    ws.read_message_max(options.max_message_bytes);
    ws.accept(request);
    int64_t skipped = 0;
    Clock::time_point last_run{};
    const auto min_gap = std::chrono::duration<double>(options.max_partials_per_second > 0 ? 1.0 / options.max_partials_per_second : 0.0);
    std::deque<std::string> waiting;
    while (!stopping) {
      if (waiting.empty()) {
        beast::flat_buffer message;
        ws.read(message);  // throws on close, idle shutdown, a too large message
        touch(socket);
        waiting.push_back(beast::buffers_to_string(message.data()));
      }
      read_waiting(ws, socket, waiting);
      const std::string payload = std::move(waiting.front());
      waiting.pop_front();
      StreamMessage m;
      try {
        m = parse_stream_message(payload);
      } catch (const Error& e) {
        ws.text(true);
        ws.write(asio::buffer(error_line(e.what())));
        continue;
      }
      const bool newer_waiting = !waiting.empty();
      if (!m.final && (newer_waiting || (last_run != Clock::time_point{} && Clock::now() - last_run < min_gap))) {
        ++skipped;  // a newer message supersedes it, or it comes too fast
        continue;
      }
      ModelTurns::Turn turn = turns.take();
      read_waiting(ws, socket, waiting);
      if (!m.final && !waiting.empty()) {
        ++skipped;  // superseded while it waited for its turn
        continue;
      }
      std::string line;
      try {
        nlohmann::json out = stream->push(m).line;
        last_run = Clock::now();
        out["skipped"] = skipped;
        line = json_line(out);
      } catch (const Error& e) {
        line = error_line(e.what());
      }
      turn.release();
      ws.text(true);
      ws.write(asio::buffer(line));
    }
    ws.close(websocket::close_code::going_away);
  }
};

StreamServer::StreamServer(const Translator& translator, StreamServerOptions options)
    : impl_(std::make_unique<Impl>(translator, std::move(options))) {}

StreamServer::~StreamServer() { stop(); }

int StreamServer::bind(const std::string& host, int port) {
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    return impl_->acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    throw Error("stream server: cannot listen on " + host + ":" + std::to_string(port) + " (" + e.what() + ")");
  }
}

void StreamServer::run() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (!m.watchdog.joinable() && !m.stopping) m.watchdog = std::thread([&m] { m.watch_idle(); });
  }
  while (!m.stopping) {
    tcp::socket socket(m.io);
    boost::system::error_code error;
    m.acceptor.accept(socket, error);
    if (error) {
      if (m.stopping) break;
      continue;
    }
    std::lock_guard<std::mutex> lock(m.mutex);
    m.reap_finished();
    ++m.open;
    m.opened_or_closed();
    m.threads.push_back({std::thread([&m, s = std::move(socket)]() mutable { m.serve(std::move(s)); }), false});
  }
}

void StreamServer::stop() {
  Impl& m = *impl_;
  std::call_once(m.stop_once, [&] {
    m.stopping = true;
    boost::system::error_code ignored;
    // Wakes the accept() in run(): shutdown of the listening socket makes it fail.
    ::shutdown(m.acceptor.native_handle(), SHUT_RDWR);
    m.acceptor.close(ignored);
    {
      std::lock_guard<std::mutex> lock(m.mutex);
      for (Impl::Connection& c : m.connections) c.socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    m.stop_requested.notify_all();
    if (m.watchdog.joinable()) m.watchdog.join();
    std::list<Impl::Worker> threads;
    {
      std::lock_guard<std::mutex> lock(m.mutex);
      threads.swap(m.threads);
    }
    for (Impl::Worker& worker : threads) worker.thread.join();
  });
}

size_t StreamServer::open_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->open;
}

}  // namespace opusrt::server

namespace opusrt::server {

size_t StreamServer::worker_threads() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->threads.size();
}

}  // namespace opusrt::server
