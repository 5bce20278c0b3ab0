// Broken model directories fail with an opusrt::Error that names the file and field at fault,
// never with a crash.
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/inspect.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

namespace fs = std::filesystem;

class BadModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opusrt-bad-model-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(tiny_model_dir(), dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts from a copy of another fixture model than tiny.
  void use_model(const fs::path& model) {
    fs::remove_all(dir_);
    fs::copy(model, dir_, fs::copy_options::recursive);
  }

  void edit_json(const std::string& file, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json json;
    {
      std::ifstream in(dir_ / file);
      json = nlohmann::json::parse(in);
    }
    edit(json);
    std::ofstream(dir_ / file) << json.dump(2);
  }

  // Loading must throw opusrt::Error whose message contains every fragment.
  void expect_load_error(const std::vector<std::string>& fragments, DecoderMode mode = DecoderMode::kAuto) {
    TranslatorConfig config;
    config.decoder = mode;
    try {
      Translator translator(dir_, config);
      ADD_FAILURE() << "the model loaded";
    } catch (const Error& e) {
      for (const std::string& fragment : fragments)
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "message \"" << e.what() << "\" lacks \"" << fragment << "\"";
    }
  }

  fs::path dir_;
};

TEST_F(BadModel, MissingDirectory) { 
  dir_ /= "nope";
  expect_load_error({"nope", "model directory not found"});
}

TEST_F(BadModel, MissingEncoder) {
  fs::remove(dir_ / "encoder_model.onnx");
  expect_load_error({"encoder_model.onnx"});
}

TEST_F(BadModel, NoDecoderAtAll) {
  for (const char* file : {"decoder_model_merged.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx"})
    fs::remove(dir_ / file);
  expect_load_error({"no decoder", "decoder_model_merged.onnx"});
}

TEST_F(BadModel, SplitModeWithoutTheWithPastGraph) {
  fs::remove(dir_ / "decoder_with_past_model.onnx");
  expect_load_error({"split", "decoder_with_past_model.onnx"}, DecoderMode::kSplit);
  // auto still finds the merged graph
  EXPECT_NO_THROW(Translator{dir_});
}

TEST_F(BadModel, TruncatedOnnxFile) {
  const fs::path file = dir_ / "decoder_model_merged.onnx";
  fs::resize_file(file, fs::file_size(file) / 2);
  expect_load_error({"decoder_model_merged.onnx", "could not load"});
}

TEST_F(BadModel, EmptyEncoderFile) {
  fs::resize_file(dir_ / "encoder_model.onnx", 0);
  expect_load_error({"encoder_model.onnx"});
}

TEST_F(BadModel, GarbageOnnxFile) {
  std::ofstream(dir_ / "encoder_model.onnx", std::ios::binary | std::ios::trunc) << "this is not a protobuf";
  expect_load_error({"encoder_model.onnx"});
}

TEST_F(BadModel, MissingConfig) {
  fs::remove(dir_ / "config.json");
  expect_load_error({"config.json", "not found"});
}

TEST_F(BadModel, InvalidConfigJson) {
  std::ofstream(dir_ / "config.json", std::ios::trunc) << "{ \"d_model\": 48, ";
  expect_load_error({"config.json", "invalid JSON"});
}

TEST_F(BadModel, ConfigFieldMissing) {
  edit_json("config.json", [](nlohmann::json& j) { j.erase("d_model"); });
  expect_load_error({"config.json", "'d_model'", "missing"});
}

TEST_F(BadModel, ConfigFieldOfTheWrongType) {
  edit_json("config.json", [](nlohmann::json& j) { j["decoder_layers"] = "two"; });
  expect_load_error({"config.json", "'decoder_layers'", "integer"});
}

TEST_F(BadModel, VocabSizeDiffersFromConfig) {
  edit_json("vocab.json", [](nlohmann::json& j) { j["extra_piece_not_in_config"] = j.size(); });
  expect_load_error({"vocab.json", "config.json", "vocab_size"});
}

TEST_F(BadModel, TargetVocabSizeDiffersFromConfig) {
  use_model(fixtures_dir() / "tiny-separate");
  edit_json("target_vocab.json", [](nlohmann::json& j) { j["extra_piece_not_in_config"] = j.size(); });
  expect_load_error({"target_vocab.json", "config.json", "decoder_vocab_size"});
}

TEST_F(BadModel, SeparateVocabsWithoutTheTargetVocab) {
  use_model(fixtures_dir() / "tiny-separate");
  fs::remove(dir_ / "target_vocab.json");
  expect_load_error({"target_vocab.json"});
}

TEST_F(BadModel, SharedVocabForADecoderWithItsOwnVocabSize) {
  use_model(fixtures_dir() / "tiny-separate");
  edit_json("tokenizer_config.json", [](nlohmann::json& j) { j["separate_vocabs"] = false; });
  expect_load_error({"vocab.json", "decoder_vocab_size", "separate_vocabs is false"});
}

TEST_F(BadModel, ConfigDecoderVocabSizeDiffersFromGraph) {
  use_model(fixtures_dir() / "tiny-separate");
  edit_json("config.json", [](nlohmann::json& j) { j["decoder_vocab_size"] = j["decoder_vocab_size"].get<int>() - 2; });
  expect_load_error({"'logits'", "config.json decoder_vocab_size"});
}

TEST_F(BadModel, ConfigVocabSizeDiffersFromGraph) {
  edit_json("config.json", [](nlohmann::json& j) { j["vocab_size"] = j["vocab_size"].get<int>() + 3; });
  expect_load_error({"vocab_size"});
}

TEST_F(BadModel, DecoderLayerCountDiffersFromGraph) {
  edit_json("config.json", [](nlohmann::json& j) { j["decoder_layers"] = j["decoder_layers"].get<int>() + 1; });
  expect_load_error({"decoder_model_merged.onnx", "decoder layers", "decoder_layers"});
  expect_load_error({"decoder_model.onnx", "decoder_layers"}, DecoderMode::kSplit);
}

TEST_F(BadModel, HeadCountDiffersFromGraph) {
  edit_json("config.json", [](nlohmann::json& j) { j["decoder_attention_heads"] = 3; });
  expect_load_error({"decoder_model_merged.onnx", "decoder_attention_heads"});
}

TEST_F(BadModel, ModelWidthDiffersFromGraph) {
  edit_json("config.json", [](nlohmann::json& j) {
    j["d_model"] = j["d_model"].get<int>() * 2;
  });
  expect_load_error({"d_model"});
}

TEST_F(BadModel, MissingSourceSpm) {
  fs::remove(dir_ / "source.spm");
  expect_load_error({"source.spm"});
}

TEST_F(BadModel, SpecialIdsDisagree) {
  edit_json("generation_config.json", [](nlohmann::json& j) { j["pad_token_id"] = 3; });
  expect_load_error({"pad_token_id"});
}

TEST_F(BadModel, InspectReportsFailedChecksInsteadOfThrowing) {
  edit_json("config.json", [](nlohmann::json& j) { j["decoder_layers"] = j["decoder_layers"].get<int>() + 1; });
  const InspectReport report = inspect_model(dir_);
  EXPECT_FALSE(report.passed());
  bool named = false;
  for (const InspectCheck& check : report.checks)
    named = named || (!check.passed && check.detail.find("decoder_layers") != std::string::npos);
  EXPECT_TRUE(named);
}

TEST(Inspect, PassesOnTheFixtureModel) {
  const InspectReport report = inspect_model(tiny_model_dir());
  for (const InspectCheck& check : report.checks) EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  EXPECT_TRUE(report.passed());
  EXPECT_EQ(report.graphs.size(), 4u);
}

TEST(Inspect, PassesOnTheSharedModel) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const InspectReport report = inspect_model(dir);
  for (const InspectCheck& check : report.checks) EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  EXPECT_TRUE(report.passed());
}

}  // namespace
}  // namespace opusrt::test
