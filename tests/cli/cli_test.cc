// The `opusrt` command line, run as a user runs it: a real process, stdin, stdout, exit code.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "opusrt/html.h"
#include "opusrt/translator.h"
#include "test_env.h"
#include "text/sentence_splitter.h"

namespace opusrt::test {
namespace {

namespace fs = std::filesystem;

TEST(Cli, HelpOnEveryCommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"translate", "--help"}, {"inspect", "--help"}}) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << args.front();
    EXPECT_NE(r.out.find("--"), std::string::npos);
  }
  EXPECT_NE(run_cli({"translate", "--help"}).out.find("--max-new-tokens"), std::string::npos);
  EXPECT_NE(run_cli({"translate", "--help"}).out.find("--decoder"), std::string::npos);
}

TEST(Cli, FormatHtmlTranslatesOneDocumentKeepingItsMarkup) {
  const std::string html =
      "<!DOCTYPE html>\n<html><body>\n<p class=\"x\">Good <b>morning</b>, everyone.</p>\n"
      "<pre>keep  me</pre>\n<p translate=\"no\">Not this.</p>\n</body></html>\n";
  const std::vector<std::string> flags = {"--model", tiny_model_dir().string(), "--max-new-tokens", "8",
                                          "--target-lang", "cmn_Hant"};
  std::vector<std::string> args = {"translate", "--format", "html"};
  args.insert(args.end(), flags.begin(), flags.end());
  const Result r = run_cli(args, html);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The library's answer, byte for byte (no newline added: the output is the document).
  TranslateOptions options;
  options.max_new_tokens = 8;
  options.target_lang = "cmn_Hant";
  const Translator translator(tiny_model_dir());
  EXPECT_EQ(r.out, translate_html(translator, html, options));
  EXPECT_NE(r.out.find("<p class=\"x\">"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<pre>keep  me</pre>\n<p translate=\"no\">Not this.</p>\n</body></html>\n"), std::string::npos)
      << r.out;

  // From a file into a file.
  const fs::path in = fs::temp_directory_path() / ("opusrt-html-" + std::to_string(::getpid()) + ".html");
  const fs::path out = fs::path(in.string() + ".out");
  std::ofstream(in, std::ios::binary) << html;
  args.insert(args.end(), {"--input", in.string(), "--output-file", out.string()});
  ASSERT_EQ(run_cli(args).exit_code, 0);
  EXPECT_EQ(slurp(out), r.out);
  fs::remove(in);
  fs::remove(out);

  // One document: line-oriented flags do not combine with it.
  std::vector<std::string> stream = {"translate", "--format", "html", "--stream"};
  stream.insert(stream.end(), flags.begin(), flags.end());
  const Result refused = run_cli(stream, html);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--format html"), std::string::npos) << refused.err;
  std::vector<std::string> bad = {"translate", "--format", "html"};
  bad.insert(bad.end(), flags.begin(), flags.end());
  const Result invalid = run_cli(bad, "<p>caf\xC3</p>");
  EXPECT_NE(invalid.exit_code, 0);
  EXPECT_NE(invalid.err.find("UTF-8"), std::string::npos) << invalid.err;
}

TEST(Cli, MissingModelIsOneClearMessageAndNonZeroExit) {
  const Result r = run_cli({"translate", "--model", "/nonexistent/model"}, "Hello\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, RequiredModelAndBadOptionValues) {
  EXPECT_NE(run_cli({"translate"}).exit_code, 0);
  EXPECT_NE(run_cli({"translate", "--model", tiny_model_dir().string(), "--decoder", "fast"}).exit_code, 0);
  EXPECT_NE(run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "0"}).exit_code, 0);
  // Range errors say what is wanted, not the range of a double.
  const Result zero_beams = run_cli({"translate", "--model", tiny_model_dir().string(), "--beams", "0"});
  EXPECT_NE(zero_beams.exit_code, 0);
  EXPECT_NE(zero_beams.err.find("--beams: must be greater than 0, got 0"), std::string::npos) << zero_beams.err;
  const Result negative = run_cli({"translate", "--model", tiny_model_dir().string(), "--top-k", "-1"});
  EXPECT_NE(negative.err.find("must be 0 or more, got -1"), std::string::npos) << negative.err;
  EXPECT_EQ(negative.err.find("179769"), std::string::npos) << negative.err;
  // A model path that does not exist says so.
  const Result missing = run_cli({"translate", "--model", "/nonexistent/opusrt-model"}, "Hello\n");
  EXPECT_NE(missing.err.find("'/nonexistent/opusrt-model': model directory not found"), std::string::npos)
      << missing.err;
  // download of a local directory checks that it has the variant asked for.
  const Result no_variant = run_cli({"download", tiny_model_dir().string(), "--variant", "nope"});
  EXPECT_NE(no_variant.exit_code, 0);
  EXPECT_NE(no_variant.err.find("encoder_model_nope.onnx"), std::string::npos) << no_variant.err;
  EXPECT_EQ(run_cli({"download", tiny_model_dir().string(), "--variant", "q4"}).exit_code, 0);
  EXPECT_NE(run_cli({"frobnicate"}).exit_code, 0);
}

TEST(Cli, OneOutputLinePerInputLineAndEmptyStaysEmpty) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "20"},
                           "Hello world.\n\nWhat time is it?\n\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_FALSE(lines[0].empty());
  EXPECT_TRUE(lines[1].empty());
  EXPECT_FALSE(lines[2].empty());
  EXPECT_TRUE(lines[3].empty());
}

// --maxi-batch reads lines ahead and batches them by length; what comes out, and in which order,
// is the same as batching in input order, and as translating line by line.
TEST(Cli, PrefixWithSplitSentencesForcesTheFirstUnitOnly) {
  // The bug a new user hit: --prefix forced X at the start of every sentence's translation.
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "8", "--beams", "1",
                            "--split", "sentences", "--prefix", "你好", "--output", "jsonl"},
                           "Open the file. Save it now. Close the window.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json line = nlohmann::json::parse(r.out);
  const auto& segments = line["segments"];
  ASSERT_EQ(segments.size(), 3u) << r.out;
  const Result free = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "8", "--beams", "1",
                               "--split", "sentences", "--output", "jsonl"},
                              "Open the file. Save it now. Close the window.\n");
  ASSERT_EQ(free.exit_code, 0) << free.err;
  const nlohmann::json free_line = nlohmann::json::parse(free.out);
  const auto& free_segments = free_line["segments"];
  const auto forced = segments[0]["output_ids"].get<std::vector<int64_t>>();
  const auto unforced = free_segments[0]["output_ids"].get<std::vector<int64_t>>();
  EXPECT_NE(forced, unforced);
  EXPECT_TRUE(segments[0]["text"].get<std::string>().starts_with("你好")) << segments[0].dump();
  for (size_t i = 1; i < 3; ++i) EXPECT_EQ(segments[i]["output_ids"], free_segments[i]["output_ids"]) << "segment " << i;
}

TEST(Cli, MaxiBatchSortsByLengthButKeepsOutputOrder) {
  std::string input;
  const char* words[] = {"time", "world", "hello", "is", "what", "the", "good", "day"};
  for (int line = 0; line < 23; ++line) {
    if (line % 7 == 3) {
      input += "\n";  // empty lines keep their place too
      continue;
    }
    for (int w = 0; w < 1 + (line * 5) % 17; ++w) input += std::string(w ? " " : "") + words[(line + w) % 8];
    input += ".\n";
  }
  auto translate = [&](const char* batch, const char* maxi) {
    return run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "8", "--beams", "1",
                    "--batch-size", batch, "--maxi-batch", maxi, "--output", "jsonl"},
                   input);
  };
  const Result in_order = translate("4", "1");
  const Result sorted = translate("4", "16");
  const Result one_by_one = translate("1", "1");
  ASSERT_EQ(in_order.exit_code, 0) << in_order.err;
  ASSERT_EQ(sorted.exit_code, 0) << sorted.err;
  ASSERT_EQ(one_by_one.exit_code, 0) << one_by_one.err;
  ASSERT_EQ(sorted.lines().size(), 23u);
  auto ids = [](const Result& r) {
    std::vector<std::string> out;
    for (const std::string& line : r.lines()) {
      const nlohmann::json j = nlohmann::json::parse(line);
      out.push_back(j.contains("source_ids") ? j["source_ids"].dump() + j["output_ids"].dump() : "");
    }
    return out;
  };
  EXPECT_EQ(ids(sorted), ids(in_order));
  EXPECT_EQ(ids(sorted), ids(one_by_one));
  EXPECT_NE(run_cli({"translate", "--model", tiny_model_dir().string(), "--maxi-batch", "0"}, "Hi\n").exit_code, 0);
}

TEST(Cli, CrlfInputGivesCrlfOutput) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "10"},
                           "Hello world.\r\nHi\r\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) EXPECT_TRUE(!line.empty() && line.back() == '\r');
}

TEST(Cli, JsonlHasIdsTextAndTimings) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "12", "--output",
                            "jsonl", "--beams", "1"},
                           "Hello world.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json line = nlohmann::json::parse(r.lines().at(0));
  const std::vector<int64_t> output_ids = line.at("output_ids");
  ASSERT_GE(output_ids.size(), 2u);
  EXPECT_LE(output_ids.size(), 13u);
  std::ifstream config_file(tiny_model_dir() / "config.json");
  const nlohmann::json config = nlohmann::json::parse(config_file);
  EXPECT_EQ(output_ids.front(), config.at("decoder_start_token_id").get<int64_t>());
  EXPECT_EQ(line.at("source_ids").back(), 0);
  EXPECT_TRUE(line.at("text").is_string());
  for (const char* key : {"encoder", "decoder", "total"}) EXPECT_GE(line.at("timings_ms").at(key).get<double>(), 0.0);
}

TEST(Cli, TargetLanguagePrependsItsToken) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "5", "--output",
                            "jsonl", "--target-lang", "cmn_Hans"},
                           "Hello world.\n>>cmn_Hant<< Hello world.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = r.lines();
  const std::vector<int64_t> with_flag = nlohmann::json::parse(lines.at(0)).at("source_ids");
  const std::vector<int64_t> with_own = nlohmann::json::parse(lines.at(1)).at("source_ids");
  EXPECT_NE(with_flag.front(), with_own.front());  // a text's own >>xx<< wins
  EXPECT_EQ(with_flag.size(), with_own.size());
  const Result unknown =
      run_cli({"translate", "--model", tiny_model_dir().string(), "--target-lang", "xx_Nope"}, "Hello\n");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("--target-lang: target language 'xx_Nope' is not supported by this model"),
            std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("cmn_Hans"), std::string::npos) << unknown.err;  // names the model's languages
  // LibreTranslate's codes, as the server takes them: zh and zh-CN are cmn_Hans, zt is cmn_Hant.
  const auto source_ids = [](const std::string& target) {
    const Result t = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "5", "--output",
                              "jsonl", "--target-lang", target},
                             "Hello world.\n");
    EXPECT_EQ(t.exit_code, 0) << target << ": " << t.err;
    return t.exit_code == 0 ? nlohmann::json::parse(t.lines().at(0)).at("source_ids").get<std::vector<int64_t>>()
                            : std::vector<int64_t>{};
  };
  EXPECT_EQ(source_ids("zh"), with_flag);
  EXPECT_EQ(source_ids("zh-CN"), with_flag);
  EXPECT_EQ(source_ids("zt"), source_ids("cmn_Hant"));
  EXPECT_NE(source_ids("zt"), with_flag);
}

// Settings that would change nothing are said on stderr; the translation goes on.
TEST(Cli, PrepareHelpNamesTheCommand) {
  const Result help = run_cli({"prepare", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("Usage: opusrt prepare"), std::string::npos) << help.out;
}

TEST(Cli, IgnoredSettingsAreWarnedAbout) {
  const std::string model = tiny_model_dir().string();
  const Result unsampled = run_cli({"translate", "--model", model, "--max-new-tokens", "4", "--temperature", "0.5"}, "Hi\n");
  ASSERT_EQ(unsampled.exit_code, 0) << unsampled.err;
  EXPECT_NE(unsampled.err.find("apply only when sampling (--sample)"), std::string::npos) << unsampled.err;
  const Result sampled =
      run_cli({"translate", "--model", model, "--max-new-tokens", "4", "--sample", "--temperature", "0.5"}, "Hi\n");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.err;
  EXPECT_EQ(sampled.err.find("warning"), std::string::npos) << sampled.err;
  const int64_t positions = Translator(tiny_model_dir()).model_info().max_position_embeddings;
  const Result capped = run_cli(
      {"translate", "--model", model, "--beams", "1", "--max-new-tokens", std::to_string(positions + 100)}, "Hi\n");
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  EXPECT_NE(capped.err.find("ends at the model's " + std::to_string(positions) + " positions"), std::string::npos)
      << capped.err;
}

TEST(Cli, NBestNeedsEnoughBeams) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--beams", "2", "--n-best", "3"},
                           "Hello\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--n-best 3 needs --beams 3 or more (--beams is 2)"), std::string::npos) << r.err;
  const int defaults = Translator(tiny_model_dir()).model_info().default_num_beams;
  const std::string too_many = std::to_string(defaults + 1);
  const Result by_default = run_cli({"translate", "--model", tiny_model_dir().string(), "--n-best", too_many}, "Hello\n");
  EXPECT_NE(by_default.exit_code, 0);
  EXPECT_NE(by_default.err.find("(the model's default is " + std::to_string(defaults) + ")"), std::string::npos)
      << by_default.err;
  const Result sampled = run_cli({"translate", "--model", tiny_model_dir().string(), "--sample", "--n-best", "2"}, "Hello\n");
  EXPECT_NE(sampled.err.find("--n-best 2 needs beam search, not --sample"), std::string::npos) << sampled.err;
  EXPECT_EQ(run_cli({"translate", "--model", tiny_model_dir().string(), "--beams", "3", "--n-best", "3",
                     "--max-new-tokens", "4"},
                    "Hello\n")
                .exit_code,
            0);
}

TEST(Cli, InvalidUtf8NamesTheLine) {
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "5"},
                           "Hello\nbad \xC3\x28 byte\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
}

// JSON lines: --replace-invalid works on them too (the bad byte sits inside a JSON string), and
// an empty line is a clear error, not the JSON parser's.
TEST(Cli, JsonlLinesReplaceInvalidBytesAndNameAnEmptyLine) {
  const std::vector<std::string> jsonl = {"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "5",
                                          "--input-format", "jsonl"};
  const Result strict = run_cli(jsonl, "\"Hello\"\n\"bad \xC3\x28 byte\"\n");
  EXPECT_NE(strict.exit_code, 0);
  EXPECT_NE(strict.err.find("line 2"), std::string::npos) << strict.err;
  std::vector<std::string> replacing = jsonl;
  replacing.push_back("--replace-invalid");
  const Result replaced = run_cli(replacing, "\"Hello\"\n\"bad \xC3\x28 byte\"\n");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_EQ(replaced.lines().size(), 2u);
  const Result empty = run_cli(jsonl, "\"Hello\"\n\n");
  EXPECT_NE(empty.exit_code, 0);
  EXPECT_NE(empty.err.find("line 2: empty; expected a JSON string"), std::string::npos) << empty.err;
}

TEST(Cli, InspectPassesOnTheFixtureModel) {
  const Result r = run_cli({"inspect", "--model", tiny_model_dir().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("present.0.decoder.key"), std::string::npos);
  EXPECT_NE(r.out.find("use_cache_branch"), std::string::npos);
  EXPECT_NE(r.out.find("all checks passed"), std::string::npos);
}

TEST(Cli, InspectFailsOnABrokenModel) {
  const fs::path dir = fs::temp_directory_path() / ("opusrt-cli-broken-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(tiny_model_dir(), dir, fs::copy_options::recursive);
  fs::resize_file(dir / "decoder_with_past_model.onnx", 100);
  const Result r = run_cli({"inspect", "--model", dir.string()});
  fs::remove_all(dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("FAIL"), std::string::npos);
}

// The acceptance run: the CLI reproduces transformers' greedy output on all 30 cases, with
// each decoder. Cases with newlines or empty text go in as JSON strings (--input-format jsonl).
class CliSharedConformance : public ::testing::TestWithParam<std::string> {};

// One JSON string per case: texts with newlines, and the empty one, survive as input lines.
std::string cases_as_jsonl(const nlohmann::json& reference) {
  std::string input;
  for (const auto& c : reference["cases"]) input += nlohmann::json(c["text"]).dump() + "\n";
  return input;
}

TEST_P(CliSharedConformance, ReproducesAllThirtyGreedyCases) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  const std::string input = cases_as_jsonl(reference);
  const Result r = run_cli({"translate", "--model", dir.string(), "--beams", "1", "--max-new-tokens", "40",
                            "--output", "jsonl", "--input-format", "jsonl", "--decoder", GetParam()},
                           input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), reference["cases"].size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json out = nlohmann::json::parse(lines[i]);
    const auto& c = reference["cases"][i];
    EXPECT_EQ(out["output_ids"], c["greedy"]["output_ids"]) << "case " << i;
    EXPECT_EQ(out["text"], c["greedy"]["text"]) << "case " << i;
    EXPECT_EQ(out["source_ids"], c["source_ids"]) << "case " << i;
  }
}

TEST_P(CliSharedConformance, ReproducesAllThirtyBeamCasesWithNBest) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  const std::string input = cases_as_jsonl(reference);
  // No --beams: the model's generation_config (num_beams 4) decides, as pipeline() does.
  const Result r = run_cli({"translate", "--model", dir.string(), "--max-new-tokens", "40", "--n-best", "4",
                            "--output", "jsonl", "--input-format", "jsonl", "--decoder", GetParam()},
                           input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.lines();
  ASSERT_EQ(lines.size(), reference["cases"].size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json out = nlohmann::json::parse(lines[i]);
    const auto& beam = reference["cases"][i]["beam"];
    EXPECT_EQ(out["output_ids"], beam["output_ids"]) << "case " << i;
    EXPECT_EQ(out["text"], beam["text"]) << "case " << i;
    EXPECT_NEAR(out["score"].get<double>(), beam["sequence_score"].get<double>(), 1e-4) << "case " << i;
    ASSERT_EQ(out["n_best"].size(), 4u);
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(out["n_best"][k]["text"], beam["n_best"][k]["text"]) << "case " << i << " n_best " << k;
      EXPECT_NEAR(out["n_best"][k]["score"].get<double>(), beam["n_best"][k]["sequence_score"].get<double>(), 1e-4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, CliSharedConformance, ::testing::Values("merged", "split", "recompute"));

TEST(Cli, InspectPassesOnTheSharedModel) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const Result r = run_cli({"inspect", "--model", dir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

size_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(CliFiles, OutputFileIsWrittenAtomicallyWithOneLinePerInputLine) {
  const fs::path dir = fs::temp_directory_path() / ("opusrt-cli-files-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in.txt", std::ios::binary) << "Hello world.\r\n\n   \nWhat time is it?\n";
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--beams", "1", "--max-new-tokens",
                            "6", "--input", (dir / "in.txt").string(), "--output-file", (dir / "out.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const std::string out = slurp(dir / "out.txt");
  EXPECT_EQ(count_lines(out), 4u);
  std::istringstream lines(out);
  std::string first, second, third;
  std::getline(lines, first);
  std::getline(lines, second);
  std::getline(lines, third);
  EXPECT_EQ(first.back(), '\r');  // CRLF kept
  EXPECT_EQ(second, "");
  EXPECT_EQ(third, "   ");  // whitespace-only lines are kept as they are
  // An error midway leaves no output file behind (and no temporary).
  std::ofstream(dir / "bad.txt", std::ios::binary) << "fine\nbroken \xC3\x28 line\n";
  const Result bad = run_cli({"translate", "--model", tiny_model_dir().string(), "--input", (dir / "bad.txt").string(),
                              "--output-file", (dir / "bad-out.txt").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) files += entry.path().filename().string().starts_with("bad-out");
  EXPECT_EQ(files, 0u);
  // --replace-invalid translates it instead.
  const Result replaced = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "4",
                                   "--replace-invalid", "--input", (dir / "bad.txt").string()});
  EXPECT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_EQ(count_lines(replaced.out), 2u);
  fs::remove_all(dir);
}

// The real-world acceptance run: 5,000 lines with multi-sentence lines, empty lines, CRLF, NUL
// and control characters, and a 1 MB line; every line answered, every sentence translated.
TEST(CliFiles, FiveThousandLinesWithAOneMegabyteLine) {
  const fs::path dir = fs::temp_directory_path() / ("opusrt-cli-5000-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  static constexpr char kNulAndControl[] = "nul\0byte and \x01 control.";
  const std::vector<std::string> kinds = {"Hello world. How are you? Fine.", "", "Save changes?\r",
                                          "One.\tTwo! Three?", std::string(kNulAndControl, sizeof kNulAndControl - 1),
                                          "这是中文。第二句。", "   "};
  std::vector<std::string> lines;
  for (size_t i = 0; i < 5000; ++i) lines.push_back(kinds[i % kinds.size()]);
  std::string huge;
  while (huge.size() < (1u << 20)) huge += "This is a long line of text. ";
  lines[2500] = huge;
  {
    std::ofstream in(dir / "in.txt", std::ios::binary);
    for (const std::string& line : lines) in << line << '\n';
  }
  const Result r = run_cli({"translate", "--model", tiny_model_dir().string(), "--beams", "1", "--max-new-tokens", "3",
                            "--split", "sentences", "--batch-size", "64", "--output", "jsonl", "--input",
                            (dir / "in.txt").string(), "--output-file", (dir / "out.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream out(dir / "out.jsonl");
  size_t index = 0;
  for (std::string line; std::getline(out, line); ++index) {
    ASSERT_LT(index, lines.size());
    const nlohmann::json json = nlohmann::json::parse(line);
    std::string source = lines[index];
    if (!source.empty() && source.back() == '\r') source.pop_back();
    size_t sentences = 0;
    for (const TextSegment& segment : split_sentences(source)) sentences += !segment.content.empty();
    size_t translated = json.contains("segments") ? json["segments"].size() : (json["output_ids"].empty() ? 0 : 1);
    if (index == 2500) {
      EXPECT_GE(translated, sentences) << "the 1 MB line";  // long sentences may be cut further
    } else {
      EXPECT_EQ(translated, sentences) << "line " << index + 1 << ": " << source;
    }
  }
  EXPECT_EQ(index, 5000u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

TEST(CliStream, ReplayWordsFinalsEqualOfflineAndMetrics) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("opusrt_stream_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path replay = dir / "replay.txt", metrics = dir / "metrics.json";
  {
    std::ofstream out(replay);
    out << "Open the file.\nSave your changes before closing the window.\n\nWhat time is it?\n";
  }
  // tiny-separate: committed ids are target-vocabulary ids the prefill feeds back to the decoder.
  for (const auto& [model, beams] : {std::pair{tiny_model_dir(), "1"}, std::pair{tiny_model_dir(), "4"},
                                     std::pair{fixtures_dir() / "tiny-separate", "1"},
                                     std::pair{fixtures_dir() / "tiny-separate", "4"},
                                     std::pair{fixtures_dir() / "tiny-nopast", "1"}}) {
    SCOPED_TRACE(model.filename().string() + ", beams " + beams);
    const Result r = run_cli({"stream", "--model", model.string(), "--replay-words", replay.string(),
                              "--metrics", metrics.string(), "--beams", beams, "--max-new-tokens", "30"},
                             "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line, committed;
    size_t finals = 0, updates = 0;
    while (std::getline(lines, line)) {
      const nlohmann::json u = nlohmann::json::parse(line);
      ++updates;
      const std::string now = u["committed"].get<std::string>();
      if (u["final"].get<bool>()) {
        ++finals;
        committed.clear();
        continue;
      }
      EXPECT_TRUE(now.starts_with(committed)) << "committed shrank: " << line;
      committed = now;
    }
    EXPECT_EQ(finals, 3u);
    std::ifstream in(metrics);
    const nlohmann::json m = nlohmann::json::parse(in);
    EXPECT_EQ(m["segments"], 3);
    EXPECT_EQ(m["finals_equal_offline"], m["segments"]) << m.dump();
    EXPECT_EQ(m["updates"].get<size_t>(), updates);
    for (const char* key : {"ne_committed", "ne_displayed", "laal_words", "compute_ratio", "compute_ratio_partials", "retractions"})
      EXPECT_TRUE(m.contains(key)) << key;
  }
  std::filesystem::remove_all(dir);
}

// --variant: the stream runs the variant's graphs (here the only ones the directory has).
TEST(CliStream, VariantRunsThatVariantsGraphs) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("opusrt_stream_q_" + std::to_string(::getpid()));
  copy_with_only_variant(tiny_model_dir(), dir, "quantized");
  const std::filesystem::path replay = dir / "replay.txt", metrics = dir / "metrics.json";
  std::ofstream(replay) << "Open the file.\nWhat time is it?\n";
  const Result fp32 = run_cli({"stream", "--model", dir.string(), "--replay-words", replay.string()}, "");
  EXPECT_NE(fp32.exit_code, 0);
  EXPECT_NE(fp32.err.find("encoder_model.onnx"), std::string::npos) << fp32.err;
  const Result r = run_cli({"stream", "--model", dir.string(), "--variant", "quantized", "--replay-words",
                            replay.string(), "--metrics", metrics.string(), "--max-new-tokens", "20"},
                           "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(metrics);
  const nlohmann::json m = nlohmann::json::parse(in);
  EXPECT_EQ(m["segments"], 2);
  EXPECT_EQ(m["finals_equal_offline"], m["segments"]) << m.dump();
  std::filesystem::remove_all(dir);
}

// An export without past translates (recompute mode) and says on stderr why it is slow.
TEST(Cli, ExportWithoutPastTranslatesAndWarnsOnStderr) {
  const Result r = run_cli({"translate", "--model", (fixtures_dir() / "tiny-nopast").string(), "--max-new-tokens", "8"},
                           "Open the file.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_NE(r.err.find("opusrt: warning: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("text2text-generation-with-past"), std::string::npos) << r.err;
  const Result quiet = run_cli({"translate", "--model", tiny_model_dir().string(), "--max-new-tokens", "8"},
                               "Open the file.\n");
  EXPECT_EQ(quiet.err.find("warning"), std::string::npos) << quiet.err;
}

TEST(CliStream, BadInputLinesAreClearErrors) {
  const std::string model = tiny_model_dir().string();
  // A bad line is answered with an error line (and on stderr); the lines after it are still
  // translated, and the exit status says that one failed.
  const Result not_json =
      run_cli({"stream", "--model", model}, "{\"text\": \"Hello\"}\nnot json\n{\"text\": \"Hello\", \"final\": true}\n");
  EXPECT_NE(not_json.exit_code, 0);
  EXPECT_NE(not_json.err.find("line 2"), std::string::npos) << not_json.err;
  {
    std::istringstream lines(not_json.out);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(out.size(), 3u) << not_json.out;
    EXPECT_FALSE(out[0].contains("error"));
    EXPECT_NE(out[1].value("error", "").find("line 2: not JSON"), std::string::npos) << out[1].dump();
    EXPECT_TRUE(out[2].value("final", false)) << out[2].dump();
    EXPECT_EQ(out[2]["segment"], "0");  // unnamed segments are numbered, as strings
  }
  // A message's "target" switches the language at a segment start, not in the middle of one.
  const Result targets = run_cli({"stream", "--model", model, "--max-new-tokens", "20"},
                                 "{\"text\": \"Open the file.\", \"final\": true, \"target\": \"cmn_Hant\"}\n"
                                 "{\"text\": \"Open\"}\n"
                                 "{\"text\": \"Open the\", \"target\": \"cmn_Hans\"}\n");
  EXPECT_NE(targets.exit_code, 0);
  EXPECT_NE(targets.err.find("line 3: target 'cmn_Hans' mid-segment"), std::string::npos) << targets.err;
  const Result hant = run_cli({"translate", "--model", model, "--beams", "1", "--max-new-tokens", "20", "--target-lang",
                               "cmn_Hant"},
                              "Open the file.\n");
  ASSERT_EQ(hant.exit_code, 0) << hant.err;
  EXPECT_EQ(nlohmann::json::parse(targets.out.substr(0, targets.out.find('\n')))["committed"],
            hant.out.substr(0, hant.out.find('\n')));
  const Result bad_utf8 = run_cli({"stream", "--model", model}, "{\"text\": \"Hello\"}\n{\"text\": \"caf\\udc00\"}\n");
  EXPECT_NE(bad_utf8.exit_code, 0);
  const Result bad_policy = run_cli({"stream", "--model", model, "--policy", "sometimes"}, "");
  EXPECT_NE(bad_policy.exit_code, 0);
  EXPECT_NE(bad_policy.err.find("policy"), std::string::npos) << bad_policy.err;
  const Result ok = run_cli({"stream", "--model", model},
                            "{\"segment\": \"a\", \"text\": \"Open the\"}\n{\"segment\": \"a\", \"text\": \"Open the file.\", \"final\": true}\n");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\"segment\":\"a\""), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace opusrt::test
