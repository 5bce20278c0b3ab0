#include <iostream>

#include "commands.h"
#include "opusrt/hub.h"
#include "opusrt/inspect.h"

namespace opusrt::cli {

void add_inspect_options(CLI::App& app, InspectArgs& args) {
  app.add_option("--model", args.model, "Model directory, or a hub id such as Xenova/opus-mt-en-zh")->required();
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: one per physical core)")
      ->check(kNonNegative);
}

int run_inspect(const InspectArgs& args) {
  HubOptions hub;
  hub.progress_bar = true;
  const InspectReport report = inspect_model(resolve_model(args.model, hub), args.threads);
  for (const GraphDescription& graph : report.graphs) {
    std::cout << graph.file << "\n  inputs:\n";
    for (const TensorDescription& t : graph.inputs) std::cout << "    " << t.name << "  " << t.type << " " << t.shape << "\n";
    std::cout << "  outputs:\n";
    for (const TensorDescription& t : graph.outputs) std::cout << "    " << t.name << "  " << t.type << " " << t.shape << "\n";
  }
  for (const StepShapes& step : report.steps) {
    std::cout << step.label << ":\n";
    for (const TensorDescription& t : step.presents) std::cout << "    " << t.name << "  " << t.shape << "\n";
  }
  std::cout << "checks:\n";
  for (const InspectCheck& check : report.checks)
    std::cout << "  [" << (check.passed ? "ok" : "FAIL") << "] " << check.name << ": " << check.detail << "\n";
  std::cout << (report.passed() ? "inspect: all checks passed\n" : "inspect: some checks FAILED\n");
  return report.passed() ? 0 : 1;
}

}  // namespace opusrt::cli
