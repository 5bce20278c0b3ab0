// `opusrt quantize` as a user runs it: the variant next to the fp32 graphs or in a new
// directory, then `opusrt translate --variant`; every bad input is one line on stderr naming
// what is wrong, a non-zero exit, and the model directory exactly as it was.
#include <algorithm>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "model/model_files.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

const std::vector<std::string> kGraphs = {"encoder_model", "decoder_model_merged", "decoder_model",
                                          "decoder_with_past_model"};

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(entry.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

class QuantizeCli : public ::testing::Test {
 protected:
  // A writable copy of the tiny fixture's fp32 model (graphs, config, tokenizer).
  void SetUp() override {
    model_ = dir_ / "tiny";
    fs::create_directories(model_);
    for (const std::string& graph : kGraphs) fs::copy_file(tiny_model_dir() / (graph + ".onnx"), model_ / (graph + ".onnx"));
    for (const auto* names : {&ModelFiles::required_support_files(), &ModelFiles::optional_support_files()}) {
      for (const std::string& name : *names)
        if (fs::exists(tiny_model_dir() / name)) fs::copy_file(tiny_model_dir() / name, model_ / name);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs a failing quantize: returns stderr, checks that nothing under the test directory changed.
  std::string fails(const std::vector<std::string>& args) {
    const std::vector<std::string> before = listing(dir_);
    std::vector<std::string> full = {"quantize"};
    full.insert(full.end(), args.begin(), args.end());
    const Result r = run_cli(full);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(listing(dir_), before) << "files left behind by: " << r.err;
    return r.err;
  }

  fs::path dir_ = fs::temp_directory_path() / ("opusrt-quantize-cli-" + std::to_string(::getpid()));
  fs::path model_;
};

TEST_F(QuantizeCli, WritesQ4NextToTheGraphsAndTranslateLoadsIt) {
  const Result r = run_cli({"quantize", "--model", model_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& graph : kGraphs) {
    EXPECT_TRUE(fs::is_regular_file(model_ / (graph + "_q4.onnx"))) << graph;
    EXPECT_NE(r.out.find(graph + ".onnx -> " + (model_ / (graph + "_q4.onnx")).string()), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("MatMul -> MatMulNBits"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("opusrt translate --model " + model_.string() + " --variant q4"), std::string::npos) << r.out;
  const Result t = run_cli({"translate", "--model", model_.string(), "--variant", "q4", "--beams", "1",
                            "--max-new-tokens", "12"},
                           "Hello world.\n\nOpen the file.\n");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), 3);

  // Again: the variant exists now, and nothing is replaced.
  const std::string err = fails({"--model", model_.string()});
  EXPECT_NE(err.find("opusrt quantize: " + (model_ / "encoder_model_q4.onnx").string() + ": already exists"),
            std::string::npos)
      << err;
  // 8 bits, another name, skip the output projection.
  const Result q8 = run_cli({"quantize", "--model", model_.string(), "--bits", "8", "--block", "128", "--variant",
                             "q8big", "--skip", "model.shared.weight.T"});
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  EXPECT_NE(q8.out.find("1 skipped"), std::string::npos) << q8.out;
  EXPECT_NE(q8.out.find("2 skipped"), std::string::npos) << q8.out;  // the merged decoder: both branches
  EXPECT_EQ(run_cli({"translate", "--model", model_.string(), "--variant", "q8big", "--max-new-tokens", "8"},
                    "Hello world.\n")
                .exit_code,
            0);
}

TEST_F(QuantizeCli, HelpListsTheOptions) {
  const Result r = run_cli({"quantize", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--model", "--bits", "--block", "--symmetric", "--skip", "--out", "--variant"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  EXPECT_NE(run_cli({"--help"}).out.find("quantize"), std::string::npos);
}

TEST_F(QuantizeCli, BadOptionsAreOneClearError) {
  std::string err = fails({"--model", model_.string(), "--bits", "3"});
  EXPECT_NE(err.find("opusrt quantize: bits 3: must be 4 or 8"), std::string::npos) << err;
  err = fails({"--model", model_.string(), "--block", "100"});
  EXPECT_NE(err.find("block size 100: must be 32, 64 or 128"), std::string::npos) << err;
  err = fails({"--model", model_.string(), "--bits", "four"});
  EXPECT_NE(err.find("--bits"), std::string::npos) << err;
  err = fails({"--bits", "4"});
  EXPECT_NE(err.find("--model"), std::string::npos) << err;
  err = fails({"--model", model_.string(), "--skip", "no_such_weight"});
  EXPECT_NE(err.find("skip 'no_such_weight': no MatMul node, MatMul input or weight of that name"), std::string::npos)
      << err;
  err = fails({"--model", model_.string(), "--variant", "a/b"});
  EXPECT_NE(err.find("variant 'a/b'"), std::string::npos) << err;
}

TEST_F(QuantizeCli, BadModelsAndOutputsAreNamed) {
  std::string err = fails({"--model", (dir_ / "missing").string()});
  EXPECT_NE(err.find((dir_ / "missing").string() + ": model directory not found"), std::string::npos) << err;

  fs::create_directories(dir_ / "exists");
  err = fails({"--model", model_.string(), "--out", (dir_ / "exists").string()});
  EXPECT_NE(err.find((dir_ / "exists").string() + ": already exists"), std::string::npos) << err;

  // Graphs without a MatMul weight (already quantized ones, under the fp32 names).
  const fs::path q4_only = dir_ / "q4-only";
  fs::create_directories(q4_only);
  for (const std::string& graph : kGraphs)
    fs::copy_file(tiny_model_dir() / (graph + "_q4.onnx"), q4_only / (graph + ".onnx"));
  fs::copy_file(model_ / "config.json", q4_only / "config.json");
  err = fails({"--model", q4_only.string(), "--out", (dir_ / "new").string()});
  EXPECT_NE(err.find(q4_only.string() + ": no MatMul with a constant 2-D float32 weight in encoder_model.onnx"),
            std::string::npos)
      << err;

  // A truncated graph: named, and no half-written variant (the encoder's was already done).
  const std::string bytes = slurp(model_ / "decoder_with_past_model.onnx");
  std::ofstream(model_ / "decoder_with_past_model.onnx", std::ios::binary | std::ios::trunc)
      << bytes.substr(0, bytes.size() / 2);
  err = fails({"--model", model_.string()});
  EXPECT_NE(err.find((model_ / "decoder_with_past_model.onnx").string()), std::string::npos) << err;
}

TEST_F(QuantizeCli, OutWritesACompleteModelDirectory) {
  const fs::path out = dir_ / "tiny-q4";
  const Result r = run_cli({"quantize", "--model", model_.string(), "--out", out.string(), "--symmetric"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(model_ / "encoder_model_q4.onnx"));  // the source is untouched
  for (const std::string& name : ModelFiles::required_support_files()) EXPECT_TRUE(fs::exists(out / name)) << name;
  for (const std::string& graph : kGraphs) {
    EXPECT_TRUE(fs::exists(out / (graph + "_q4.onnx"))) << graph;
    EXPECT_FALSE(fs::exists(out / (graph + ".onnx"))) << graph;  // the fp32 graphs are not copied
  }
  const Result t = run_cli({"translate", "--model", out.string(), "--variant", "q4", "--max-new-tokens", "8"},
                           "Hello world.\n");
  EXPECT_EQ(t.exit_code, 0) << t.err;
  // Without --variant the new directory has no fp32 graphs: the error says what is there to load.
  const Result fp32 = run_cli({"translate", "--model", out.string()}, "Hello world.\n");
  EXPECT_NE(fp32.exit_code, 0);
  EXPECT_NE(fp32.err.find("no encoder_model.onnx"), std::string::npos) << fp32.err;
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

size_t count_substrings(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
}

// `opusrt prepare`: copies with external weights next to the graphs, loaded in their place by
// every command, the same translations; up to date on a second run; bad input one clear error.
TEST_F(QuantizeCli, PrepareWritesCopiesThatTranslateTheSame) {
  const std::string input = "Hello world.\nOpen the file before you close the window.\n";
  const std::vector<std::string> translate = {"translate", "--model", model_.string(), "--beams", "2",
                                              "--max-new-tokens", "12", "--output", "jsonl"};
  const Result before = run_cli(translate, input);
  ASSERT_EQ(before.exit_code, 0) << before.err;
  // A forced prefix is prefilled in one run: the copies compute only its last position's logits.
  std::vector<std::string> with_prefix = translate;
  with_prefix.insert(with_prefix.end(), {"--prefix", "Open the"});
  const Result prefixed_before = run_cli(with_prefix, input);
  ASSERT_EQ(prefixed_before.exit_code, 0) << prefixed_before.err;

  const Result r = run_cli({"prepare", "--model", model_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& graph : kGraphs) {
    const fs::path copy = model_ / ".opusrt-prepared" / (graph + ".onnx");
    EXPECT_TRUE(fs::is_regular_file(copy)) << graph;
    EXPECT_TRUE(fs::is_regular_file(copy.string() + "_data")) << graph;
    EXPECT_NE(r.out.find((model_ / (graph + ".onnx")).string() + " -> " + copy.string()), std::string::npos) << r.out;
  }
  // merged: both branches; decoder_model and decoder_with_past_model: one each.
  EXPECT_NE(r.out.find("logits of the last position only in 2 graph(s)"), std::string::npos) << r.out;
  EXPECT_EQ(count_substrings(r.out, "logits of the last position only in 1 graph(s)"), 2u) << r.out;
  const Result after = run_cli(translate, input);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  auto without_timings = [](const std::string& jsonl) {
    return std::regex_replace(jsonl, std::regex(R"(,"timings_ms":\{[^}]*\})"), "");
  };
  EXPECT_EQ(without_timings(after.out), without_timings(before.out));  // ids and scores included
  EXPECT_NE(without_timings(after.out), after.out);  // the timings were there, and only they went
  const Result prefixed_after = run_cli(with_prefix, input);
  ASSERT_EQ(prefixed_after.exit_code, 0) << prefixed_after.err;
  EXPECT_EQ(without_timings(prefixed_after.out), without_timings(prefixed_before.out));

  const Result again = run_cli({"prepare", "--model", model_.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(std::count(again.out.begin(), again.out.end(), '\n'), 4) << again.out;
  EXPECT_NE(again.out.find("up to date"), std::string::npos) << again.out;
  // Copies made another way are not up to date: with every position's logits they are written again.
  const Result all_positions = run_cli({"prepare", "--model", model_.string(), "--all-position-logits"});
  ASSERT_EQ(all_positions.exit_code, 0) << all_positions.err;
  EXPECT_EQ(all_positions.out.find("up to date"), std::string::npos) << all_positions.out;
  EXPECT_EQ(all_positions.out.find("logits of the last position"), std::string::npos) << all_positions.out;
  const Result all_positions_translated = run_cli(with_prefix, input);
  EXPECT_EQ(without_timings(all_positions_translated.out), without_timings(prefixed_before.out));

  const Result help = run_cli({"prepare", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--model", "--variant", "--force", "--all-position-logits"}) EXPECT_NE(help.out.find(option), std::string::npos) << option;
  EXPECT_NE(run_cli({"--help"}).out.find("prepare"), std::string::npos);

  const Result missing = run_cli({"prepare", "--model", (dir_ / "nowhere").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("opusrt prepare: "), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  const Result variant = run_cli({"prepare", "--model", model_.string(), "--variant", "q3"});
  EXPECT_NE(variant.exit_code, 0);
  EXPECT_NE(variant.err.find("q3"), std::string::npos) << variant.err;
}

// A newer exporter's graphs (opset 18, LayerNormalization nodes, IR version 10 - newer than the
// IR version the linked libonnx's checker knows -, weights in .onnx_data files) quantize and
// prepare like the opset-14 graphs of the same weights, and translate exactly as they do.
TEST_F(QuantizeCli, NewerExportsQuantizeAndPrepareLikeTheirOpset14Twins) {
  const fs::path newer = dir_ / "tiny-opset18";
  fs::copy(fixtures_dir() / "tiny-opset18", newer);
  ASSERT_TRUE(fs::is_regular_file(newer / "decoder_model_merged.onnx_data"));
  const std::string input = "Hello world.\nOpen the file before you close the window.\n";
  auto translate = [&](const fs::path& model, const std::string& variant) {
    const Result r = run_cli({"translate", "--model", model.string(), "--variant", variant, "--beams", "2",
                              "--max-new-tokens", "12", "--output", "jsonl"},
                             input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::regex_replace(r.out, std::regex(R"(,"timings_ms":\{[^}]*\})"), "");
  };
  for (const fs::path& model : {model_, newer}) {
    const Result q = run_cli({"quantize", "--model", model.string()});
    ASSERT_EQ(q.exit_code, 0) << model << ": " << q.err;
    EXPECT_EQ(count_substrings(q.out, "(with external data)"), model == newer ? kGraphs.size() : 0u) << q.out;
  }
  const std::string q4 = translate(model_, "q4");
  const std::string fp32 = translate(model_, "fp32");
  EXPECT_EQ(translate(newer, "q4"), q4);
  EXPECT_EQ(translate(newer, "fp32"), fp32);
  const Result p = run_cli({"prepare", "--model", newer.string(), "--variant", "fp32,q4"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  // merged: both branches, of each variant
  EXPECT_EQ(count_substrings(p.out, "logits of the last position only in 2 graph(s)"), 2u) << p.out;
  for (const char* copy : {"decoder_model_merged.onnx", "decoder_model_merged_q4.onnx"})
    EXPECT_TRUE(fs::is_regular_file(newer / ".opusrt-prepared" / copy)) << copy;
  EXPECT_EQ(translate(newer, "q4"), q4);
  EXPECT_EQ(translate(newer, "fp32"), fp32);
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

// Separate vocabularies: the decoder's embeddings and output projection are their own weights
// (decoder_vocab_size rows), quantized like the shared ones; the variant translates.
TEST_F(QuantizeCli, SeparateVocabModelsQuantizeToo) {
  const fs::path separate = dir_ / "tiny-separate";
  fs::copy(fixtures_dir() / "tiny-separate", separate);
  const Result q = run_cli({"quantize", "--model", separate.string(), "--bits", "8"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("MatMul -> MatMulNBits"), std::string::npos) << q.out;
  for (const std::string& graph : kGraphs) EXPECT_TRUE(fs::is_regular_file(separate / (graph + "_q8.onnx"))) << graph;
  const Result r = run_cli({"translate", "--model", separate.string(), "--variant", "q8", "--beams", "1",
                            "--max-new-tokens", "12", "--output", "jsonl"},
                           "Hello world.\nOpen the file.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_NE(r.out.find("\"output_ids\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace opusrt::test
