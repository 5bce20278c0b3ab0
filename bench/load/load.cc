// opusrt_load: N concurrent HTTP clients on loopback against `opusrt serve` with dynamic
// batching and without (--max-batch 1), printing requests/s and p50/p99 latency of each and the
// ratio as JSON. Both servers are started first, then R rounds of T seconds alternate between
// them. Bounded: at most 256 clients and 1200 measured seconds in all; it only ever talks to the
// servers it started on 127.0.0.1 (or to --url, which must be a loopback address).
//
//   opusrt_load --model build/fixtures/tiny --clients 16 --seconds 10
//   opusrt_load --url 127.0.0.1:5000 --clients 16 --seconds 10     # against a running server
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "load_paths.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Args {
  std::string model;
  std::string opusrt = OPUSRT_LOAD_CLI;
  std::string url;
  std::string texts = OPUSRT_LOAD_TEXTS;
  std::string target;
  int clients = 16;
  double seconds = 10;
  double warmup_seconds = 2;
  int workers = 2;
  int threads = 0;
  int max_batch = 16;
  int batch_wait_ms = 5;
  std::optional<int64_t> max_new_tokens;
  int alternatives = 0;
  bool only_batched = false;
  int rounds = 3;
  std::string until_file;  // with --url: stop early once this file exists
};

// `opusrt serve` as a child process on a free loopback port.
class ServerProcess {
 public:
  ServerProcess(const Args& args, int max_batch) {
    std::vector<std::string> argv = {args.opusrt,
                                     "serve",
                                     "--model",
                                     args.model,
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     "0",
                                     "--workers",
                                     std::to_string(args.workers),
                                     "--threads",
                                     std::to_string(args.threads),
                                     "--max-batch",
                                     std::to_string(max_batch),
                                     "--batch-wait-ms",
                                     std::to_string(max_batch > 1 ? args.batch_wait_ms : 0),
                                     "--queue-size",
                                     "100000"};
    if (args.max_new_tokens) {
      argv.push_back("--max-new-tokens");
      argv.push_back(std::to_string(*args.max_new_tokens));
    }
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> raw;
    for (std::string& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    const int error = posix_spawn(&pid_, args.opusrt.c_str(), &actions, nullptr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (error != 0) {
      close(out[0]);
      throw std::runtime_error("cannot start " + args.opusrt);
    }
    out_ = fdopen(out[0], "r");
    // The first line names the port: "opusrt serve: listening on http://127.0.0.1:PORT (...)".
    char line[4096];
    const std::string marker = "listening on http://127.0.0.1:";
    while (fgets(line, sizeof line, out_) != nullptr) {
      const std::string text = line;
      const size_t at = text.find(marker);
      if (at != std::string::npos) {
        port_ = std::stoi(text.substr(at + marker.size()));
        return;
      }
    }
    stop();
    throw std::runtime_error("the server exited before listening (see its stderr above)");
  }
  ~ServerProcess() { stop(); }

  int port() const { return port_; }

  // SIGTERM, then the exit status (0 when it drained cleanly).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_) fclose(out_);
    out_ = nullptr;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
  int exit_code_ = -1;
};

struct RunResult {
  size_t requests = 0;
  size_t errors = 0;       // every request without a 200 carrying a translation
  size_t no_response = 0;  // of which: no HTTP answer at all (connection refused or reset, timeout)
  double seconds = 0;
  std::vector<double> latencies_ms;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

// `clients` threads, each sending one request at a time until `seconds` passed.
RunResult drive(const std::string& host, int port, const Args& args, const std::vector<std::string>& texts,
                double seconds, bool record) {
  RunResult result;
  std::mutex mutex;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < args.clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_read_timeout(std::chrono::seconds(300));
      client.set_connection_timeout(std::chrono::seconds(10));
      std::vector<double> latencies;
      size_t errors = 0, no_response = 0;
      // --until-file lets a script end the run when its scenario is over (scripts/cluster_sim.sh).
      const auto stop_requested = [&] { return !args.until_file.empty() && std::filesystem::exists(args.until_file); };
      for (size_t k = 0; Clock::now() < deadline && !stop_requested(); ++k) {
        json body = {{"q", texts[(static_cast<size_t>(c) * 7 + k) % texts.size()]}, {"source", "auto"}};
        if (!args.target.empty()) body["target"] = args.target;
        if (args.alternatives > 0) body["alternatives"] = args.alternatives;
        const auto sent = Clock::now();
        const httplib::Result response = client.Post("/translate", body.dump(), "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        // A 200 must carry the translation: a proxy in front (see scripts/cluster_sim.sh) could
        // otherwise pass an empty or cut answer off as a success.
        bool translated = false;
        if (response && response->status == 200) {
          const json answer = json::parse(response->body, nullptr, false);
          translated = answer.is_object() && answer.contains("translatedText") && answer["translatedText"].is_string();
        }
        if (translated) {
          latencies.push_back(ms);
        } else {
          ++errors;
          if (!response) ++no_response;
          if (errors <= 3) {
            std::cerr << "opusrt_load: client " << c << ": "
                      << (response ? std::to_string(response->status) + " " + response->body
                                   : httplib::to_string(response.error()))
                      << "\n";
          }
          if (!response) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      result.errors += errors;
      result.no_response += no_response;
      result.requests += latencies.size();
      if (record) result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
    });
  }
  for (std::thread& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

// Latencies of every round, and requests/s of each.
struct Totals {
  size_t requests = 0, errors = 0, no_response = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  std::vector<double> rounds_rps;

  void add(RunResult run) {
    requests += run.requests;
    errors += run.errors;
    no_response += run.no_response;
    seconds += run.seconds;
    rounds_rps.push_back(static_cast<double>(run.requests) / run.seconds);
    latencies_ms.insert(latencies_ms.end(), run.latencies_ms.begin(), run.latencies_ms.end());
  }

  json report() {
    std::sort(latencies_ms.begin(), latencies_ms.end());
    double mean = 0;
    for (double ms : latencies_ms) mean += ms;
    if (!latencies_ms.empty()) mean /= static_cast<double>(latencies_ms.size());
    return {{"requests", requests},
            {"errors", errors},
            {"no_response", no_response},
            {"seconds", seconds},
            {"requests_per_second", seconds > 0 ? static_cast<double>(requests) / seconds : 0.0},
            {"requests_per_second_by_round", rounds_rps},
            {"p50_ms", percentile(latencies_ms, 0.50)},
            {"p99_ms", percentile(latencies_ms, 0.99)},
            {"mean_ms", mean}};
  }
};

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Server-side batch statistics from /metrics: sentences / batches.
std::optional<double> mean_batch_size(const std::string& host, int port) {
  httplib::Client client(host, port);
  const httplib::Result response = client.Get("/metrics");
  if (!response || response->status != 200) return std::nullopt;
  double sum = 0, count = 0;
  std::istringstream in(response->body);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("opusrt_batch_size_sum ")) sum = std::stod(line.substr(22));
    if (line.starts_with("opusrt_batch_size_count ")) count = std::stod(line.substr(24));
  }
  if (count <= 0) return std::nullopt;
  return sum / count;
}

// Both servers are started first and the runs alternate (batched, unbatched, batched, ...): on a
// shared machine, load from elsewhere then hits both alike.
json compare(const Args& args, const std::vector<std::string>& texts) {
  std::cerr << "opusrt_load: starting opusrt serve --max-batch " << args.max_batch << "\n";
  ServerProcess batched(args, args.max_batch);
  std::optional<ServerProcess> unbatched;
  if (!args.only_batched) {
    std::cerr << "opusrt_load: starting opusrt serve --max-batch 1\n";
    unbatched.emplace(args, 1);
  }
  if (args.warmup_seconds > 0) {
    drive("127.0.0.1", batched.port(), args, texts, args.warmup_seconds, false);
    if (unbatched) drive("127.0.0.1", unbatched->port(), args, texts, args.warmup_seconds, false);
  }
  Totals with, without;
  std::vector<double> ratios;
  for (int round = 1; round <= args.rounds; ++round) {
    std::cerr << "opusrt_load: round " << round << "/" << args.rounds << "\n";
    with.add(drive("127.0.0.1", batched.port(), args, texts, args.seconds, true));
    if (unbatched) {
      without.add(drive("127.0.0.1", unbatched->port(), args, texts, args.seconds, true));
      if (without.rounds_rps.back() > 0) ratios.push_back(with.rounds_rps.back() / without.rounds_rps.back());
    }
  }
  json report;
  report["batched"] = with.report();
  report["batched"]["max_batch"] = args.max_batch;
  report["batched"]["batch_wait_ms"] = args.batch_wait_ms;
  if (auto mean = mean_batch_size("127.0.0.1", batched.port())) report["batched"]["mean_batch_size"] = *mean;
  report["batched"]["server_exit_code"] = batched.stop();
  if (unbatched) {
    report["unbatched"] = without.report();
    report["unbatched"]["max_batch"] = 1;
    report["unbatched"]["batch_wait_ms"] = 0;
    report["unbatched"]["server_exit_code"] = unbatched->stop();
    const double rps = report["unbatched"]["requests_per_second"].get<double>();
    if (rps > 0) report["speedup_requests_per_second"] = report["batched"]["requests_per_second"].get<double>() / rps;
    report["speedup_by_round"] = ratios;
    report["speedup_median"] = median(ratios);
  }
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"opusrt_load: requests/s and latency of opusrt serve, with and without dynamic batching"};
  Args args;
  app.add_option("--model", args.model, "Model directory for the servers this starts");
  app.add_option("--opusrt", args.opusrt, "The opusrt binary")->capture_default_str();
  app.add_option("--url", args.url, "host:port of a running server on loopback: one run against it, no server started");
  app.add_option("--texts", args.texts, "Sentences to send, one per line")->check(CLI::ExistingFile)->capture_default_str();
  app.add_option("--target", args.target, "The requests' target language (default: the model's)");
  app.add_option("--clients", args.clients, "Concurrent clients")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--seconds", args.seconds, "Measured seconds per run")->check(CLI::Range(0.5, 600.0))->capture_default_str();
  app.add_option("--warmup-seconds", args.warmup_seconds, "Unmeasured seconds before each run")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  app.add_option("--workers", args.workers, "Server --workers")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--threads", args.threads, "Server --threads (ONNX Runtime intra-op)")->capture_default_str();
  app.add_option("--max-batch", args.max_batch, "Server --max-batch of the batched run")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  app.add_option("--batch-wait-ms", args.batch_wait_ms, "Server --batch-wait-ms of the batched run")->capture_default_str();
  app.add_option("--max-new-tokens", args.max_new_tokens, "Server --max-new-tokens");
  app.add_option("--alternatives", args.alternatives, "alternatives in every request")->check(CLI::Range(0, 10));
  app.add_flag("--only-batched", args.only_batched, "Skip the run without batching");
  app.add_option("--rounds", args.rounds, "Measured runs per server, alternating batched / unbatched")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_option("--until-file", args.until_file,
                 "With --url: the clients stop once this file exists (and at the latest after --seconds)");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  if (args.seconds * args.rounds * (args.only_batched || !args.url.empty() ? 1 : 2) > 1200) {
    std::cerr << "opusrt_load: --seconds x --rounds (x 2 servers) is capped at 1200 measured seconds\n";
    return 1;
  }

  std::vector<std::string> texts;
  {
    std::ifstream in(args.texts);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) texts.push_back(line);
  }
  if (texts.empty()) {
    std::cerr << "opusrt_load: no sentences in " << args.texts << "\n";
    return 1;
  }

  json report = {{"clients", args.clients}, {"seconds", args.seconds}, {"sentences", texts.size()}};
  try {
    if (!args.url.empty()) {
      const size_t colon = args.url.rfind(':');
      const std::string host = args.url.substr(0, colon);
      if (colon == std::string::npos || (host != "127.0.0.1" && host != "localhost" && host != "::1")) {
        std::cerr << "opusrt_load: --url must be a loopback host:port (127.0.0.1:5000)\n";
        return 1;
      }
      report["url"] = args.url;
      const int port = std::stoi(args.url.substr(colon + 1));
      if (args.warmup_seconds > 0) drive(host, port, args, texts, args.warmup_seconds, false);
      Totals totals;
      for (int round = 0; round < args.rounds; ++round) totals.add(drive(host, port, args, texts, args.seconds, true));
      report["run"] = totals.report();
      std::cout << report.dump(2) << std::endl;
      return 0;
    }
    if (args.model.empty()) {
      std::cerr << "opusrt_load: --model (or --url) is required\n";
      return 1;
    }
    report["model"] = args.model;
    report["workers"] = args.workers;
    report["rounds"] = args.rounds;
    if (args.max_new_tokens) report["max_new_tokens"] = *args.max_new_tokens;
    report.update(compare(args, texts));
    std::cout << report.dump(2) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "opusrt_load: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
