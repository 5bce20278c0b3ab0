// `opusrt-quantize` (run as `opusrt quantize`, see quantize_forward.cc): argument parsing only;
// the work is quantize_model() in src/quantize/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "opusrt/error.h"
#include "quantize/prepare.h"
#include "quantize/quantize.h"

namespace {

struct QuantizeArgs {
  std::string model;
  int bits = 4;
  int block = 32;
  bool symmetric = false;
  std::vector<std::string> skip;
  std::string out;
  std::string variant;
  int accuracy_level = 4;  // QuantizeOptions::accuracy_level says why 4
};

void add_quantize_options(CLI::App& app, QuantizeArgs& args) {
  app.add_option("--model", args.model, "Model directory with fp32 graphs (Optimum or Xenova layout)")->required();
  app.add_option("--bits", args.bits, "Bits per weight: 4 or 8")->capture_default_str();
  app.add_option("--block", args.block, "Weights per scale along the input dimension: 32, 64 or 128")
      ->capture_default_str();
  app.add_flag("--symmetric", args.symmetric, "No zero points (one scale per block around 2^(bits-1))");
  app.add_option("--skip", args.skip, "MatMul node or weight names to keep in float32 (comma-separated)")
      ->delimiter(',');
  app.add_option("--out", args.out,
                 "Write a new model directory (graphs + config and tokenizer copies) instead of adding the "
                 "variant next to the fp32 graphs; must not exist");
  app.add_option("--variant", args.variant, "File suffix of the new graphs (default: q4 for 4 bits, q8 for 8)");
  app.add_option("--accuracy-level", args.accuracy_level,
                 "MatMulNBits accuracy_level: 0 (fp32 activations: slow on CPU, 8-bit above all) .. 4 (int8 "
                 "activations: several times faster)")
      ->capture_default_str();
  app.footer(
      "Every MatMul with a constant weight (the output projection included) of the encoder and decoder\n"
      "graphs becomes com.microsoft MatMulNBits; load the result with --variant NAME.");
}

int run_quantize(const QuantizeArgs& args) {
  using namespace opusrt;
  QuantizeOptions options;
  options.bits = args.bits;
  options.block_size = args.block;
  options.symmetric = args.symmetric;
  options.skip = args.skip;
  options.out = args.out;
  options.variant = args.variant;
  options.accuracy_level = args.accuracy_level;
  const QuantizeResult result = quantize_model(args.model, options);
  auto megabytes = [](uint64_t bytes) { return static_cast<double>(bytes) / 1e6; };
  for (const QuantizedGraph& graph : result.graphs) {
    std::printf("%s -> %s: %zu MatMul -> MatMulNBits (%zu weights%s), %.2f MB -> %.2f MB%s\n",
                graph.source.filename().c_str(), graph.output.string().c_str(), graph.matmuls, graph.weights,
                graph.skipped > 0 ? (", " + std::to_string(graph.skipped) + " skipped").c_str() : "",
                megabytes(graph.source_bytes), megabytes(graph.output_bytes),
                graph.external_data ? " (with external data)" : "");
  }
  std::printf("variant %s (%d-bit, block %d, %s) written; translate with: opusrt translate --model %s --variant %s\n",
              result.variant.c_str(), options.bits, options.block_size, options.symmetric ? "symmetric" : "zero points",
              result.model_dir.c_str(), result.variant.c_str());
  return 0;
}

struct PrepareArgs {
  std::string model;
  std::vector<std::string> variants;
  bool force = false;
  bool all_position_logits = false;
};

int run_prepare(int argc, char** argv) {
  CLI::App app{"opusrt prepare: write a model's graphs again with their weights in external data files, which\n"
               "ONNX Runtime maps instead of parsing (faster loads, less memory), and with the decoders' output\n"
               "projection on the last position only (a forced prefix prefills in half the time): identical translations"};
  PrepareArgs args;
  app.add_option("--model", args.model, "Model directory (Optimum or Xenova layout)")->required();
  app.add_option("--variant", args.variants, "Variants to prepare, comma-separated (default: fp32), e.g. fp32,q4")
      ->delimiter(',');
  app.add_flag("--force", args.force, "Write the copies again even when they are up to date");
  app.add_flag("--all-position-logits", args.all_position_logits,
               "Keep the decoders' logits for every position (only the weights move)");
  app.footer(
      "The copies go to .opusrt-prepared/ next to the graphs, with a stamp of each source file (size and\n"
      "modification time). opusrt loads a copy in place of its graph while the stamp matches; a changed\n"
      "graph is loaded as it is until prepared again. Delete the directory to undo.");
  app.name("opusrt prepare");  // else CLI11 names it after argv[1] alone ("Usage: prepare")
  try {
    app.parse(argc - 1, argv + 1);  // argv[1] is "prepare"
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  opusrt::PrepareOptions options;
  if (!args.variants.empty()) options.variants = args.variants;
  options.force = args.force;
  options.last_position_logits = !args.all_position_logits;
  auto megabytes = [](uint64_t bytes) { return static_cast<double>(bytes) / 1e6; };
  for (const opusrt::PreparedGraph& graph : opusrt::prepare_model(args.model, options)) {
    if (graph.already_fresh)
      std::printf("%s: up to date (%s)\n", graph.source.c_str(), graph.output.c_str());
    else
      std::printf("%s -> %s (%.2f MB)\n", graph.source.c_str(), graph.output.c_str(), megabytes(graph.bytes));
    if (graph.logits_sliced > 0) std::printf("  logits of the last position only in %zu graph(s)\n", graph.logits_sliced);
    if (graph.logits_left > 0)
      std::printf("  %zu graph(s) keep logits for every position, as they must for dynamic int8 quantization (its "
                  "scale spans every position) or an output projection the rewrite does not know (same "
                  "translations)\n",
                  graph.logits_left);
  }
  return 0;
}

// Runs a command; an error is one line on stderr after the command's name and a non-zero exit.
template <typename Command>
int reporting_errors(const char* name, Command&& command) {
  try {
    return command();
  } catch (const opusrt::Error& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << name << ": unexpected error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "prepare")
    return reporting_errors("opusrt prepare", [&] { return run_prepare(argc, argv); });
  CLI::App app{"opusrt quantize: write a 4- or 8-bit weight-only variant of a model (com.microsoft MatMulNBits)"};
  QuantizeArgs args;
  add_quantize_options(app, args);
  CLI11_PARSE(app, argc, argv);
  return reporting_errors("opusrt quantize", [&] { return run_quantize(args); });
}
