#pragma once

// `opusrt bench` as a library call: the numbers of the speed issue, measured on one model in one
// process, with explicit threads, warm-up runs, and medians of the timed runs.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "opusrt/translator.h"

namespace opusrt {

struct BenchmarkConfig {
  std::filesystem::path model_dir;
  int threads = 2;            // ONNX Runtime intra-op threads (and the bandwidth probe's threads)
  int runs = 5;               // timed runs per measurement; the median is reported
  int warmup = 1;             // untimed runs first
  int64_t source_length = 25; // tokens per synthetic source sentence (</s> included)
  int64_t new_tokens = 64;    // forced output length (min = max new tokens)
  bool quick = false;         // smaller sizes and batches, for tests
  // Greedy tokens/s at batch 1 and 8 only (one round of scripts/bench.sh's engine-vs-engine
  // rounds, which alternate this with transformers.js); everything else is skipped.
  bool greedy_only = false;
  DecoderMode decoder = DecoderMode::kAuto;
  bool huge_pages = true;     // TranslatorConfig::huge_pages  // which decoder graphs the cached runs use
  std::string variant;        // "" or "fp32", or a file suffix ("quantized", "fp16", ...): the main run
  // Other variants to compare (file size, load time, greedy tokens/s at batch 1 and 8); "fp32"
  // names the plain files. Empty: none.
  std::vector<std::string> compare_variants;
  // Optional JSON from bench/transformers_js/bench.mjs ({"batch1": tok/s, "batch8": tok/s} or
  // its full output): adds the opusrt / transformers.js ratios.
  std::optional<std::filesystem::path> peer_json;
};

struct BenchmarkResult {
  std::string markdown;  // a table for humans
  std::string json;      // every number, including the summary ratios the issue names
};

BenchmarkResult run_benchmark(const BenchmarkConfig& config);

}  // namespace opusrt
