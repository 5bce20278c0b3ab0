// `opusrt bench --quick` on the tiny fixture: every number the speed issue names is present and
// sane. (Speed itself is measured by scripts/bench.sh, never asserted in a test.)
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/benchmark.h"
#include "opusrt/error.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

TEST(Benchmark, QuickRunReportsEveryFigure) {
  BenchmarkConfig config;
  config.model_dir = tiny_model_dir();
  config.quick = true;
  config.runs = 1;
  config.warmup = 0;
  config.new_tokens = 8;
  config.threads = 1;
  config.compare_variants = {"q4"};
  const BenchmarkResult result = run_benchmark(config);
  const nlohmann::json report = nlohmann::json::parse(result.json);
  for (const char* key : {"cache_vs_recompute_128", "step120_over_step10", "overhead_pct_batch1",
                          "batch32_over_batch1", "floor_ratio"}) {
    ASSERT_TRUE(report["summary"].contains(key)) << key;
    EXPECT_TRUE(report["summary"][key].is_number()) << key;
  }
  EXPECT_GT(report["load_ms"].get<double>(), 0);
  EXPECT_GT(report["greedy"]["batch1"]["tokens_per_s"].get<double>(), 0);
  EXPECT_GT(report["beam4"]["tokens_per_s"].get<double>(), 0);
  EXPECT_GT(report["memory"]["read_bandwidth_gb_s"].get<double>(), 0);
  // The floor in rounds: median between min and max.
  const nlohmann::json& floor = report["memory"]["floor_ratio"];
  EXPECT_LE(floor["min"].get<double>(), floor["median"].get<double>());
  EXPECT_LE(floor["median"].get<double>(), floor["max"].get<double>());
  EXPECT_EQ(report["summary"]["floor_ratio"].get<double>(), floor["median"].get<double>());
  EXPECT_EQ(report["floor_ratio"], floor);  // also at the top, where scripts/bench.sh's readers look
  // A variant against fp32 in interleaved rounds (quick: batch 1 and 4, two rounds).
  const nlohmann::json& q4 = report["variants"]["q4"];
  EXPECT_EQ(q4["baseline"], "fp32");
  EXPECT_TRUE(q4["chrf_delta"].is_null());  // quality needs the trained model: scripts/bench.sh
  for (const char* batch : {"batch1", "batch4"}) {
    const nlohmann::json& speed = q4["speed_over_fp32"][batch];
    ASSERT_EQ(speed["per_round"].size(), 2u) << batch;
    EXPECT_GT(speed["min"].get<double>(), 0) << batch;
    EXPECT_LE(speed["min"].get<double>(), speed["median"].get<double>()) << batch;
    EXPECT_LE(speed["median"].get<double>(), speed["max"].get<double>()) << batch;
    EXPECT_EQ(q4[std::string("speed_over_fp32_") + batch].get<double>(), speed["median"].get<double>()) << batch;
    EXPECT_GT(q4["greedy"][batch]["tokens_per_s"].get<double>(), 0) << batch;
  }
  EXPECT_GT(q4["files_mb"].get<double>(), 0);
  EXPECT_NE(result.markdown.find("| variant q4 |"), std::string::npos);
  EXPECT_GT(report["memory"]["peak_rss_mb"].get<double>(), 0);
  const double overhead = report["summary"]["overhead_pct_batch1"].get<double>();
  EXPECT_GE(overhead, 0);
  EXPECT_LE(overhead, 100);
  EXPECT_NE(result.markdown.find("| greedy batch1 |"), std::string::npos);
}

// One round of scripts/bench.sh's engine-vs-engine rounds: greedy batch 1 and 8, nothing else.
TEST(Benchmark, GreedyOnlyReportsBatchOneAndEight) {
  BenchmarkConfig config;
  config.model_dir = tiny_model_dir();
  config.greedy_only = true;
  config.runs = 1;
  config.warmup = 0;
  config.new_tokens = 8;
  config.threads = 1;
  const nlohmann::json report = nlohmann::json::parse(run_benchmark(config).json);
  EXPECT_GT(report["greedy"]["batch1"]["tokens_per_s"].get<double>(), 0);
  EXPECT_GT(report["greedy"]["batch8"]["tokens_per_s"].get<double>(), 0);
  EXPECT_FALSE(report.contains("memory"));  // the probe and the rest are skipped
  EXPECT_FALSE(report.contains("beam4"));
}

TEST(Benchmark, RejectsBadSettings) {
  BenchmarkConfig config;
  config.model_dir = tiny_model_dir();
  config.runs = 0;
  EXPECT_THROW(run_benchmark(config), Error);
}

// The bench measures cached decoding: an export without past is refused, saying why.
TEST(Benchmark, ExportWithoutPastIsRefusedNamingWhy) {
  BenchmarkConfig config;
  config.model_dir = fixtures_dir() / "tiny-nopast";
  try {
    run_benchmark(config);
    ADD_FAILURE() << "the bench ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoder_with_past_model.onnx"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no past"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace opusrt::test
