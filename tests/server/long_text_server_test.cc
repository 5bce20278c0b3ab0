// Long text in the server (issue 14, item 1): /translate and /translate/stream translate any text
// --max-chars admits, cut as the CLI's --split auto cuts it, with exactly the CLI's translation;
// the units of concurrent requests share batches; a unit's failure fails its text only.
#include <algorithm>
#include <mutex>

#include "cli_runner.h"
#include "opusrt/text_units.h"
#include "server/server_test_util.h"
#include "server/translate_request.h"

namespace opusrt::server::testing {
namespace {

using json = nlohmann::json;

// The corpus lines that are sentences (it also has one-word interface strings).
const std::vector<std::string>& corpus_prose() {
  static const std::vector<std::string> prose = [] {
    std::ifstream in(opusrt::test::env_path("OPUSRT_SOURCE_DIR") / "scripts/fixtures/corpus/en.txt");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (line.size() >= 25) lines.push_back(line);
    EXPECT_GE(lines.size(), 100u);
    return lines;
  }();
  return prose;
}

// One line of prose far longer than the tiny model's max_position_embeddings (256): prose
// sentences from `first` on, and in their middle one run-on sentence of `run_on` sentences
// joined by commas (longer than the model takes by itself, so it is cut at word boundaries).
std::string long_paragraph(size_t first, size_t sentences, size_t run_on = 16) {
  const std::vector<std::string>& prose = corpus_prose();
  auto sentence = [&](size_t i) { return prose[(first + i) % prose.size()]; };
  std::string text;
  auto add = [&](const std::string& piece) {
    if (!text.empty()) text += ' ';
    text += piece;
  };
  for (size_t i = 0; i < sentences / 2; ++i) add(sentence(i));
  std::string long_sentence;
  for (size_t i = sentences; i < sentences + run_on; ++i) {
    std::string clause = sentence(i);
    clause.erase(std::remove_if(clause.begin(), clause.end(), [](char c) { return c == '.' || c == '!' || c == '?'; }),
                 clause.end());
    long_sentence += (long_sentence.empty() ? "" : ", ") + clause;
  }
  add(long_sentence + ".");
  for (size_t i = sentences / 2; i < sentences; ++i) add(sentence(i));
  return text;
}

// Source tokens of a translated text, over its units: each unit's ids less its >>xx<< token
// (there is a target language) and </s>.
size_t source_tokens(const TextTranslation& translation) {
  size_t tokens = 0;
  for (const Translation& unit : translation.units) tokens += unit.source_ids.size() - 2;
  return tokens;
}

// `opusrt translate --split auto` on one line of text, as a user runs it.
std::string cli_translation(const std::string& text, const std::string& target_lang) {
  const opusrt::test::Result r =
      opusrt::test::run_cli({"translate", "--model", opusrt::test::tiny_model_dir().string(), "--target-lang",
                             target_lang, "--max-new-tokens", std::to_string(kMaxNewTokens), "--split", "auto"},
                            text + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.lines();
  EXPECT_EQ(lines.size(), 1u) << r.out;
  return lines.empty() ? "" : lines[0];
}

httplib::Result post_json(httplib::Client& client, const json& body, const std::string& path = "/translate") {
  return client.Post(path, body.dump(), "application/json");
}

// The value of one sample line of GET /metrics ("name{labels} value"); -1 when absent.
double metric(const std::string& text, const std::string& sample) {
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

TEST(ServerLongText, ANineHundredTokenParagraphIsTheClisSplitAutoTranslation) {
  const std::string paragraph = long_paragraph(0, 60);
  const TextTranslation library = tiny_translator().translate_text(paragraph, reference_options("cmn_Hans"));
  // What the old server refused ("longer than the model's 256; split it"), several times over.
  ASSERT_GE(source_tokens(library), 900u) << paragraph;
  ASSERT_GT(library.units.size(), 30u);
  const std::string cli = cli_translation(paragraph, "cmn_Hans");
  EXPECT_EQ(cli, library.text);

  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result response = post_json(client, {{"q", paragraph}, {"source", "en"}, {"target", "zh"}});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(json::parse(response->body)["translatedText"], cli);

  // In an array, next to short texts, each text still gets its own translation.
  const std::vector<std::string> texts = {"Hello world.", paragraph, ""};
  const httplib::Result many = post_json(client, {{"q", texts}, {"target", "zh"}});
  ASSERT_TRUE(many);
  ASSERT_EQ(many->status, 200) << many->body;
  const json answers = json::parse(many->body)["translatedText"];
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0], tiny_translator().translate(texts[0], reference_options("cmn_Hans")).text);
  EXPECT_EQ(answers[1], cli);
  EXPECT_EQ(answers[2], "");
}

TEST(ServerLongText, TheStreamGrowsUnitByUnitInOrderToTheClisTranslation) {
  const std::string paragraph = long_paragraph(76, 10);
  const TextTranslation library = tiny_translator().translate_text(paragraph, reference_options("cmn_Hans"));
  ASSERT_GT(library.units.size(), 5u);
  const std::string cli = cli_translation(paragraph, "cmn_Hans");
  ASSERT_EQ(cli, library.text);

  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result response = post_json(client, {{"q", paragraph}, {"target", "zh"}}, "/translate/stream");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  const std::vector<SseEvent> events = parse_sse(response->body);
  ASSERT_GE(events.size(), 2u) << response->body;
  ASSERT_EQ(events.back().name, "final") << response->body;
  EXPECT_EQ(events.back().data["translatedText"], cli);

  // Every partial is the start of the final text and none is shorter than the one before: the
  // text only grows at its end, unit after unit, whichever order the units were decoded in.
  std::vector<std::string> partials;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].name, "partial") << response->body;
    partials.push_back(events[i].data["translatedText"]);
  }
  ASSERT_FALSE(partials.empty());
  for (size_t i = 0; i < partials.size(); ++i) {
    EXPECT_TRUE(cli.starts_with(partials[i])) << "partial " << i << ": " << partials[i];
    if (i > 0) {
      EXPECT_GE(partials[i].size(), partials[i - 1].size()) << "partial " << i;
    }
  }
  EXPECT_EQ(partials.back(), cli);
  // Each unit's translation shows on its own: the text so far ends exactly after every unit.
  const TextUnits split(tiny_translator(), std::vector<std::string>{paragraph}, reference_options("cmn_Hans"));
  std::vector<std::string> unit_texts;
  for (const Translation& unit : library.units) unit_texts.push_back(unit.text);
  for (size_t k = 1; k <= unit_texts.size(); ++k) {
    const std::string so_far = split.join(0, std::span<const std::string>(unit_texts).first(k));
    EXPECT_TRUE(std::any_of(partials.begin(), partials.end(),
                            [&](const std::string& partial) { return partial.starts_with(so_far); }))
        << "unit " << k;
  }
}

TEST(ServerLongText, UnitsOfConcurrentRequestsShareOneBatch) {
  const std::vector<std::string> texts = {long_paragraph(102, 6), long_paragraph(124, 6)};
  const TranslateOptions options = reference_options("cmn_Hans");
  size_t units = 0;
  for (const std::string& text : texts) {
    const size_t count = TextUnits(tiny_translator(), std::vector<std::string>{text}, options).units().size();
    ASSERT_GT(count, 1u) << text;
    units += count;
  }
  TestServerOptions server_options;
  server_options.workers = 1;
  server_options.max_batch = 256;
  TestServer server(server_options);
  {
    // The only worker is held, so both requests' units are queued when it takes its next batch.
    WorkerBlocker blocker(server.service());
    std::vector<std::string> answers(texts.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < texts.size(); ++i) {
      clients.emplace_back([&, i] {
        httplib::Client client = server.client();
        const httplib::Result response = post_json(client, {{"q", texts[i]}, {"target", "zh"}});
        if (response && response->status == 200) answers[i] = json::parse(response->body)["translatedText"];
      });
    }
    wait_until([&] { return server.service().queue_depth() == units; });
    blocker.release();
    for (std::thread& client : clients) client.join();
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_EQ(answers[i], tiny_translator().translate_text(texts[i], options).text) << i;
  }
  httplib::Client client = server.client();
  const httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  // Two batches: the blocker's (one request, one unit) and one with every unit of both requests.
  EXPECT_EQ(metric(metrics->body, "opusrt_batches_total"), 2) << metrics->body;
  EXPECT_EQ(metric(metrics->body, "opusrt_batch_requests_bucket{le=\"1\"}"), 1) << metrics->body;
  EXPECT_EQ(metric(metrics->body, "opusrt_batch_requests_bucket{le=\"2\"}"), 2) << metrics->body;
  EXPECT_EQ(metric(metrics->body, "opusrt_batch_size_sum"), static_cast<double>(1 + units)) << metrics->body;
}

TEST(ServerLongText, MaxCharsStillLimitsAndTheQueueCapacityIsAClearError) {
  const std::string paragraph = long_paragraph(146, 6);
  const size_t characters = count_characters(paragraph);
  const size_t units =
      TextUnits(tiny_translator(), std::vector<std::string>{paragraph}, reference_options("cmn_Hans")).units().size();
  ASSERT_GT(units, 4u);
  {
    TestServerOptions options;
    options.max_chars = characters;
    TestServer server(options);
    httplib::Client client = server.client();
    const httplib::Result fits = post_json(client, {{"q", paragraph}, {"target", "zh"}});
    ASSERT_TRUE(fits);
    EXPECT_EQ(fits->status, 200) << fits->body;
    const httplib::Result over = post_json(client, {{"q", paragraph + "!"}, {"target", "zh"}});
    ASSERT_TRUE(over);
    EXPECT_EQ(over->status, 413) << over->body;
    EXPECT_NE(over->body.find("exceeds text limit"), std::string::npos) << over->body;
    EXPECT_EQ(post_json(client, {{"q", paragraph + "!"}}, "/translate/stream")->status, 413);
  }
  // A text of more units than the queue can ever hold: 413 naming the numbers, at once (a 429
  // would have the client retry forever). Nothing was queued.
  TestServerOptions options;
  options.queue_size = units - 1;
  TestServer server(options);
  httplib::Client client = server.client();
  for (const char* path : {"/translate", "/translate/stream"}) {
    const httplib::Result response = post_json(client, {{"q", paragraph}, {"target", "zh"}}, path);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413) << response->body;
    const std::string error = json::parse(response->body)["error"];
    EXPECT_NE(error.find(std::to_string(units) + " units"), std::string::npos) << error;
    EXPECT_NE(error.find("at most " + std::to_string(units - 1)), std::string::npos) << error;
    EXPECT_EQ(server.service().queue_depth(), 0u);
  }
  EXPECT_EQ(post_json(client, {{"q", "Hello world."}})->status, 200);
}

// No input the server admits makes a unit fail after the cut (invalid UTF-8 is refused before,
// and no unit is longer than the model), but a model run can fail one row: the test wraps the
// translator's translate_batch to fail the unit that contains a marker, as such a row would.
BatchTranslate failing_marked_units(const std::string& marker) {
  return [marker](const Translator& translator, std::span<const std::string> units, const TranslateOptions& options,
                  const TokenCallback& on_token) {
    std::vector<Translation> translations = translator.translate_batch(units, options, on_token);
    for (size_t i = 0; i < units.size(); ++i)
      if (units[i].find(marker) != std::string::npos) {
        translations[i] = Translation{};
        translations[i].error = "the row failed";
      }
    return translations;
  };
}

TEST(ServerLongText, OneUntranslatableUnitFailsItsTextWithAClearMessageOnly) {
  const std::string marker = "Zebra";
  std::string bad = long_paragraph(168, 6);
  const size_t middle = bad.find(". ", bad.size() / 2);
  ASSERT_NE(middle, std::string::npos);
  bad.insert(middle + 2, marker + " crossings are rare here. ");
  const std::string good = long_paragraph(0, 6);
  const TranslateOptions reference = reference_options("cmn_Hans");
  const TextUnits split(tiny_translator(), std::vector<std::string>{bad}, reference);
  size_t failing = 0;
  for (size_t u = 0; u < split.units().size(); ++u)
    if (split.units()[u].source.find(marker) != std::string::npos) failing = u;
  ASSERT_GT(split.units().size(), 2u);
  const std::string part =
      "part " + std::to_string(failing + 1) + " of " + std::to_string(split.units().size()) + " (\"" + marker;

  TestServerOptions options;
  options.workers = 1;
  options.max_batch = 256;
  options.translate_batch = failing_marked_units(marker);
  TestServer server(options);

  // The service: both texts in one request, so their units share batches; the bad text fails
  // naming its unit, the good one is translated.
  auto service_options = std::make_shared<TranslateOptions>(reference);
  auto promise = std::make_shared<std::promise<std::vector<TextResult>>>();
  const auto submitted = server.service().submit(
      {bad, good}, service_options, [promise](std::vector<TextResult> results) { promise->set_value(std::move(results)); });
  ASSERT_EQ(submitted.push, BatchingQueue::Push::kAccepted);
  const std::vector<TextResult> results = promise->get_future().get();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].translation);
  EXPECT_EQ(results[0].status, 400);
  EXPECT_TRUE(results[0].error.starts_with(part)) << results[0].error;
  EXPECT_TRUE(results[0].error.ends_with("): the row failed")) << results[0].error;
  ASSERT_TRUE(results[1].translation) << results[1].error;
  EXPECT_EQ(results[1].translation->text, tiny_translator().translate_text(good, reference).text);

  // Over HTTP: a 400 naming the text and the unit; a stream ends with an error event.
  httplib::Client client = server.client();
  const httplib::Result answer = post_json(client, {{"q", {good, bad}}, {"target", "zh"}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400) << answer->body;
  const std::string error = json::parse(answer->body)["error"];
  EXPECT_TRUE(error.starts_with("q[1]: " + part)) << error;
  const std::vector<SseEvent> events =
      parse_sse(post_json(client, {{"q", bad}, {"target", "zh"}}, "/translate/stream")->body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "error");
  EXPECT_TRUE(events.back().data["error"].get<std::string>().starts_with(part)) << events.back().data;
  EXPECT_EQ(post_json(client, {{"q", good}, {"target", "zh"}})->status, 200);
}

TEST(ServerLongText, AlternativesOfALongTextJoinEachUnitsNthBest) {
  const std::string paragraph = long_paragraph(20, 4, 14);
  const TranslateOptions options = reference_options("cmn_Hans", 2);
  const TextTranslation library = tiny_translator().translate_text(paragraph, options);
  ASSERT_GT(library.units.size(), 2u);
  const TextUnits split(tiny_translator(), std::vector<std::string>{paragraph}, options);
  std::vector<std::string> expected;
  for (size_t k = 1; k <= 2; ++k) {
    std::vector<std::string> hypotheses;
    for (const Translation& unit : library.units) {
      ASSERT_EQ(unit.n_best.size(), 3u);
      hypotheses.push_back(unit.n_best[k].text);
    }
    expected.push_back(split.join(0, hypotheses));
  }

  TestServer server;
  httplib::Client client = server.client();
  const httplib::Result response = post_json(client, {{"q", paragraph}, {"target", "zh"}, {"alternatives", 2}});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  const json body = json::parse(response->body);
  EXPECT_EQ(body["translatedText"], library.text);
  EXPECT_EQ(body["alternatives"], json(unique_alternatives(library.text, expected)));
}

// A forced target prefix (server-wide options here; requests cannot set one) starts the text's
// first unit only, as translate_text and the CLI do.
TEST(ServerLongText, AForcedPrefixStartsTheFirstUnitOnly) {
  const std::string paragraph = long_paragraph(40, 6);
  TranslateOptions prefixed = reference_options("cmn_Hans");
  prefixed.target_prefix = "你好";
  TestServerOptions options;
  options.base_options = prefixed;
  TestServer server(options);
  httplib::Client client = server.client();
  const httplib::Result response = post_json(client, {{"q", paragraph}, {"target", "zh"}});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  const TextTranslation library = tiny_translator().translate_text(paragraph, prefixed);
  ASSERT_GT(library.units.size(), 2u);
  EXPECT_EQ(json::parse(response->body)["translatedText"], library.text);
  EXPECT_TRUE(library.units[0].text.starts_with("你好")) << library.units[0].text;
}

}  // namespace
}  // namespace opusrt::server::testing
