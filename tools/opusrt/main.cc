// The `opusrt` command line: argument parsing only; the work happens in the library.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string_view>

#include "commands.h"
#include "opusrt/error.h"

int main(int argc, char** argv) {
  if (argc >= 2 && (std::string_view(argv[1]) == "quantize" || std::string_view(argv[1]) == "prepare"))
    return opusrt::cli::exec_quantize(argc, argv);
  CLI::App app{"opusrt: translate text with Marian / OPUS-MT models exported to ONNX"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "opusrt 0.1.0");

  opusrt::cli::TranslateArgs translate_args;
  CLI::App* translate = app.add_subcommand("translate", "Translate UTF-8 lines from stdin (or --input), one output line per input line");
  opusrt::cli::add_translate_options(*translate, translate_args);

  opusrt::cli::InspectArgs inspect_args;
  CLI::App* inspect = app.add_subcommand("inspect", "Print every graph's interface and check the decoder's KV cache");
  opusrt::cli::add_inspect_options(*inspect, inspect_args);

  opusrt::cli::DownloadArgs download_args;
  CLI::App* download = app.add_subcommand("download", "Download a model from the Hugging Face hub into its cache; print the local directory");
  opusrt::cli::add_download_options(*download, download_args);

  opusrt::cli::ServeArgs serve_args;
  CLI::App* serve = app.add_subcommand("serve", "Serve LibreTranslate's HTTP API (POST /translate) with dynamic batching");
  opusrt::cli::add_serve_options(*serve, serve_args);

  opusrt::cli::BenchArgs bench_args;
  CLI::App* bench = app.add_subcommand("bench", "Measure speed: encoder, decoder steps, tokens/s, cache vs recompute, bandwidth floor");
  opusrt::cli::add_bench_options(*bench, bench_args);

  opusrt::cli::StreamArgs stream_args;
  CLI::App* stream = app.add_subcommand("stream", "Live speech: translate growing partial transcripts (JSON lines) incrementally");
  opusrt::cli::add_stream_options(*stream, stream_args);

  opusrt::cli::EvalArgs eval_args;
  CLI::App* eval = app.add_subcommand("eval", "Translate a test set and score it: chrF2 and BLEU (sacreBLEU's), tokens/s");
  opusrt::cli::add_eval_options(*eval, eval_args);

  // Listed here for --help; run by another program (exec_quantize) before CLI11 parses anything.
  app.add_subcommand("quantize", "Write a 4- or 8-bit weight-only variant of a model (MatMulNBits); see opusrt quantize --help")
      ->allow_extras();
  app.add_subcommand("prepare", "Write the graphs again with external weights, which load faster and in less memory; see opusrt prepare --help")
      ->allow_extras();

  CLI11_PARSE(app, argc, argv);
  try {
    if (translate->parsed()) return opusrt::cli::run_translate(translate_args);
    if (inspect->parsed()) return opusrt::cli::run_inspect(inspect_args);
    if (bench->parsed()) return opusrt::cli::run_bench(bench_args);
    if (stream->parsed()) return opusrt::cli::run_stream(stream_args);
    if (serve->parsed()) return opusrt::cli::run_serve(serve_args);
    if (download->parsed()) return opusrt::cli::run_download(download_args);
    if (eval->parsed()) return opusrt::cli::run_eval(eval_args);
  } catch (const opusrt::Error& e) {
    std::cerr << "opusrt: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "opusrt: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
