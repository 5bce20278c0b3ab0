// Live speech over WebSocket (/v1/stream), end to end with a WebSocket client on loopback:
// updates per partial, finals equal offline, bad messages answered, latest wins, limits, and
// sessions freed when a client vanishes mid-segment.
#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/error.h"
#include "server/language_map.h"
#include "server/server_test_util.h"
#include "server/stream_server.h"

namespace opusrt::server::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class RunningStreamServer {
 public:
  explicit RunningStreamServer(StreamServerOptions options = {}) : server_(tiny_translator(), std::move(options)) {
    port_ = server_.bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningStreamServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  StreamServer& server() { return server_; }

 private:
  StreamServer server_;
  int port_ = 0;
  std::thread thread_;
};

class Client {
 public:
  explicit Client(int port, const std::string& path = "/v1/stream") : ws_(io_) {
    tcp::resolver resolver(io_);
    asio::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    ws_.handshake("127.0.0.1", path);
  }
  void send(const nlohmann::json& message) {
    ws_.text(true);
    ws_.write(asio::buffer(message.dump()));
  }
  void send_raw(const std::string& text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
  }
  nlohmann::json receive() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    return nlohmann::json::parse(beast::buffers_to_string(buffer.data()));
  }
  websocket::stream<tcp::socket>& ws() { return ws_; }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
};

std::vector<std::string> word_prefixes(const std::string& text) {
  std::istringstream words(text);
  std::vector<std::string> out;
  std::string word, partial;
  while (words >> word) out.push_back(partial += (partial.empty() ? "" : " ") + word);
  return out;
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 400; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return predicate();
}

TEST(StreamServer, AnswersEveryPartialAndTheFinalEqualsOffline) {
  StreamServerOptions options;
  options.incremental.translate.num_beams = 1;
  options.incremental.translate.max_new_tokens = 30;
  options.max_partials_per_second = 0;  // no rate limit: one update per partial
  RunningStreamServer running(options);
  Client client(running.port());
  for (const std::string text : {"Open the file.", "Save your changes before closing the window."}) {
    std::string committed;
    for (const std::string& partial : word_prefixes(text)) {
      client.send({{"segment", "s"}, {"text", partial}, {"final", false}});
      const nlohmann::json u = client.receive();
      ASSERT_FALSE(u.contains("error")) << u.dump();
      EXPECT_EQ(u["segment"], "s");
      EXPECT_FALSE(u["final"].get<bool>());
      EXPECT_TRUE(u["committed"].get<std::string>().starts_with(committed)) << u.dump();
      committed = u["committed"].get<std::string>();
    }
    client.send({{"segment", "s"}, {"text", text}, {"final", true}});
    const nlohmann::json final = client.receive();
    EXPECT_TRUE(final["final"].get<bool>());
    TranslateOptions offline;
    offline.num_beams = 1;
    offline.max_new_tokens = 30;
    EXPECT_EQ(final["committed"], tiny_translator().translate(text, offline).text);
  }
}

TEST(StreamServer, BadMessagesAreAnsweredAndTheStreamGoesOn) {
  RunningStreamServer running;
  Client client(running.port());
  client.send_raw("not json");
  EXPECT_TRUE(client.receive().contains("error"));
  client.send({{"final", true}});
  EXPECT_TRUE(client.receive().contains("error"));
  client.send({{"text", "caf\xc3\xa9"}, {"final", "yes"}});
  EXPECT_TRUE(client.receive().contains("error"));
  client.send({{"text", "Open the file."}, {"final", true}});
  const nlohmann::json final = client.receive();
  EXPECT_FALSE(final.contains("error")) << final.dump();
  EXPECT_TRUE(final["final"].get<bool>());
}

TEST(StreamServer, LatestWinsSkipsStalePartialsButNeverAFinal) {
  StreamServerOptions options;
  options.incremental.translate.num_beams = 1;
  options.max_partials_per_second = 2;  // at most one translated partial per 500 ms
  RunningStreamServer running(options);
  Client client(running.port());
  const std::string text = "Save your changes before closing the window because the file is open.";
  const std::vector<std::string> partials = word_prefixes(text);
  for (const std::string& partial : partials) client.send({{"text", partial}, {"final", false}});
  client.send({{"text", text}, {"final", true}});
  size_t updates = 0;
  nlohmann::json last;
  do {
    last = client.receive();
    ASSERT_FALSE(last.contains("error")) << last.dump();
    ++updates;
  } while (!last["final"].get<bool>());
  EXPECT_LT(updates, partials.size() + 1);
  EXPECT_GT(last["skipped"].get<int64_t>(), 0);
  EXPECT_EQ(static_cast<size_t>(last["skipped"].get<int64_t>()) + updates, partials.size() + 1);
}

TEST(StreamServer, AClientThatVanishesMidSegmentFreesItsSession) {
  RunningStreamServer running;
  {
    Client client(running.port());
    client.send({{"text", "Open the"}, {"final", false}});
    client.receive();
    EXPECT_EQ(running.server().open_connections(), 1u);
    boost::system::error_code ignored;
    client.ws().next_layer().close(ignored);  // no close frame: the client just disappears
  }
  EXPECT_TRUE(eventually([&] { return running.server().open_connections() == 0; }));
  Client again(running.port());  // the server goes on
  again.send({{"text", "Open the file."}, {"final", true}});
  EXPECT_TRUE(again.receive()["final"].get<bool>());
}

TEST(StreamServer, EndedConnectionsDoNotKeepTheirThreads) {
  std::atomic<size_t> reported{99};
  StreamServerOptions options;
  options.on_open_connections = [&](size_t open) { reported = open; };
  RunningStreamServer running(options);
  for (int i = 0; i < 5; ++i) {
    Client client(running.port());
    client.send({{"text", "Open the file."}, {"final", true}});
    client.receive();
    EXPECT_EQ(reported.load(), 1u);
    boost::system::error_code ignored;
    client.ws().next_layer().close(ignored);
    ASSERT_TRUE(eventually([&] { return running.server().open_connections() == 0; }));
    EXPECT_EQ(reported.load(), 0u);
  }
  // Each accept joins the threads of connections that ended before it: one open connection
  // holds at most itself and nothing of the five before.
  Client last(running.port());
  last.send({{"text", "Open the file."}, {"final", true}});
  last.receive();
  EXPECT_EQ(running.server().worker_threads(), 1u);
}

// The target language: ?target= in the URL (LibreTranslate's codes or the model's, as /translate
// takes them), a message's "target" at the start of a segment; mid-segment a change is an error.
TEST(StreamServer, TargetLanguageFromTheUrlOrAMessageAtASegmentStart) {
  const LanguageMap languages = LanguageMap::for_model(tiny_translator().model_info());
  StreamServerOptions options;
  options.incremental.translate.num_beams = 1;
  options.incremental.translate.max_new_tokens = 20;
  options.max_partials_per_second = 0;
  options.resolve_target = [&languages](std::string_view target) { return languages.target_lang(target); };
  RunningStreamServer running(options);
  const std::string text = "Open the file.";
  const auto offline = [&](const std::string& target_lang) {
    TranslateOptions o;
    o.num_beams = 1;
    o.max_new_tokens = 20;
    o.target_lang = target_lang;
    return tiny_translator().translate(text, o).text;
  };
  ASSERT_NE(offline("cmn_Hans"), offline("cmn_Hant"));  // else this test could not tell them apart
  const auto final_of = [&](Client& client, const nlohmann::json& extra) {
    nlohmann::json message = {{"text", text}, {"final", true}};
    if (extra.is_object()) message.update(extra);
    client.send(message);
    return client.receive();
  };
  Client traditional(running.port(), "/v1/stream?target=zt");
  EXPECT_EQ(final_of(traditional, {})["committed"], offline("cmn_Hant"));
  // A message switches the language at a segment start, and it stays switched.
  EXPECT_EQ(final_of(traditional, {{"target", "zh"}})["committed"], offline("cmn_Hans"));
  EXPECT_EQ(final_of(traditional, {})["committed"], offline("cmn_Hans"));
  // Mid-segment: an error line, and the segment goes on in its language.
  traditional.send({{"text", "Open"}, {"final", false}});
  EXPECT_FALSE(traditional.receive().contains("error"));
  traditional.send({{"text", "Open the"}, {"final", false}, {"target", "zt"}});
  const nlohmann::json refused = traditional.receive();
  ASSERT_TRUE(refused.contains("error")) << refused.dump();
  EXPECT_NE(refused["error"].get<std::string>().find("start of a segment"), std::string::npos) << refused.dump();
  EXPECT_EQ(final_of(traditional, {})["committed"], offline("cmn_Hans"));
  // An unknown language: an error line naming the model's; the handshake refused for the URL's.
  const nlohmann::json unknown = final_of(traditional, {{"target", "fr"}});
  ASSERT_TRUE(unknown.contains("error")) << unknown.dump();
  EXPECT_NE(unknown["error"].get<std::string>().find("zt"), std::string::npos) << unknown.dump();
  EXPECT_THROW(Client(running.port(), "/v1/stream?target=fr"), boost::system::system_error);
  // The model's own codes work too; segments are numbered (as strings) over the connection.
  Client own(running.port(), "/v1/stream?target=cmn_Hant");
  const nlohmann::json first = final_of(own, {});
  EXPECT_EQ(first["committed"], offline("cmn_Hant"));
  EXPECT_EQ(first["segment"], "0");
  EXPECT_EQ(final_of(own, {{"target", "cmn_Hans"}})["segment"], "1");
}

// With API keys (--api-keys), a connection needs one in its URL, as /translate does.
TEST(StreamServer, ApiKeysAreRequiredWhenTheServerHasThem) {
  StreamServerOptions options;
  options.api_keys = {"k1", "k 2"};
  RunningStreamServer running(options);
  EXPECT_THROW(Client(running.port()), boost::system::system_error);
  EXPECT_THROW(Client(running.port(), "/v1/stream?api_key=wrong"), boost::system::system_error);
  for (const char* path : {"/v1/stream?api_key=k1", "/v1/stream?target=&api_key=k%202", "/v1/stream?api_key=k+2"}) {
    Client client(running.port(), path);
    client.send({{"text", "Open the file."}, {"final", true}});
    const nlohmann::json final = client.receive();
    EXPECT_FALSE(final.contains("error")) << path << ": " << final.dump();
  }
  // The refusal says why (read as plain HTTP).
  asio::io_context io;
  tcp::socket socket(io);
  tcp::resolver resolver(io);
  asio::connect(socket, resolver.resolve("127.0.0.1", std::to_string(running.port())));
  beast::http::request<beast::http::empty_body> request{beast::http::verb::get, "/v1/stream", 11};
  request.set(beast::http::field::host, "127.0.0.1");
  request.set(beast::http::field::upgrade, "websocket");
  request.set(beast::http::field::connection, "upgrade");
  request.set(beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(beast::http::field::sec_websocket_version, "13");
  beast::http::write(socket, request);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> response;
  beast::http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 403);
  EXPECT_NE(response.body().find("api_key"), std::string::npos) << response.body();
}

TEST(StreamServer, LimitsCloseTheConnection) {
  StreamServerOptions options;
  options.max_message_bytes = 1024;
  options.idle_timeout = std::chrono::milliseconds(300);
  RunningStreamServer running(options);
  {
    Client client(running.port());
    client.send({{"text", std::string(4096, 'a')}, {"final", false}});
    beast::flat_buffer buffer;
    EXPECT_THROW(client.ws().read(buffer), boost::system::system_error);  // closed: message too big
  }
  {
    Client idle(running.port());
    beast::flat_buffer buffer;
    EXPECT_THROW(idle.ws().read(buffer), boost::system::system_error);  // closed after the idle timeout
  }
  EXPECT_TRUE(eventually([&] { return running.server().open_connections() == 0; }));
  EXPECT_THROW(Client(running.port(), "/elsewhere"), boost::system::system_error);  // 404, no upgrade
}

}  // namespace
}  // namespace opusrt::server::testing
