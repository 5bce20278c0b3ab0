#include "opusrt/benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "decoder/cached_decoder.h"
#include "decoder/decoder_graphs.h"
#include "encoder/encoder.h"
#include "generation/generator.h"
#include "model/json_file.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "opusrt/error.h"
#include "runtime/prepared_graph.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// A ratio measured in rounds, as every ratio of the report is given: median, min and max.
json spread(const std::vector<double>& ratios) {
  return {{"median", median(ratios)},
          {"min", *std::min_element(ratios.begin(), ratios.end())},
          {"max", *std::max_element(ratios.begin(), ratios.end())}};
}

// One round of an A/B comparison: `a` then `b` on even rounds, `b` then `a` on odd ones, so that
// neither side always runs first (warm caches, a machine speeding up or slowing down).
template <typename A, typename B>
void in_alternating_order(int round, A&& a, B&& b) {
  if (round % 2 == 0) {
    a();
    b();
  } else {
    b();
    a();
  }
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Sums `count` words of `data` as four streams side by side (the hardware prefetchers follow
// each; one stream per thread under-reads the memory system), in the widest vectors the CPU has:
// GCC/Clang compile one copy per target and pick one at load time (integer adds vectorise without
// -ffast-math; a probe built for the baseline x86-64 SSE2 reads far less than a decoder step's
// AVX2/AVX-512 kernels do, which made floor_ratio come out below 1).
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
uint32_t sum_four_streams(const uint32_t* data, size_t count) {
  const size_t part = count / 4;
  const uint32_t* a = data;
  const uint32_t* b = data + part;
  const uint32_t* c = data + 2 * part;
  const uint32_t* d = data + 3 * part;
  uint32_t sa = 0, sb = 0, sc = 0, sd = 0;
  for (size_t i = 0; i < part; ++i) {
    sa += a[i];
    sb += b[i];
    sc += c[i];
    sd += d[i];
  }
  return sa + sb + sc + sd;
}

// A buffer for the read-bandwidth probe, its pages touched (so the probe reads memory, not the
// zero page).
std::vector<uint32_t> probe_buffer(size_t bytes) {
  std::vector<uint32_t> buffer(bytes / sizeof(uint32_t));
  std::iota(buffer.begin(), buffer.end(), uint32_t{1});
  return buffer;
}

// GB/s of one read of `buffer` on `threads` threads (the decoder's thread count), each reading
// its slice as four streams: the bandwidth a decoder step that reads every weight once can at
// best use. The best of three reads (the first warms the TLB and the page tables).
double read_bandwidth_gb_s(const std::vector<uint32_t>& buffer, int threads) {
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    std::vector<uint32_t> sums(static_cast<size_t>(threads), 0);
    const size_t chunk = buffer.size() / static_cast<size_t>(threads);
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] { sums[t] = sum_four_streams(buffer.data() + t * chunk, chunk); });
    for (auto& worker : workers) worker.join();
    const double elapsed = seconds_since(start);
    // The sums are used, so no compiler may drop the reads.
    volatile uint32_t sink = 0;
    for (uint32_t v : sums) sink = sink + v;
    best = std::max(best, static_cast<double>(chunk * static_cast<size_t>(threads) * sizeof(uint32_t)) / elapsed / 1e9);
  }
  return best;
}

// fp32 bytes of the weights a cached decoder step reads: every decoder layer except the cross-
// attention K/V projections (their results are cached), the output projection and its bias.
double decoder_step_weight_bytes(const ModelConfig& c, int64_t ffn) {
  const double d = static_cast<double>(c.d_model), v = static_cast<double>(c.decoder_vocab_size);
  const double f = static_cast<double>(ffn);
  const double per_layer = (4 * d * d + 4 * d)      // self-attention q, k, v, out
                           + (2 * d * d + 2 * d)    // cross-attention q, out
                           + (2 * d * f + d + f)    // feed-forward
                           + 3 * 2 * d;             // three layer norms
  return 4.0 * (static_cast<double>(c.decoder_layers) * per_layer + v * d + v);
}

class Bench {
 public:
  explicit Bench(const BenchmarkConfig& config) : config_(config) {
    session_config_.intra_op_threads = config.threads;
    session_config_.huge_pages = config.huge_pages;
    const auto start = Clock::now();
    files_ = ModelFiles::find(config.model_dir, config.variant);
    model_ = ModelConfig::load(files_.config);
    generation_ = GenerationConfig::load(files_.generation_config, files_.config);
    tokenizer_.emplace(files_.root);
    encoder_.emplace(Encoder::load(files_.encoder, session_config_, model_));
    cached_.emplace(files_, model_, session_config_, config.decoder);
    if (cached_->mode() == DecoderMode::kRecompute)
      throw Error(files_.onnx_dir.string() + ": the bench measures decoding with a KV cache and needs " +
                  "decoder_model_merged.onnx or decoder_with_past_model.onnx" +
                  (cached_->logits_only()               ? " (this export has no past: decoder_model.onnx returns logits only)"
                   : config.decoder == DecoderMode::kAuto ? " (the directory has neither)"
                                                          : " (decoder mode 'recompute' was asked)"));
    load_ms_ = seconds_since(start) * 1000;
    for (const std::string& token : tokenizer_->language_tokens())
      if (auto id = tokenizer_->token_id(token)) excluded_.insert(*id);
    excluded_.insert({tokenizer_->eos_id(), tokenizer_->pad_id(), tokenizer_->unk_id()});
    const json raw = read_json_file(files_.config);
    ffn_ = raw.value("decoder_ffn_dim", model_.d_model * 4);
  }

  // BenchmarkConfig::greedy_only: the two numbers an engine-vs-engine round compares.
  json greedy_only() {
    json out = {{"model", config_.model_dir.string()}, {"threads", config_.threads}, {"runs", config_.runs},
                {"new_tokens", config_.new_tokens}, {"source_length", config_.source_length}, {"load_ms", load_ms_}};
    for (int64_t batch : {1, 8}) {
      const Generation g = timed_generation(*cached_, batch, 1, config_.new_tokens);
      out["greedy"]["batch" + std::to_string(batch)] = {{"tokens_per_s", g.tokens_per_s}, {"seconds", g.seconds}};
    }
    return out;
  }

  json run() {
    json out;
    out["model"] = config_.model_dir.string();
    out["variant"] = files_.variant.empty() ? "fp32" : files_.variant;
    out["decoder_mode"] = to_string(cached_->mode());
    out["threads"] = config_.threads;
    out["runs"] = config_.runs;
    out["warmup"] = config_.warmup;
    out["source_length"] = config_.source_length;
    out["new_tokens"] = config_.new_tokens;
    out["hardware_threads"] = std::thread::hardware_concurrency();
    out["load_ms"] = load_ms_;
    out["prepared"] = encoder_->session().loaded_from() != encoder_->session().path();
    out["load"] = load_rounds();
    {
      runtime::HugePageReport pages = encoder_->session().huge_pages();
      std::set<const runtime::Session*> decoders = {&cached_->no_cache_graph(), &cached_->cached_graph()};
      for (const runtime::Session* s : decoders) {
        pages.advised_bytes += s->huge_pages().advised_bytes;
        pages.collapsed_bytes += s->huge_pages().collapsed_bytes;
      }
      out["huge_pages"] = {{"enabled", config_.huge_pages},
                           {"transparent_huge_pages", runtime::transparent_huge_page_mode()},
                           {"advised_mb", static_cast<double>(pages.advised_bytes) / 1e6},
                           {"collapsed_mb", static_cast<double>(pages.collapsed_bytes) / 1e6}};
    }

    for (int64_t length : quick({8, 32}, {8, 32, 128})) out["encoder_ms"][std::to_string(length)] = encoder_ms(length);
    const std::vector<int64_t> positions = quick({1, 10, 20}, {1, 10, 50, 120});
    const std::vector<double> steps = decoder_step_ms(positions);
    for (size_t i = 0; i < positions.size(); ++i) out["decoder_step_ms"][std::to_string(positions[i])] = steps[i];

    for (int64_t batch : quick({1, 4}, {1, 8, 32})) {
      const Generation g = timed_generation(*cached_, batch, 1, config_.new_tokens);
      out["greedy"]["batch" + std::to_string(batch)] = {{"tokens_per_s", g.tokens_per_s}, {"seconds", g.seconds},
                                                        {"ort_seconds", g.ort_seconds},
                                                        {"overhead_pct", g.overhead_pct}};
    }
    const Generation beam = timed_generation(*cached_, 1, 4, config_.new_tokens);
    out["beam4"] = {{"tokens_per_s", beam.tokens_per_s}, {"seconds", beam.seconds}};
    for (int64_t batch : {1, 8})
      out["prefix_prefill_over_no_prefix"]["batch" + std::to_string(batch)] = prefix_prefill_ratio(batch);

    {
      const DecoderGraphs recompute(files_, model_, session_config_, DecoderMode::kRecompute);
      for (int64_t tokens : quick({8, 16}, {32, 128})) {
        const Generation with_cache = timed_generation(*cached_, 1, 1, tokens);
        const Generation without = timed_generation(recompute, 1, 1, tokens);
        out["cache_vs_recompute"][std::to_string(tokens)] = {{"cache_seconds", with_cache.seconds},
                                                             {"recompute_seconds", without.seconds},
                                                             {"speedup", without.seconds / with_cache.seconds}};
      }
    }

    const double engine_peak_rss_mb = peak_rss_mb();  // before the probe's buffers raise the high-water mark
    out["memory"] = floor_rounds();
    out["memory"]["peak_rss_mb"] = engine_peak_rss_mb;

    const json& s = out["decoder_step_ms"];
    const json& greedy = out["greedy"];
    const std::string small = quick(std::vector<int64_t>{8}, {32}).front() == 8 ? "8" : "32";
    const std::string large = config_.quick ? "16" : "128";
    out["summary"] = {
        {"cache_vs_recompute_128", out["cache_vs_recompute"][large]["speedup"]},
        {"step120_over_step10", s[config_.quick ? "20" : "120"].get<double>() / s["10"].get<double>()},
        {"overhead_pct_batch1", greedy["batch1"]["overhead_pct"]},
        {"batch32_over_batch1", greedy[config_.quick ? "batch4" : "batch32"]["tokens_per_s"].get<double>() /
                                    greedy["batch1"]["tokens_per_s"].get<double>()},
        {"floor_ratio", out["memory"]["floor_ratio"]["median"]},
        {"prefix_prefill_over_no_prefix_batch1", out["prefix_prefill_over_no_prefix"]["batch1"]["median"]},
        {"prefix_prefill_over_no_prefix_batch8", out["prefix_prefill_over_no_prefix"]["batch8"]["median"]}};
    (void)small;
    for (const std::string& variant : config_.compare_variants) out["variants"][variant] = measure_variant(variant);
    if (config_.peer_json) add_peer(out);
    out["floor_ratio"] = out["memory"]["floor_ratio"];
    return out;
  }

 private:
  struct Generation {
    double seconds = 0, decoder_seconds = 0, ort_seconds = 0, tokens_per_s = 0, overhead_pct = 0;
  };

  std::vector<int64_t> quick(std::vector<int64_t> small, std::vector<int64_t> full) const {
    return config_.quick ? small : full;
  }

  std::vector<int64_t> source(int64_t length) {
    std::uniform_int_distribution<int64_t> pick(0, model_.vocab_size - 1);
    std::vector<int64_t> ids;
    while (static_cast<int64_t>(ids.size()) + 1 < length) {
      const int64_t id = pick(rng_);
      if (!excluded_.contains(id)) ids.push_back(id);
    }
    ids.push_back(tokenizer_->eos_id());
    return ids;
  }

  // Random target-side ids (a forced prefix): from the decoder's vocabulary, which is not the
  // source one when the model has separate vocabs; no </s>, <pad> or <unk>.
  std::vector<int64_t> target_ids(int64_t length) {
    std::uniform_int_distribution<int64_t> pick(0, model_.decoder_vocab_size - 1);
    std::vector<int64_t> ids;
    while (static_cast<int64_t>(ids.size()) < length) {
      const int64_t id = pick(rng_);
      if (!excluded_.contains(id)) ids.push_back(id);  // </s>, <pad>, <unk>, language tokens
    }
    return ids;
  }

  double encoder_ms(int64_t length) {
    const std::vector<int64_t> ids = source(length);
    const TokenBatch batch = TokenBatch::right_padded(std::span(&ids, 1), generation_.pad_token_id);
    std::vector<double> times;
    for (int run = 0; run < config_.warmup + config_.runs; ++run) {
      const auto start = Clock::now();
      encoder_->run(batch);
      if (run >= config_.warmup) times.push_back(seconds_since(start) * 1000);
    }
    return median(times);
  }

  // Latency of single decoder steps (batch 1) at the given past lengths.
  std::vector<double> decoder_step_ms(const std::vector<int64_t>& positions) {
    const std::vector<int64_t> ids = source(config_.source_length);
    const TokenBatch batch = TokenBatch::right_padded(std::span(&ids, 1), generation_.pad_token_id);
    const int64_t continuation = target_ids(1).front();  // fed instead of </s> or <pad> to keep going
    std::vector<std::vector<double>> times(positions.size());
    for (int run = 0; run < config_.warmup + config_.runs; ++run) {
      CachedDecoder decoder(*cached_, encoder_->run(batch));
      int64_t token = generation_.decoder_start_token_id;
      for (int64_t position = 0; position <= positions.back(); ++position) {
        const int64_t step[] = {token};
        const auto start = Clock::now();
        StepLogits logits = decoder.step(step);
        const double ms = seconds_since(start) * 1000;
        auto row = logits.row(0);
        token = argmax(row);
        if (token == tokenizer_->eos_id() || token == generation_.pad_token_id) token = continuation;
        const auto it = std::find(positions.begin(), positions.end(), position);
        if (it != positions.end() && run >= config_.warmup) times[it - positions.begin()].push_back(ms);
      }
    }
    std::vector<double> medians;
    for (auto& t : times) medians.push_back(median(t));
    return medians;
  }

  uint64_t ort_nanoseconds(const Encoder& encoder, const DecoderGraphs& graphs) const {
    std::set<const runtime::Session*> sessions = {&encoder.session(), &graphs.no_cache_graph()};
    if (graphs.mode() != DecoderMode::kRecompute) sessions.insert(&graphs.cached_graph());
    uint64_t total = 0;
    for (const auto* session : sessions) total += session->run_stats().nanoseconds;
    return total;
  }

  // `batch` sentences, forced to exactly `new_tokens` output tokens each (min = max), after a
  // forced target prefix of `prefix_length` tokens; through the generation layer Translator uses.
  Generation timed_generation(const DecoderGraphs& graphs, int64_t batch, int beams, int64_t new_tokens,
                              int64_t prefix_length = 0, int runs = -1) {
    return timed_generation(*encoder_, graphs, batch, beams, new_tokens, prefix_length, runs);
  }
  Generation timed_generation(const Encoder& encoder, const DecoderGraphs& graphs, int64_t batch, int beams,
                              int64_t new_tokens, int64_t prefix_length = 0, int runs = -1) {
    std::vector<std::vector<int64_t>> sources, prefixes;
    for (int64_t i = 0; i < batch; ++i) {
      sources.push_back(source(config_.source_length));
      prefixes.push_back(target_ids(prefix_length));
    }
    GenerationRequest request{generation_, new_tokens, 0};
    request.config.min_new_tokens = new_tokens;
    request.config.num_beams = beams;
    request.config.num_return_sequences = 1;
    request.config.do_sample = false;
    request.config.early_stopping = EarlyStopping::kFalse;
    const int64_t output_length = 1 + prefix_length + new_tokens;
    const int warmup = runs < 0 ? config_.warmup : 0;
    if (runs < 0) runs = config_.runs;
    std::vector<double> seconds, decoder_seconds, ort_seconds;
    for (int run = 0; run < warmup + runs; ++run) {
      const uint64_t ort_before = ort_nanoseconds(encoder, graphs);
      const auto start = Clock::now();
      EncoderOutput encoded = encoder.run(TokenBatch::right_padded(sources, generation_.pad_token_id));
      const auto decoder_start = Clock::now();
      const SearchResult result = generate(graphs, model_, std::move(encoded), request, prefixes);
      const double elapsed = seconds_since(start);
      for (const auto& hypotheses : result.hypotheses)
        if (static_cast<int64_t>(hypotheses.front().ids.size()) != output_length)
          throw Error("bench: an output was not forced to " + std::to_string(new_tokens) + " tokens");
      if (run < warmup) continue;
      seconds.push_back(elapsed);
      decoder_seconds.push_back(seconds_since(decoder_start));
      ort_seconds.push_back(static_cast<double>(ort_nanoseconds(encoder, graphs) - ort_before) / 1e9);
    }
    Generation out;
    out.seconds = median(seconds);
    out.decoder_seconds = median(decoder_seconds);
    out.ort_seconds = median(ort_seconds);
    out.tokens_per_s = static_cast<double>(batch * new_tokens) / out.seconds;
    std::vector<double> overheads;
    for (size_t i = 0; i < seconds.size(); ++i) overheads.push_back((seconds[i] - ort_seconds[i]) / seconds[i] * 100);
    out.overhead_pct = median(overheads);
    return out;
  }

  // Loading the encoder and decoder graphs (tokenizer and config excluded), from the prepared
  // copies (`opusrt prepare`) and from the source files, in interleaved rounds: median ms of each
  // and the median of the per-round ratios. Without prepared copies only the source is timed.
  json load_rounds() {
    auto load_ms = [&](bool use_prepared) {
      runtime::SessionConfig config = session_config_;
      config.use_prepared = use_prepared;
      const auto start = Clock::now();
      const Encoder encoder = Encoder::load(files_.encoder, config, model_);
      const DecoderGraphs graphs(files_, model_, config, config_.decoder);
      return seconds_since(start) * 1000;
    };
    const bool prepared = runtime::fresh_prepared_graph(files_.encoder).has_value();
    const int rounds = config_.quick ? 1 : 3;
    std::vector<double> with, without, ratios;
    for (int round = 0; round < rounds; ++round) {
      if (!prepared) {
        without.push_back(load_ms(false));
        continue;
      }
      in_alternating_order(round, [&] { with.push_back(load_ms(true)); }, [&] { without.push_back(load_ms(false)); });
      ratios.push_back(without.back() / with.back());
    }
    json out = {{"rounds", rounds}, {"source_ms", median(without)}};
    if (prepared) {
      out["prepared_ms"] = median(with);
      out["source_over_prepared"] = spread(ratios);
    }
    return out;
  }

  // The bandwidth floor of a batch-1 greedy step, measured in the same rounds as the decode:
  // each round probes the read bandwidth on a buffer the size of one step's weights and on one of
  // 1 GiB (the faster of the two sets the floor: the strictest), then decodes; floor_ratio is the
  // median of the per-round ratios (ms per token / floor ms), with min and max. Below 1 means the
  // probe under-reads, not that the weights stay in cache.
  json floor_rounds() {
    const double step_bytes = decoder_step_weight_bytes(model_, ffn_);
    const size_t step_buffer_bytes = std::max<size_t>(64u << 20, static_cast<size_t>(step_bytes));
    const size_t large_buffer_bytes = config_.quick ? (128u << 20) : (1u << 30);
    std::vector<double> step_rates, large_rates, ratios, floors, measured;
    const int rounds = config_.quick ? 2 : std::max(5, config_.runs);
    for (int round = 0; round < rounds; ++round) {
      double step_rate = 0, large_rate = 0;
      {
        const std::vector<uint32_t> buffer = probe_buffer(step_buffer_bytes);
        step_rate = read_bandwidth_gb_s(buffer, config_.threads);
      }
      {
        const std::vector<uint32_t> buffer = probe_buffer(large_buffer_bytes);
        large_rate = read_bandwidth_gb_s(buffer, config_.threads);
      }
      const Generation batch1 = timed_generation(*cached_, 1, 1, config_.new_tokens, 0, 1);
      const double ms_per_token = batch1.decoder_seconds / static_cast<double>(config_.new_tokens) * 1000;
      const double floor_ms = step_bytes / (std::max(step_rate, large_rate) * 1e9) * 1000;
      step_rates.push_back(step_rate);
      large_rates.push_back(large_rate);
      floors.push_back(floor_ms);
      measured.push_back(ms_per_token);
      ratios.push_back(ms_per_token / floor_ms);
    }
    const double ratio = median(ratios);
    json floor_ratio = spread(ratios);
    floor_ratio["rounds"] = rounds;
    return {{"read_bandwidth_gb_s", std::max(median(step_rates), median(large_rates))},
            {"read_bandwidth_gb_s_step_sized", median(step_rates)},
            {"read_bandwidth_gb_s_1gib", median(large_rates)},
            {"probe_buffer_mb", {{"step_sized", static_cast<double>(step_buffer_bytes) / 1e6},
                                 {"large", static_cast<double>(large_buffer_bytes) / 1e6}}},
            {"decoder_step_weight_mb", step_bytes / 1e6},
            {"floor_ms_per_token", median(floors)},
            {"measured_ms_per_token_batch1", median(measured)},
            {"floor_ratio", floor_ratio},
            // A ratio below 1 is impossible for a step that reads every weight: the probe is wrong.
            {"probe_suspect", ratio < 1.0}};
  }

  // Time of (32 forced prefix tokens + 16 generated) over time of (16 generated, no prefix), in
  // interleaved rounds (the order alternates): the median of per-round ratios, with min and max.
  // Forcing the prefix one step per token would give about 3; one prefill run, about 1.
  json prefix_prefill_ratio(int64_t batch) {
    const int64_t prefix_length = 32, new_tokens = 16;
    timed_generation(*cached_, batch, 1, new_tokens, prefix_length, 1);  // warm-up of both shapes
    timed_generation(*cached_, batch, 1, new_tokens, 0, 1);
    std::vector<double> ratios;
    const int rounds = std::max(5, config_.runs);
    for (int round = 0; round < rounds; ++round) {
      double with_prefix = 0, without = 0;
      in_alternating_order(
          round, [&] { without = timed_generation(*cached_, batch, 1, new_tokens, 0, 1).seconds; },
          [&] { with_prefix = timed_generation(*cached_, batch, 1, new_tokens, prefix_length, 1).seconds; });
      ratios.push_back(with_prefix / without);
    }
    json out = spread(ratios);
    out["rounds"] = rounds;
    out["prefix_tokens"] = prefix_length;
    out["new_tokens"] = new_tokens;
    return out;
  }

  // One variant's graphs on disk and at work: what a user weighs when picking `--variant`. Its
  // speed is measured against the main run's graphs (fp32 unless --variant says otherwise) in
  // interleaved rounds, the order alternating, each round one timed greedy generation of both:
  // speed_over_<main>_batchN is the median of the per-round ratios of seconds (main / variant),
  // min, max and every round beside it. chrf_delta stays null here: quality needs a trained model
  // and its test set (scripts/bench.sh fills it from the quality gate of `opusrt eval`).
  json measure_variant(const std::string& name) {
    const ModelFiles files = ModelFiles::find(config_.model_dir, name);
    const auto start = Clock::now();
    const Encoder encoder = Encoder::load(files.encoder, session_config_, model_);
    const DecoderGraphs graphs(files, model_, session_config_, config_.decoder);
    const double load_ms = seconds_since(start) * 1000;
    double bytes = 0;
    for (const std::filesystem::path& file : files.graphs()) {
      for (const std::filesystem::path& path : {file, std::filesystem::path(file.string() + "_data")}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec) bytes += static_cast<double>(size);
      }
    }
    const std::string baseline = config_.variant.empty() ? "fp32" : config_.variant;
    json out = {{"files_mb", bytes / 1e6}, {"load_ms", load_ms}, {"decoder_mode", to_string(graphs.mode())},
                {"baseline", baseline}, {"chrf_delta", nullptr}};
    const int rounds = config_.quick ? 2 : std::max(5, config_.runs);
    for (int64_t batch : quick({1, 4}, {1, 8})) {
      const std::string key = "batch" + std::to_string(batch);
      timed_generation(encoder, graphs, batch, 1, config_.new_tokens, 0, 1);  // warm-up
      std::vector<double> ratios, variant_rates, baseline_rates, overheads;
      for (int round = 0; round < rounds; ++round) {
        Generation mine, main;
        in_alternating_order(
            round, [&] { main = timed_generation(*encoder_, *cached_, batch, 1, config_.new_tokens, 0, 1); },
            [&] { mine = timed_generation(encoder, graphs, batch, 1, config_.new_tokens, 0, 1); });
        ratios.push_back(main.seconds / mine.seconds);
        variant_rates.push_back(mine.tokens_per_s);
        baseline_rates.push_back(main.tokens_per_s);
        overheads.push_back(mine.overhead_pct);
      }
      out["greedy"][key] = {{"tokens_per_s", median(variant_rates)}, {"overhead_pct", median(overheads)},
                            {"baseline_tokens_per_s", median(baseline_rates)}};
      json speed = spread(ratios);
      speed["rounds"] = rounds;
      speed["per_round"] = ratios;
      out["speed_over_" + baseline][key] = speed;
      out["speed_over_" + baseline + "_" + key] = median(ratios);
    }
    return out;
  }

  void add_peer(json& out) const {
    const json peer = read_json_file(*config_.peer_json);
    auto tokens_per_s = [&](const char* key) -> std::optional<double> {
      if (peer.contains(key) && peer[key].is_number()) return peer[key].get<double>();
      if (peer.contains(key) && peer[key].is_object() && peer[key].contains("tokens_per_s"))
        return peer[key]["tokens_per_s"].get<double>();
      return std::nullopt;
    };
    out["transformers_js"] = peer;
    for (const char* batch : {"batch1", "batch8"}) {
      const auto theirs = tokens_per_s(batch);
      if (theirs && out["greedy"].contains(batch))
        out["summary"]["vs_transformers_js"][batch] = out["greedy"][batch]["tokens_per_s"].get<double>() / *theirs;
    }
  }

  const BenchmarkConfig& config_;
  runtime::SessionConfig session_config_;
  ModelFiles files_;
  ModelConfig model_;
  GenerationConfig generation_;
  std::optional<MarianTokenizer> tokenizer_;
  std::optional<Encoder> encoder_;
  std::optional<DecoderGraphs> cached_;
  std::set<int64_t> excluded_;
  int64_t ffn_ = 0;
  double load_ms_ = 0;
  std::mt19937_64 rng_{20261128};
};

std::string fixed(double value, int digits = 2) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

std::string markdown(const json& r) {
  std::ostringstream md;
  md << "| measurement | value |\n|---|---|\n";
  md << "| model | " << r["model"].get<std::string>() << " (" << r["variant"].get<std::string>() << ", "
     << r["decoder_mode"].get<std::string>() << " decoder, "
     << r["threads"] << " threads, median of " << r["runs"] << " runs) |\n";
  md << "| load | " << fixed(r["load_ms"]) << " ms (" << (r["prepared"].get<bool>() ? "prepared copies" : "source files")
     << "; graphs alone, median: " << fixed(r["load"]["source_ms"], 0) << " ms from the source files";
  if (r["load"].contains("prepared_ms")) md << ", " << fixed(r["load"]["prepared_ms"], 0) << " ms prepared";
  md << ") |\n";
  const json& pages = r["huge_pages"];
  md << "| huge pages | " << (pages["enabled"].get<bool>() ? "on" : "off") << " (THP mode '"
     << pages["transparent_huge_pages"].get<std::string>() << "'; " << fixed(pages["collapsed_mb"], 0) << " of "
     << fixed(pages["advised_mb"], 0) << " MB advised now on huge pages) |\n";
  for (const auto& [length, ms] : r["encoder_ms"].items())
    md << "| encoder, " << length << " source tokens | " << fixed(ms) << " ms |\n";
  for (const auto& [position, ms] : r["decoder_step_ms"].items())
    md << "| decoder step at position " << position << " | " << fixed(ms) << " ms |\n";
  for (const auto& [batch, g] : r["greedy"].items())
    md << "| greedy " << batch << " | " << fixed(g["tokens_per_s"], 1) << " tok/s (outside ORT Run: "
       << fixed(g["overhead_pct"]) << " %) |\n";
  md << "| beam 4, batch 1 | " << fixed(r["beam4"]["tokens_per_s"], 1) << " tok/s |\n";
  for (const auto& [tokens, c] : r["cache_vs_recompute"].items())
    md << "| KV cache vs recompute, " << tokens << " new tokens | " << fixed(c["speedup"]) << "x |\n";
  if (r.contains("variants")) {
    for (const auto& [name, v] : r["variants"].items()) {
      md << "| variant " << name << " | " << fixed(v["files_mb"], 1) << " MB of graphs, load " << fixed(v["load_ms"], 0)
         << " ms";
      const std::string over = "speed_over_" + v["baseline"].get<std::string>();
      for (const auto& [batch, g] : v["greedy"].items())
        md << ", greedy " << batch << " " << fixed(g["tokens_per_s"], 1) << " tok/s (" << fixed(v[over][batch]["median"])
           << "x " << v["baseline"].get<std::string>() << ")";
      md << " |\n";
    }
  }
  const json& m = r["memory"];
  md << "| memory read bandwidth | " << fixed(m["read_bandwidth_gb_s"]) << " GB/s |\n";
  md << "| decoder weights read per step | " << fixed(m["decoder_step_weight_mb"], 1) << " MB |\n";
  md << "| per-token floor / measured (batch 1) | " << fixed(m["floor_ms_per_token"]) << " ms / "
     << fixed(m["measured_ms_per_token_batch1"]) << " ms |\n";
  md << "| peak RSS | " << fixed(m["peak_rss_mb"], 0) << " MB |\n";
  for (const auto& [key, value] : r["summary"].items()) {
    if (value.is_object()) {
      for (const auto& [batch, ratio] : value.items())
        md << "| " << key << " " << batch << " | " << fixed(ratio) << "x |\n";
    } else {
      md << "| " << key << " | " << fixed(value) << " |\n";
    }
  }
  return md.str();
}

}  // namespace

BenchmarkResult run_benchmark(const BenchmarkConfig& config) {
  if (config.threads < 1) throw Error("bench: threads must be at least 1");
  if (config.runs < 1) throw Error("bench: runs must be at least 1");
  if (config.new_tokens < 2) throw Error("bench: new_tokens must be at least 2");
  Bench bench(config);
  if (config.greedy_only) {
    const json report = bench.greedy_only();
    std::ostringstream md;
    for (const char* batch : {"batch1", "batch8"})
      md << "| greedy " << batch << " | " << report["greedy"][batch]["tokens_per_s"].get<double>() << " tok/s |\n";
    return {md.str(), report.dump(2)};
  }
  const json report = bench.run();
  return {markdown(report), report.dump(2)};
}

}  // namespace opusrt
