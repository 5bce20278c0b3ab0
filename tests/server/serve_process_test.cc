// `opusrt serve` as a real process: flags, startup errors, and SIGTERM draining the request in
// flight before a clean exit 0.
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <optional>

#include "server/server_test_util.h"

extern char** environ;

namespace opusrt::server::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The CLI with stdout and stderr in temporary files.
class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    static int counter = 0;
    const std::string base = (fs::temp_directory_path() / ("opusrt-serve-" + std::to_string(::getpid()) + "-" +
                                                           std::to_string(counter++)))
                                 .string();
    out_ = base + ".out";
    err_ = base + ".err";
    args.insert(args.begin(), opusrt::test::env_path("OPUSRT_CLI").string());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(error, 0) << "cannot start " << argv[0];
    if (error != 0) pid_ = -1;
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove(out_);
    fs::remove(err_);
  }

  // The port of the "listening on http://127.0.0.1:PORT" line, or nullopt when the process
  // exited first. No deadline: loading a model under the sanitizers takes a while.
  std::optional<int> wait_for_port() {
    const std::string marker = "listening on http://127.0.0.1:";
    while (true) {
      const std::string out = slurp(out_);
      const size_t at = out.find(marker);
      if (at != std::string::npos && out.find('\n', at) != std::string::npos)
        return std::stoi(out.substr(at + marker.size()));
      if (exited()) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    status_ = status;
    return true;
  }

  void signal(int signal) const { kill(pid_, signal); }

  // The exit code (128 + signal when killed).
  int wait() {
    if (pid_ > 0) {
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string out_, err_;
};

httplib::Client client(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(60));
  client.set_read_timeout(std::chrono::minutes(10));
  return client;
}

// opusrt_http_requests_in_flight from /metrics.
double in_flight(int port) {
  httplib::Client metrics = client(port);
  const httplib::Result response = metrics.Get("/metrics");
  if (!response) return -1;
  const std::string marker = "\nopusrt_http_requests_in_flight ";
  const size_t at = response->body.find(marker);
  return at == std::string::npos ? -1 : std::stod(response->body.substr(at + marker.size()));
}

TEST(ServerProcess, HelpListsTheServeFlags) {
  Process help({"serve", "--help"});
  EXPECT_EQ(help.wait(), 0);
  for (const char* flag : {"--model", "--host", "--port", "--workers", "--max-batch", "--batch-wait-ms", "--max-chars",
                           "--api-keys", "--queue-size", "--threads", "--no-web", "--variant"})
    EXPECT_NE(help.out().find(flag), std::string::npos) << flag << "\n" << help.out();
}

TEST(ServerProcess, PageAtRootAndNoWebTurnsItOff) {
  for (const bool web : {true, false}) {
    std::vector<std::string> args = {"serve", "--model", opusrt::test::tiny_model_dir().string(), "--port", "0"};
    if (!web) args.push_back("--no-web");
    Process server(args);
    const std::optional<int> port = server.wait_for_port();
    ASSERT_TRUE(port) << server.err();
    EXPECT_NE(server.out().find(web ? "web page at /" : "no web page"), std::string::npos) << server.out();
    httplib::Client http = client(*port);
    const httplib::Result page = http.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, web ? 200 : 404);
    if (web) {
      EXPECT_NE(page->body.find("<title>opusrt"), std::string::npos);
    }
    EXPECT_EQ(http.Get("/languages")->status, 200);
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(), 0) << server.err();
  }
}

// --variant serves another set of graphs: here a directory that has only the quantized ones.
TEST(ServerProcess, VariantPicksTheGraphsServed) {
  const fs::path dir = fs::temp_directory_path() / ("opusrt-serve-variant-" + std::to_string(::getpid()));
  opusrt::test::copy_with_only_variant(opusrt::test::tiny_model_dir(), dir, "quantized");
  Process fp32({"serve", "--model", dir.string(), "--port", "0"});
  EXPECT_EQ(fp32.wait(), 1);
  EXPECT_NE(fp32.err().find("encoder_model.onnx"), std::string::npos) << fp32.err();

  Process server({"serve", "--model", dir.string(), "--variant", "quantized", "--port", "0", "--max-new-tokens",
                  std::to_string(kMaxNewTokens)});
  const std::optional<int> port = server.wait_for_port();
  ASSERT_TRUE(port) << server.err();
  EXPECT_NE(server.out().find("variant quantized"), std::string::npos) << server.out();
  httplib::Client http = client(*port);
  const httplib::Result response = http.Post("/translate", json{{"q", "Open the file."}}.dump(), "application/json");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_TRUE(json::parse(response->body)["translatedText"].is_string()) << response->body;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.err();
  fs::remove_all(dir);
}

TEST(ServerProcess, StartupErrorsExitNonZeroWithOneMessage) {
  Process missing_model({"serve", "--model", "/nonexistent/model", "--port", "0"});
  EXPECT_EQ(missing_model.wait(), 1);
  EXPECT_NE(missing_model.err().find("/nonexistent/model"), std::string::npos) << missing_model.err();

  const fs::path keys = fs::temp_directory_path() / ("opusrt-empty-keys-" + std::to_string(::getpid()));
  std::ofstream(keys) << "# no keys here\n\n";
  Process no_keys({"serve", "--model", opusrt::test::tiny_model_dir().string(), "--port", "0", "--api-keys", keys.string()});
  EXPECT_EQ(no_keys.wait(), 1);
  EXPECT_NE(no_keys.err().find("no API key"), std::string::npos) << no_keys.err();
  fs::remove(keys);

  Process bad_flag({"serve", "--model", opusrt::test::tiny_model_dir().string(), "--max-batch", "0"});
  EXPECT_NE(bad_flag.wait(), 0);
}

TEST(ServerProcess, ServesTranslationsWithApiKeysAndExitsZeroOnSigint) {
  const fs::path keys = fs::temp_directory_path() / ("opusrt-keys-" + std::to_string(::getpid()));
  std::ofstream(keys) << "# comment\n  secret-key  \n\nother\n";
  Process server({"serve", "--model", opusrt::test::tiny_model_dir().string(), "--port", "0", "--max-new-tokens",
                  std::to_string(kMaxNewTokens), "--api-keys", keys.string()});
  const std::optional<int> port = server.wait_for_port();
  ASSERT_TRUE(port) << server.err();
  httplib::Client http = client(*port);
  const std::string text = "How much does this cost?";
  const httplib::Result forbidden = http.Post("/translate", json{{"q", text}}.dump(), "application/json");
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);
  const httplib::Result ok =
      http.Post("/translate", json{{"q", text}, {"api_key", "secret-key"}}.dump(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["translatedText"], tiny_translator().translate(text, reference_options()).text);
  server.signal(SIGINT);
  EXPECT_EQ(server.wait(), 0) << server.err();
  EXPECT_NE(server.out().find("stopped"), std::string::npos) << server.out();
  fs::remove(keys);
}

TEST(ServerProcess, SigtermDrainsTheRequestInFlightThenExitsZero) {
  // A request that takes a while (several batches of long outputs with 5 beams), so that it is
  // still running when SIGTERM arrives; the test does not depend on it (see caught_in_flight).
  const std::vector<std::string> sentences = corpus_sentences(8);
  Process server({"serve", "--model", opusrt::test::tiny_model_dir().string(), "--port", "0", "--workers", "1",
                  "--max-batch", "2", "--max-new-tokens", "64"});
  const std::optional<int> port = server.wait_for_port();
  ASSERT_TRUE(port) << server.err();

  std::promise<httplib::Result> result_promise;
  std::future<httplib::Result> result = result_promise.get_future();
  std::thread request([&] {
    httplib::Client http = client(*port);
    result_promise.set_value(
        http.Post("/translate", json{{"q", sentences}, {"alternatives", 4}}.dump(), "application/json"));
  });
  // Wait until the server counts the request as in flight (it cannot finish before that).
  while (in_flight(*port) < 1 && result.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool caught_in_flight = result.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  server.signal(SIGTERM);
  request.join();
  const httplib::Result response = result.get();
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200) << response->body;
  const json body = json::parse(response->body);
  ASSERT_EQ(body["translatedText"].size(), sentences.size());
  ASSERT_EQ(body["alternatives"].size(), sentences.size());
  for (const json& alternatives : body["alternatives"]) EXPECT_EQ(alternatives.size(), 4u);
  EXPECT_EQ(server.wait(), 0) << server.err();
  const std::string out = server.out();
  EXPECT_NE(out.find("SIGTERM: draining"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped"), std::string::npos) << out;
  if (!caught_in_flight) std::cerr << "note: the request finished before SIGTERM; the drain had nothing to wait for\n";
  // Nothing listens any more.
  httplib::Client after = client(*port);
  after.set_connection_timeout(std::chrono::seconds(5));
  EXPECT_FALSE(after.Get("/health"));
}

}  // namespace
}  // namespace opusrt::server::testing
