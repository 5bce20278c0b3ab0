#include <filesystem>
#include <iostream>

#include "commands.h"
#include "model/model_files.h"
#include "opusrt/hub.h"

namespace opusrt::cli {

void add_download_options(CLI::App& app, DownloadArgs& args) {
  app.add_option("model", args.model, "Hub model id owner/name (e.g. Xenova/opus-mt-en-zh), or a local model directory")
      ->required();
  app.add_option("--revision", args.revision, "Branch, tag or commit hash")->capture_default_str();
  app.add_option("--variant", args.variant, "Graph variant: fp32 (default), fp16, quantized, ... (*_<variant>.onnx)");
  app.add_flag("-q,--quiet", args.quiet, "No progress bar");
  app.footer(
      "Files go to the Hugging Face cache ($HF_HOME/hub, default ~/.cache/huggingface/hub).\n"
      "Environment: HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE=1 (cache only).");
}

int run_download(const DownloadArgs& args) {
  HubOptions options;
  options.revision = args.revision;
  options.variant = args.variant;
  options.progress_bar = !args.quiet;
  const std::filesystem::path model = resolve_model(args.model, options);
  // A local directory is returned as it is: say now, not at load time, if it lacks the variant.
  std::error_code ec;
  if (std::filesystem::is_directory(args.model, ec)) ModelFiles::find(model, args.variant);
  std::cout << model.string() << "\n";
  return 0;
}

}  // namespace opusrt::cli
