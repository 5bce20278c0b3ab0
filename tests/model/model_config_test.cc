#include "model/model_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "opusrt/error.h"

namespace opusrt {
namespace {

namespace fs = std::filesystem;

class ModelConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opusrt_model_config_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  fs::path config(int64_t max_positions) {
    return write("config.json", R"({"d_model": 16, "encoder_layers": 1, "decoder_layers": 1,
      "encoder_attention_heads": 2, "decoder_attention_heads": 2, "vocab_size": 10,
      "max_position_embeddings": )" + std::to_string(max_positions) + R"(,
      "decoder_start_token_id": 9, "pad_token_id": 9, "eos_token_id": 0})");
  }
  fs::path dir_;
};

// Found by the config fuzzer (fuzz/corpus/config/regression_negative_max_new_tokens.bin).
TEST_F(ModelConfigFiles, NegativeMaxNewTokensInGenerationConfigIsRejectedByName) {
  const fs::path cfg = config(64);
  const fs::path generation = write("generation_config.json", R"({"max_new_tokens": -3})");
  try {
    GenerationConfig::load(generation, cfg);
    FAIL() << "accepted max_new_tokens -3";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_new_tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos) << e.what();
  }
}

// Found by the config fuzzer (fuzz/corpus/config/regression_max_positions_int64_max.json):
// 1 + min(n, max_position_embeddings) overflowed.
TEST_F(ModelConfigFiles, MaxLengthNeverOverflowsAndStaysInThePositionTable) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const fs::path cfg = config(kMax);
  const ModelConfig model = ModelConfig::load(cfg);
  const GenerationConfig generation = GenerationConfig::load(std::nullopt, cfg);
  EXPECT_EQ(resolve_max_length(generation, model, kMax), kMax);
  EXPECT_EQ(resolve_max_length(generation, model, 5), 6);

  const ModelConfig small = ModelConfig::load(config(8));
  EXPECT_EQ(resolve_max_length(generation, small, kMax), 8);
  EXPECT_EQ(resolve_max_length(generation, small, 7), 8);
  EXPECT_EQ(resolve_max_length(generation, small, 3), 4);
  EXPECT_THROW(resolve_max_length(generation, small, 0), Error);
}

}  // namespace
}  // namespace opusrt
