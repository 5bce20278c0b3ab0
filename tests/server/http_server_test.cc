// The server in-process on a free loopback port, spoken to over real HTTP with httplib::Client:
// answers equal the Translator's and the CLI's, every error status is JSON, the metrics move,
// streams end with the final text, and a drain lets the request in flight finish.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <random>
#include <sstream>

#include "server/server_test_util.h"

namespace opusrt::server::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json parse_json_body(const httplib::Result& response) {
  if (!response) {
    ADD_FAILURE() << "no response: " << httplib::to_string(response.error());
    return json();
  }
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json") << response->body;
  return json::parse(response->body, nullptr, /*allow_exceptions=*/false);
}

// An error answer: the status and a JSON {"error": "..."} body. Returns the message.
std::string expect_error(const httplib::Result& response, int status) {
  if (!response) {
    ADD_FAILURE() << "no response: " << httplib::to_string(response.error());
    return "";
  }
  EXPECT_EQ(response->status, status) << response->body;
  const json body = parse_json_body(response);
  EXPECT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string()) << response->body;
  return body.is_object() && body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>() : "";
}

httplib::Result post_json(httplib::Client& client, const json& body, const std::string& path = "/translate") {
  return client.Post(path, body.dump(), "application/json");
}

std::string reference_text(const std::string& text, const TranslateOptions& options = reference_options()) {
  if (text.empty()) return "";
  return tiny_translator().translate(text, options).text;
}

// `opusrt translate` on the same inputs, one output line per input line.
std::vector<std::string> cli_translations(const std::vector<std::string>& inputs, const std::vector<std::string>& flags) {
  const fs::path base = fs::temp_directory_path() / ("opusrt-server-cli-" + std::to_string(::getpid()));
  const std::string in = base.string() + ".in", out = base.string() + ".out";
  {
    std::ofstream file(in, std::ios::binary);
    for (const std::string& line : inputs) file << line << "\n";
  }
  std::ostringstream command;
  command << "'" << opusrt::test::env_path("OPUSRT_CLI").string() << "' translate --model '"
          << opusrt::test::tiny_model_dir().string() << "'";
  for (const std::string& flag : flags) command << " " << flag;
  command << " < '" << in << "' > '" << out << "'";
  const int status = std::system(command.str().c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command.str();
  std::vector<std::string> lines;
  std::ifstream file(out, std::ios::binary);
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  fs::remove(in);
  fs::remove(out);
  return lines;
}

TEST(ServerHttp, SixteenConcurrentClientsGetWhatTheTranslatorAndTheCliGive) {
  constexpr int kClients = 16, kRequestsPerClient = 3;
  const std::vector<std::string> sentences = corpus_sentences(kClients * kRequestsPerClient);
  TestServer server;
  std::vector<std::string> answers(sentences.size());
  std::vector<int> statuses(sentences.size(), 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client = server.client();
      for (int k = 0; k < kRequestsPerClient; ++k) {
        const size_t i = static_cast<size_t>(c + k * kClients);
        const httplib::Result response = post_json(client, {{"q", sentences[i]}, {"source", "en"}});
        if (!response) {
          ADD_FAILURE() << "client " << c << " request " << k << ": " << httplib::to_string(response.error());
          continue;
        }
        statuses[i] = response->status;
        const json body = json::parse(response->body, nullptr, false);
        if (body.is_object() && body.contains("translatedText") && body["translatedText"].is_string())
          answers[i] = body["translatedText"];
      }
    });
  }
  for (std::thread& client : clients) client.join();

  const std::vector<std::string> cli = cli_translations(sentences, {"--max-new-tokens", std::to_string(kMaxNewTokens)});
  ASSERT_EQ(cli.size(), sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) {
    EXPECT_EQ(statuses[i], 200) << sentences[i];
    EXPECT_EQ(answers[i], reference_text(sentences[i])) << sentences[i];
    EXPECT_EQ(answers[i], cli[i]) << sentences[i];
  }
}

TEST(ServerHttp, ArrayQKeepsOrderAndEmptyTextsStayEmpty) {
  std::vector<std::string> sentences = corpus_sentences(9);
  sentences.insert(sentences.begin() + 4, "");
  TestServer server;
  httplib::Client client = server.client();
  const json body = parse_json_body(post_json(client, {{"q", sentences}, {"source", "auto"}, {"target", "zh"}}));
  ASSERT_TRUE(body.contains("translatedText")) << body;
  ASSERT_TRUE(body["translatedText"].is_array());
  ASSERT_EQ(body["translatedText"].size(), sentences.size());
  const TranslateOptions options = reference_options("cmn_Hans");
  for (size_t i = 0; i < sentences.size(); ++i)
    EXPECT_EQ(body["translatedText"][i], reference_text(sentences[i], options)) << i;
  EXPECT_EQ(body["translatedText"][4], "");
  EXPECT_FALSE(body.contains("alternatives"));
  ASSERT_TRUE(body["detectedLanguage"].is_array());
  EXPECT_EQ(body["detectedLanguage"][0]["language"], "en");

  const json empty = parse_json_body(post_json(client, {{"q", json::array()}}));
  EXPECT_EQ(empty["translatedText"], json::array());
}

TEST(ServerHttp, AlternativesAreTheNBest) {
  const std::vector<std::string> sentences = corpus_sentences(3);
  TestServer server;
  httplib::Client client = server.client();
  const TranslateOptions options = reference_options("", 2);

  const json one = parse_json_body(post_json(client, {{"q", sentences[0]}, {"alternatives", 2}}));
  const Translation expected = tiny_translator().translate(sentences[0], options);
  ASSERT_EQ(expected.n_best.size(), 3u);
  EXPECT_EQ(one["translatedText"], expected.text);
  EXPECT_EQ(one["alternatives"], json(unique_alternatives(expected.text, {expected.n_best[1].text, expected.n_best[2].text})));

  const json many = parse_json_body(post_json(client, {{"q", sentences}, {"alternatives", 2}}));
  ASSERT_EQ(many["alternatives"].size(), sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) {
    const Translation t = tiny_translator().translate(sentences[i], options);
    EXPECT_EQ(many["translatedText"][i], t.text);
    EXPECT_EQ(many["alternatives"][i], json(unique_alternatives(t.text, {t.n_best[1].text, t.n_best[2].text})));
  }
}

// LibreTranslate's filter_unique: hypotheses that differ in ids can read the same.
TEST(ServerHttp, AlternativesThatReadLikeTheTranslationOrEachOtherAreLeftOut) {
  EXPECT_EQ(unique_alternatives("A", {"B", "A", "C", "B", "", "D"}), (std::vector<std::string>{"B", "C", "D"}));
  EXPECT_TRUE(unique_alternatives("A", {"A", "A"}).empty());
  EXPECT_EQ(unique_alternatives("", {"X"}), (std::vector<std::string>{"X"}));
}

TEST(ServerHttp, TargetPicksTheLanguageToken) {
  const std::string text = "Where is the nearest train station?";
  TestServer server;
  httplib::Client client = server.client();
  EXPECT_EQ(parse_json_body(post_json(client, {{"q", text}, {"target", "zh"}}))["translatedText"],
            reference_text(text, reference_options("cmn_Hans")));
  EXPECT_EQ(parse_json_body(post_json(client, {{"q", text}, {"target", "cmn_Hant"}}))["translatedText"],
            reference_text(text, reference_options("cmn_Hant")));
  EXPECT_EQ(parse_json_body(post_json(client, {{"q", text}, {"target", "zt"}}))["translatedText"],
            reference_text(text, reference_options("cmn_Hant")));
  const std::string error = expect_error(post_json(client, {{"q", text}, {"target", "de"}}), 400);
  EXPECT_NE(error.find("cmn_Hans"), std::string::npos) << error;
}

TEST(ServerHttp, FormAndMultipartBodies) {
  const std::string text = "Good morning, everyone!";
  TestServer server;
  httplib::Client client = server.client();
  const json form = parse_json_body(
      client.Post("/translate", "q=Good+morning%2C+everyone%21&source=en&target=zh", "application/x-www-form-urlencoded"));
  EXPECT_EQ(form["translatedText"], reference_text(text, reference_options("cmn_Hans")));
  const httplib::MultipartFormDataItems items = {{"q", text, "", ""}, {"target", "zh", "", ""}};
  const json multipart = parse_json_body(client.Post("/translate", items));
  EXPECT_EQ(multipart["translatedText"], reference_text(text, reference_options("cmn_Hans")));
}

TEST(ServerHttp, BadRequestsAre400WithJson) {
  TestServer server;
  httplib::Client client = server.client();
  EXPECT_NE(expect_error(client.Post("/translate", "{\"q\": ", "application/json"), 400).find("malformed JSON"),
            std::string::npos);
  EXPECT_NE(expect_error(post_json(client, {{"source", "en"}}), 400).find("missing q"), std::string::npos);
  expect_error(post_json(client, {{"q", 42}}), 400);
  expect_error(post_json(client, {{"q", {"a", 1}}}), 400);
  expect_error(post_json(client, {{"q", "a"}, {"alternatives", -1}}), 400);
  expect_error(post_json(client, {{"q", "a"}, {"alternatives", "many"}}), 400);
  EXPECT_NE(expect_error(post_json(client, {{"q", "<b>a</b>"}, {"format", "xml"}}), 400).find("format"),
            std::string::npos);
  EXPECT_NE(expect_error(client.Post("/translate", "q=caf%C3", "application/x-www-form-urlencoded"), 400).find("UTF-8"),
            std::string::npos);
  expect_error(client.Post("/translate", "{\"q\": \"\xC3\x28\"}", "application/json"), 400);
  expect_error(client.Post("/translate", "<q/>", "application/xml"), 400);
  expect_error(post_json(client, {{"q", {"a", "b"}}}, "/translate/stream"), 400);
}

TEST(ServerHttp, NotFoundAndWrongMethodAreJson) {
  TestServer server;
  httplib::Client client = server.client();
  expect_error(client.Get("/nope"), 404);
  expect_error(client.Get("/translate"), 404);
}

TEST(ServerHttp, TooLargeIs413) {
  TestServerOptions options;
  options.max_chars = 50;
  options.queue_size = 8;
  TestServer server(options);
  httplib::Client client = server.client();
  const std::string fifty(50, 'a');
  EXPECT_EQ(post_json(client, {{"q", fifty}})->status, 200);
  EXPECT_NE(expect_error(post_json(client, {{"q", fifty + "b"}}), 413).find("exceeds text limit"), std::string::npos);
  // Characters, not bytes: 50 CJK characters are 150 bytes and fine.
  std::string cjk;
  for (int i = 0; i < 50; ++i) cjk += "\xE4\xBD\xA0";
  EXPECT_EQ(post_json(client, {{"q", cjk}})->status, 200);
  // The limit counts every text of an array together.
  expect_error(post_json(client, {{"q", {std::string(30, 'a'), std::string(30, 'b')}}}), 413);
  // More texts than the queue can ever hold.
  expect_error(post_json(client, {{"q", std::vector<std::string>(9, "a")}}), 413);
  // A body beyond the payload limit is refused by httplib itself, still as JSON.
  expect_error(client.Post("/translate", std::string(3 << 20, ' '), "application/json"), 413);
}

TEST(ServerHttp, ApiKeysAre403UnlessGiven) {
  TestServerOptions options;
  options.api_keys = {"key-one", "key-two"};
  TestServer server(options);
  httplib::Client client = server.client();
  EXPECT_NE(expect_error(post_json(client, {{"q", "Hello"}}), 403).find("API key"), std::string::npos);
  expect_error(post_json(client, {{"q", "Hello"}, {"api_key", "wrong"}}), 403);
  expect_error(post_json(client, {{"q", "Hello"}, {"api_key", ""}}), 403);
  expect_error(post_json(client, {{"q", "Hello"}}, "/translate/stream"), 403);
  EXPECT_EQ(post_json(client, {{"q", "Hello"}, {"api_key", "key-two"}})->status, 200);
  EXPECT_EQ(client.Post("/translate", "q=Hello&api_key=key-one", "application/x-www-form-urlencoded")->status, 200);
  EXPECT_EQ(post_json(client, {{"q", "Hello"}}, "/translate?api_key=key-one")->status, 200);
  // Malformed bodies are 400 before the key is looked at; the other endpoints need no key.
  expect_error(client.Post("/translate", "{", "application/json"), 400);
  EXPECT_EQ(client.Get("/languages")->status, 200);
  EXPECT_EQ(client.Get("/health")->status, 200);
}

TEST(ServerHttp, FullQueueIs429) {
  TestServerOptions options;
  options.workers = 1;
  options.queue_size = 1;
  TestServer server(options);
  WorkerBlocker blocker(server.service());
  // The worker is busy; one queued sentence fills the queue.
  auto filler_done = std::make_shared<std::promise<void>>();
  auto filler_options = std::make_shared<TranslateOptions>(reference_options());
  ASSERT_EQ(server.service()
                .submit({"Hello"}, filler_options, [filler_done](std::vector<TextResult>) { filler_done->set_value(); })
                .push,
            BatchingQueue::Push::kAccepted);
  httplib::Client client = server.client();
  EXPECT_NE(expect_error(post_json(client, {{"q", "Hello world."}}), 429).find("queue is full"), std::string::npos);
  expect_error(post_json(client, {{"q", "Hello world."}}, "/translate/stream"), 429);
  blocker.release();
  filler_done->get_future().wait();
  EXPECT_EQ(post_json(client, {{"q", "Hello world."}})->status, 200);
}

TEST(ServerHttp, LanguagesHealthAndMetrics) {
  TestServer server;
  httplib::Client client = server.client();
  const json languages = parse_json_body(client.Get("/languages"));
  ASSERT_TRUE(languages.is_array());
  ASSERT_FALSE(languages.empty());
  EXPECT_EQ(languages[0]["code"], "en");
  EXPECT_EQ(languages[0]["name"], "English");
  EXPECT_EQ(languages[0]["targets"].size(), tiny_translator().model_info().language_tokens.size());
  EXPECT_EQ(parse_json_body(client.Get("/health"))["status"], "ok");

  ASSERT_EQ(post_json(client, {{"q", {"Hello world.", "How are you today?"}}})->status, 200);
  ASSERT_EQ(post_json(client, {{"q", 1}})->status, 400);
  const httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(metrics->get_header_value("Content-Type").starts_with("text/plain")) << metrics->get_header_value("Content-Type");
  const std::string& text = metrics->body;
  for (const char* expected :
       {"opusrt_http_requests_total{code=\"200\",handler=\"/translate\"} 1",
        "opusrt_http_requests_total{code=\"400\",handler=\"/translate\"} 1",
        "opusrt_http_requests_total{code=\"200\",handler=\"/languages\"} 1",
        "opusrt_http_request_duration_seconds_bucket{handler=\"/translate\",le=\"+Inf\"} 2",
        "opusrt_http_request_duration_seconds_count{handler=\"/translate\"} 2", "opusrt_generated_tokens_total ",
        "opusrt_generated_tokens_per_second ", "opusrt_translated_sentences_total 2", "opusrt_batch_size_bucket{le=\"1\"}",
        "opusrt_batch_size_count ", "opusrt_queue_depth 0", "opusrt_http_requests_in_flight 0",
        "# TYPE opusrt_http_request_duration_seconds histogram", "# TYPE opusrt_generated_tokens_total counter"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  // Tokens were generated, so the counter and the rate are positive.
  const size_t at = text.find("\nopusrt_generated_tokens_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(text.substr(at + 31)), 0.0);
  const size_t rate = text.find("\nopusrt_generated_tokens_per_second ");
  ASSERT_NE(rate, std::string::npos);
  EXPECT_GT(std::stod(text.substr(rate + 36)), 0.0);
}

TEST(ServerHttp, StreamYieldsPartialsThenTheFinalText) {
  const std::string text = "The weather is nice today.";
  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result response = post_json(client, {{"q", text}, {"target", "zh"}}, "/translate/stream");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<SseEvent> events = parse_sse(response->body);
  ASSERT_GE(events.size(), 2u) << response->body;
  const Translation expected = tiny_translator().translate(text, reference_options("cmn_Hans"));
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i].name, "partial") << response->body;
    EXPECT_TRUE(events[i].data["translatedText"].is_string());
  }
  // One partial per generated token (the beam's best hypothesis, token by token).
  EXPECT_EQ(events.size() - 1, expected.output_ids.size() - 1) << response->body;
  EXPECT_EQ(events.back().name, "final");
  EXPECT_EQ(events.back().data["translatedText"], expected.text);

  // With alternatives the final event carries them too.
  const std::vector<SseEvent> with_alternatives =
      parse_sse(post_json(client, {{"q", text}, {"alternatives", 1}}, "/translate/stream")->body);
  ASSERT_FALSE(with_alternatives.empty());
  EXPECT_EQ(with_alternatives.back().name, "final");
  EXPECT_EQ(with_alternatives.back().data["alternatives"].size(), 1u);
}

// A streaming client that leaves stops the decoding of its text: the worker does not generate
// the rest (greedy, forced to 250 tokens unless stopped).
TEST(ServerHttp, AStreamingClientThatLeavesStopsItsDecoding) {
  TestServerOptions options;
  TranslateOptions forced;
  forced.num_beams = 1;
  forced.max_new_tokens = 250;
  forced.min_new_tokens = 250;
  options.base_options = forced;
  TestServer server(options);
  httplib::Client client = server.client();
  size_t received = 0;
  const std::string body = nlohmann::json({{"q", "The weather is nice today."}, {"target", "zh"}}).dump();
  httplib::Request request;
  request.method = "POST";
  request.path = "/translate/stream";
  request.body = body;
  request.set_header("Content-Type", "application/json");
  request.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
    return ++received < 2;  // leave after the first chunk
  };
  client.send(request);  // ends with an error: the receiver cancelled
  EXPECT_GE(received, 1u);
  // The job ends (stopped) and records its tokens; poll the metrics for it.
  httplib::Client metrics = server.client();
  double tokens = 0;
  for (int attempt = 0; attempt < 600 && tokens == 0; ++attempt) {
    const httplib::Result m = metrics.Get("/metrics");
    ASSERT_TRUE(m);
    const size_t at = m->body.find("\nopusrt_generated_tokens_total ");
    if (at != std::string::npos) tokens = std::stod(m->body.substr(at + 31));
    if (tokens == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(tokens, 0);
  EXPECT_LT(tokens, 250) << "decoding ran on after the client left";
}

TEST(ServerService, APartialCallbackReturningFalseStopsThatTextOnly) {
  TestServer server;
  auto options = std::make_shared<TranslateOptions>();
  options->num_beams = 1;
  options->max_new_tokens = 30;
  options->min_new_tokens = 30;
  auto promise = std::make_shared<std::promise<std::vector<TextResult>>>();
  std::vector<size_t> partials(2, 0);
  std::mutex mutex;
  const auto submitted = server.service().submit(
      {"Open the file.", "Close the window."}, options,
      [promise](std::vector<TextResult> results) { promise->set_value(std::move(results)); },
      [&](size_t index, std::string_view) {
        std::lock_guard<std::mutex> lock(mutex);
        return ++partials[index] < 5 || index == 1;  // text 0's client leaves at its 5th token
      });
  ASSERT_EQ(submitted.push, BatchingQueue::Push::kAccepted);
  EXPECT_EQ(submitted.units, 2u);
  const std::vector<TextResult> results = promise->get_future().get();
  ASSERT_TRUE(results[0].translation && results[1].translation);
  ASSERT_EQ(results[0].translation->units.size(), 1u);
  ASSERT_EQ(results[1].translation->units.size(), 1u);
  EXPECT_TRUE(results[0].translation->units[0].stopped);
  EXPECT_EQ(results[0].translation->units[0].output_ids.size(), 1u + 5u);
  EXPECT_FALSE(results[1].translation->units[0].stopped);
  EXPECT_EQ(results[1].translation->units[0].output_ids.size(), 1u + 30u);
}

TEST(ServerHttp, StreamingAndPlainRequestsShareBatchesCorrectly) {
  // Streams and plain requests with equal options may share a batch: each gets its own text.
  const std::vector<std::string> sentences = corpus_sentences(8);
  TestServerOptions options;
  options.workers = 1;
  options.batch_wait = std::chrono::milliseconds(50);
  TestServer server(options);
  std::vector<std::string> answers(sentences.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < sentences.size(); ++i) {
    clients.emplace_back([&, i] {
      httplib::Client client = server.client();
      if (i % 2 == 0) {
        const httplib::Result response = post_json(client, {{"q", sentences[i]}}, "/translate/stream");
        if (!response) return;
        const std::vector<SseEvent> events = parse_sse(response->body);
        if (!events.empty() && events.back().name == "final") answers[i] = events.back().data["translatedText"];
      } else {
        const httplib::Result response = post_json(client, {{"q", sentences[i]}});
        if (response && response->status == 200) answers[i] = json::parse(response->body)["translatedText"];
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (size_t i = 0; i < sentences.size(); ++i) EXPECT_EQ(answers[i], reference_text(sentences[i])) << i;
}

TEST(ServerHttp, DrainLetsTheRequestInFlightFinishAndRefusesNewOnes) {
  TestServerOptions options;
  options.workers = 1;
  TestServer server(options);
  const std::string text = "Could you tell me the way to the museum, please?";
  WorkerBlocker blocker(server.service());
  std::promise<httplib::Result> in_flight_result;
  std::thread in_flight([&] {
    httplib::Client client = server.client();
    in_flight_result.set_value(post_json(client, {{"q", text}}));
  });
  // The request is queued behind the blocked worker.
  wait_until([&] { return server.http().in_flight() == 1 && server.service().queue_depth() == 1; });
  server.http().begin_drain();
  httplib::Client client = server.client();
  expect_error(post_json(client, {{"q", "Hello"}}), 503);
  const httplib::Result health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body)["status"], "draining");
  blocker.release();
  EXPECT_TRUE(server.http().wait_idle(std::chrono::minutes(5)));
  in_flight.join();
  const httplib::Result result = in_flight_result.get_future().get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body)["translatedText"], reference_text(text));
}

TEST(ServerHttp, MalformedRequestsNeverTakeTheServerDown) {
  TestServer server;
  httplib::Client client = server.client();
  const std::vector<std::string> types = {"application/json", "application/x-www-form-urlencoded", "", "text/plain",
                                          "multipart/form-data; boundary=x", "multipart/form-data"};
  const std::string seed = R"({"q": ["Hello", "world"], "target": "zh", "alternatives": 1})";
  std::mt19937 random(99);
  for (int i = 0; i < 150; ++i) {
    std::string body = seed;
    for (int e = 0; e < 1 + static_cast<int>(random() % 5); ++e) body[random() % body.size()] = static_cast<char>(random() % 256);
    const std::string& type = types[random() % types.size()];
    const httplib::Result response =
        client.Post(i % 3 == 0 ? "/translate/stream" : "/translate", body, type.empty() ? "text/plain" : type);
    ASSERT_TRUE(response) << httplib::to_string(response.error()) << " for " << body;
    if (response->status != 200) {
      const json error = json::parse(response->body, nullptr, false);
      EXPECT_TRUE(error.is_object() && error.contains("error")) << response->status << " " << response->body;
      EXPECT_TRUE(response->status == 400 || response->status == 413) << response->status << " " << response->body;
    }
  }
  // Raw garbage on the socket: httplib answers 400 (or drops it); the server lives on.
  httplib::Client raw = server.client();
  const httplib::Result garbage = raw.Post("/translate", std::string("\0\xFF\xFE{{{{", 7), "application/json");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
  const httplib::Result health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(parse_json_body(health)["status"], "ok") << health->body;
}

}  // namespace
}  // namespace opusrt::server::testing
