#include <fstream>
#include <iostream>

#include "commands.h"
#include "opusrt/benchmark.h"
#include "opusrt/error.h"

namespace opusrt::cli {

void add_bench_options(CLI::App& app, BenchArgs& args) {
  app.add_option("--model", args.model, "Model directory (scripts/bench.sh generates the opus-mt-en-zh-size one)")
      ->required();
  app.add_option("--json", args.json, "Also write every number as JSON to this file");
  app.add_option("--peer-json", args.peer_json, "transformers.js results (bench/transformers_js) to compare with")
      ->check(CLI::ExistingFile);
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads")->check(kPositive);
  app.add_option("--runs", args.runs, "Timed runs per measurement (median reported)")->check(kPositive);
  app.add_option("--warmup", args.warmup, "Untimed runs first")->check(kNonNegative);
  app.add_option("--new-tokens", args.new_tokens, "Forced output length")->check(CLI::Range(2, 400));
  app.add_option("--source-length", args.source_length, "Source tokens per sentence")->check(CLI::Range(2, 500));
  app.add_flag("--quick", args.quick, "Small sizes (a smoke test, not a measurement)");
  app.add_flag("--greedy-only", args.greedy_only,
               "Only greedy tok/s at batch 1 and 8 (one round of scripts/bench.sh's engine-vs-engine rounds)");
  app.add_option("--decoder", args.decoder, "Decoder graphs: auto, merged or split")
      ->check(CLI::IsMember({"auto", "merged", "split"}));
  app.add_option("--huge-pages", args.huge_pages, "Back the weights with transparent huge pages: on (default) or off")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--variant", args.variant, "Graph variant of the main run: fp32 (default), quantized, fp16, ...");
  app.add_option("--compare-variants", args.compare_variants,
                 "Also measure these variants (size, load, greedy tok/s), e.g. fp32,quantized,fp16")
      ->delimiter(',');
}

int run_bench(const BenchArgs& args) {
  BenchmarkConfig config;
  config.model_dir = args.model;
  config.threads = args.threads;
  config.runs = args.runs;
  config.warmup = args.warmup;
  config.new_tokens = args.new_tokens;
  config.source_length = args.source_length;
  config.quick = args.quick;
  config.greedy_only = args.greedy_only;
  config.decoder = parse_decoder_mode(args.decoder);
  config.huge_pages = args.huge_pages == "on";
  config.variant = args.variant;
  config.compare_variants = args.compare_variants;
  if (!args.peer_json.empty()) config.peer_json = args.peer_json;
  const BenchmarkResult result = run_benchmark(config);
  std::cout << result.markdown << std::flush;
  if (!args.json.empty()) {
    std::ofstream out(args.json);
    if (!(out << result.json << "\n")) throw Error(args.json + ": cannot write the JSON report");
  }
  return 0;
}

}  // namespace opusrt::cli
