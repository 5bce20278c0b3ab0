// `opusrt serve`: flags only; the server lives in src/server/.
#include <iostream>

#include "commands.h"
#include "opusrt/hub.h"
#include "opusrt/translator.h"
#include "server/serve.h"

namespace opusrt::cli {

void add_serve_options(CLI::App& app, ServeArgs& args) {
  app.add_option("--model", args.model,
                 "Model directory (Optimum layout, or Xenova layout with onnx/), or a hub id such as "
                 "Xenova/opus-mt-en-zh (downloaded into the Hugging Face cache)")
      ->required();
  app.add_option("--variant", args.variant, kVariantHelp);
  app.add_option("--host", args.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", args.port, "Port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--workers", args.workers, "Translation workers (each runs one batch at a time)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-batch", args.max_batch, "Sentences per batch (1: no dynamic batching)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--batch-wait-ms", args.batch_wait_ms, "How long a sentence waits for others to join its batch")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--max-chars", args.max_chars, "Characters per request, all of q together (413 above)")
      ->check(kPositive)
      ->capture_default_str();
  app.add_option("--api-keys", args.api_keys, "File with one API key per line; requests must carry one (403)")
      ->check(CLI::ExistingFile);
  app.add_option("--queue-size", args.queue_size, "Sentences waiting for a worker; a request that does not fit gets 429")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--http-threads", args.http_threads, "HTTP connections served at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", args.threads, "ONNX Runtime intra-op threads (0: one per physical core)")
      ->check(kNonNegative)
      ->capture_default_str();
  app.add_option("--decoder", args.decoder, "How decoder steps run")
      ->check(CLI::IsMember({"auto", "merged", "split", "recompute"}))
      ->capture_default_str();
  app.add_option("--max-new-tokens", args.max_new_tokens, "Cap on generated tokens per sentence (default: the model's max_length)")
      ->check(kPositive);
  app.add_option("--stream-port", args.stream_port,
                 "Live speech over WebSocket on this port, path /v1/stream (0: a free port, printed; default: off)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--drain-timeout", args.drain_timeout, "Seconds SIGTERM waits for requests in flight")
      ->check(kNonNegative)
      ->capture_default_str();
  app.add_flag("--no-web", args.no_web, "Do not serve the translation page at / (the API only)");
}

int run_serve(const ServeArgs& args) {
  server::ServeConfig config;
  HubOptions hub;
  hub.variant = args.variant;
  hub.progress_bar = true;
  config.model = resolve_model(args.model, hub);
  config.variant = args.variant;
  config.host = args.host;
  config.port = args.port;
  config.workers = args.workers;
  config.max_batch = static_cast<size_t>(args.max_batch);
  config.batch_wait_ms = args.batch_wait_ms;
  config.max_chars = static_cast<size_t>(args.max_chars);
  config.api_keys_file = args.api_keys;
  config.queue_size = static_cast<size_t>(args.queue_size);
  config.http_threads = static_cast<size_t>(args.http_threads);
  config.threads = args.threads;
  config.decoder = parse_decoder_mode(args.decoder);
  config.max_new_tokens = args.max_new_tokens;
  config.drain_timeout = std::chrono::seconds(args.drain_timeout);
  config.stream_port = args.stream_port;
  config.web = !args.no_web;
  return server::serve(config, std::cout);
}

}  // namespace opusrt::cli
