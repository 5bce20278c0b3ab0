#include "commands.h"

namespace opusrt::cli {
void add_inspect_options(CLI::App& app, InspectArgs& args) {
  app.add_option("--model", args.model, "Model directory")->required();
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads")->check(CLI::NonNegativeNumber);
}
int run_inspect(const InspectArgs&) { return 1; }
}  // namespace opusrt::cli
