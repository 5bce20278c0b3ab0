#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "decoder/cached_decoder.h"
#include "decoder/decoder_graphs.h"
#include "decoder/recompute_decoder.h"
#include "encoder/encoder.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "opusrt/error.h"
#include "opusrt/inspect.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt {
namespace {

// Cached and recomputed logits are the same arithmetic in another order: fp32 noise only.
constexpr double kLogitTolerance = 1e-4;
constexpr const char* kProbeText = "Hello world.";

GraphDescription describe(const runtime::Session& session) {
  GraphDescription graph;
  graph.file = session.path().filename().string();
  for (const runtime::IoInfo& info : session.inputs()) graph.inputs.push_back({info.name, info.type_name, info.shape_string()});
  for (const runtime::IoInfo& info : session.outputs())
    graph.outputs.push_back({info.name, info.type_name, info.shape_string()});
  return graph;
}

std::string shape_of(const runtime::Tensor& tensor) { return runtime::shape_to_string(tensor.shape()); }

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
  return diff;
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::vector<float> copy_row(const StepLogits& logits) {
  auto row = logits.row(0);
  return {row.begin(), row.end()};
}

// Step-1 input: the best step-0 token other than pad (generate never picks pad).
int64_t pick_token(const std::vector<float>& logits, int64_t pad_id) {
  int64_t best = -1;
  for (int64_t id = 0; id < static_cast<int64_t>(logits.size()); ++id)
    if (id != pad_id && (best < 0 || logits[id] > logits[best])) best = id;
  return best;
}

struct DecoderRun {
  std::vector<float> step0_logits, step1_logits;
};

class Inspector {
 public:
  Inspector(const std::filesystem::path& dir, int threads) : files_(ModelFiles::find(dir)) {
    session_config_.intra_op_threads = threads;
    session_config_.huge_pages = false;  // inspect loads to check, not to run fast
  }

  InspectReport run() {
    if (!attempt("config.json and generation_config.json are valid", [&] {
          config_ = ModelConfig::load(files_.config);
          generation_ = GenerationConfig::load(files_.generation_config, files_.config);
          return "d_model " + std::to_string(config_->d_model) + ", " + std::to_string(config_->encoder_layers) +
                 "+" + std::to_string(config_->decoder_layers) + " layers, " +
                 std::to_string(config_->decoder_attention_heads) + " heads, vocab " +
                 std::to_string(config_->vocab_size) +
                 (config_->decoder_vocab_size != config_->vocab_size
                      ? " (decoder " + std::to_string(config_->decoder_vocab_size) + ")"
                      : "");
        }))
      return std::move(report_);
    describe_graphs();
    if (!attempt("tokenizer loads and matches config.json", [&] {
          tokenizer_.emplace(files_.root);
          tokenizer_->check_sizes(config_->vocab_size, config_->decoder_vocab_size, "config.json");
          if (config_->decoder_vocab_size != config_->vocab_size)
            return std::to_string(tokenizer_->vocab_size()) + " source and " +
                   std::to_string(tokenizer_->target_vocab_size()) + " target entries (separate vocabs)";
          return std::to_string(tokenizer_->vocab_size()) + " entries";
        }))
      return std::move(report_);
    if (!attempt("encoder runs", [&] {
          encoder_.emplace(Encoder::load(files_.encoder, session_config_, *config_));
          const std::vector<int64_t> ids = tokenizer_->encode(kProbeText);
          encoded_ = encoder_->run(TokenBatch::right_padded(std::span(&ids, 1), generation_->pad_token_id));
          return std::string("\"") + kProbeText + "\" -> last_hidden_state " + shape_of(encoded_.hidden_states);
        }))
      return std::move(report_);

    std::optional<DecoderRun> merged, split;
    if (files_.decoder_merged) merged = check_cached_decoder(DecoderMode::kMerged);
    if (files_.decoder && files_.decoder_with_past) split = check_cached_decoder(DecoderMode::kSplit);
    if (!files_.decoder_merged && !files_.decoder_with_past && files_.decoder)
      add("decoder graphs", true,
          "decoder_model.onnx only (an export without past): no KV cache, every step reruns the decoder over the "
          "prefix (decoder mode 'recompute')");
    std::optional<DecoderRun> recomputed = run_recompute();
    for (auto* run : {&merged, &split}) {
      if (!*run || !recomputed) continue;
      const std::string which = run == &merged ? "merged" : "split";
      const double diff = max_abs_diff((*run)->step1_logits, recomputed->step1_logits);
      add("cached step-1 logits equal recomputed (" + which + ")", diff <= kLogitTolerance,
          "max |diff| " + number(diff) + " (tolerance " + number(kLogitTolerance) + ")");
    }
    if (merged && split) {
      const double diff = std::max(max_abs_diff(merged->step0_logits, split->step0_logits),
                                   max_abs_diff(merged->step1_logits, split->step1_logits));
      add("merged and split decoders agree", diff <= kLogitTolerance, "max |diff| " + number(diff));
    }
    return std::move(report_);
  }

 private:
  template <typename F>
  bool attempt(const std::string& name, F&& body) {
    try {
      add(name, true, body());
      return true;
    } catch (const std::exception& e) {
      add(name, false, e.what());
      return false;
    }
  }

  void add(const std::string& name, bool passed, const std::string& detail) {
    report_.checks.push_back({name, passed, detail});
  }

  void describe_graphs() {
    for (const std::filesystem::path& file : files_.graphs()) {
      attempt(file.filename().string() + " loads", [&] {
        runtime::Session session(file, session_config_);
        report_.graphs.push_back(describe(session));
        return std::to_string(session.inputs().size()) + " inputs, " + std::to_string(session.outputs().size()) +
               " outputs";
      });
    }
  }

  std::optional<DecoderRun> check_cached_decoder(DecoderMode mode) {
    const std::string which = to_string(mode);
    std::optional<DecoderGraphs> graphs;
    if (!attempt(which + " decoder interface matches config.json", [&] {
          graphs.emplace(files_, *config_, session_config_, mode);
          return std::to_string(graphs->layers()) + " layers, " + std::to_string(graphs->heads()) + " heads of " +
                 std::to_string(graphs->head_size()) + ", K/V " + runtime::to_string(graphs->kv_type());
        }))
      return std::nullopt;

    DecoderRun run;
    const bool ok = attempt(which + " step 0 and step 1 run", [&] {
      CachedDecoder decoder(*graphs, fresh_encoding());
      const int64_t start[] = {generation_->decoder_start_token_id};
      run.step0_logits = copy_row(decoder.step(start));
      record_cache(which + " step 0 (no cache, placeholder past " +
                       std::to_string(graphs->placeholder_past_length()) + ")",
                   decoder.cache(), true);
      check_step0(which, decoder.cache());
      const int64_t next[] = {pick_token(run.step0_logits, generation_->pad_token_id)};
      run.step1_logits = copy_row(decoder.step(next));
      record_cache(which + " step 1 (cache, input token " + std::to_string(next[0]) + ")", decoder.cache(), false);
      add(which + ": decoder past grows by exactly one", decoder.cache().decoder_length() == 2,
          "length 1 after step 0, " + std::to_string(decoder.cache().decoder_length()) + " after step 1");
      return "logits width " + std::to_string(run.step1_logits.size());
    });
    if (!ok) return std::nullopt;

    if (mode == DecoderMode::kMerged && graphs->placeholder_past_length() == 0) {
      attempt("merged: placeholder past of length 0 and 1 give the same step 0", [&] {
        graphs->require_placeholder_length_one();
        CachedDecoder decoder(*graphs, fresh_encoding());
        const int64_t start[] = {generation_->decoder_start_token_id};
        const double diff = max_abs_diff(copy_row(decoder.step(start)), run.step0_logits);
        if (diff > kLogitTolerance) throw Error("max |diff| " + number(diff));
        return "max |diff| " + number(diff);
      });
    }
    return run;
  }

  // Each decoder run takes ownership of its encoder output: a copy of the probe's.
  EncoderOutput fresh_encoding() const {
    const int64_t row[] = {0};
    return encoded_.select_rows(row);
  }

  void check_step0(const std::string& which, const KvCache& cache) {
    bool ok = cache.decoder_length() == 1;
    std::string detail = "decoder K/V length " + std::to_string(cache.decoder_length());
    for (int64_t layer = 0; layer < cache.layers(); ++layer) {
      const std::vector<int64_t> shape = cache.encoder_key(layer).shape();
      ok = ok && shape.size() == 4 && shape[2] == encoded_.length;
    }
    detail += ", encoder K/V length " + std::to_string(cache.encoder_key(0).shape()[2]) + " for a source of " +
              std::to_string(encoded_.length);
    add(which + ": step 0 keeps decoder K/V of length 1 and encoder K/V of the source length", ok, detail);
  }

  void record_cache(const std::string& label, const KvCache& cache, bool with_encoder) {
    StepShapes step{label, {}};
    for (int64_t layer = 0; layer < cache.layers(); ++layer) {
      const std::string prefix = "present." + std::to_string(layer) + ".";
      step.presents.push_back({prefix + "decoder.key", "", shape_of(cache.decoder_key(layer))});
      step.presents.push_back({prefix + "decoder.value", "", shape_of(cache.decoder_value(layer))});
      if (with_encoder) {
        step.presents.push_back({prefix + "encoder.key", "", shape_of(cache.encoder_key(layer))});
        step.presents.push_back({prefix + "encoder.value", "", shape_of(cache.encoder_value(layer))});
      }
    }
    report_.steps.push_back(std::move(step));
  }

  std::optional<DecoderRun> run_recompute() {
    DecoderRun run;
    const bool ok = attempt("recompute (no cache) step 0 and step 1 run", [&] {
      DecoderGraphs graphs(files_, *config_, session_config_, DecoderMode::kRecompute);
      RecomputeDecoder decoder(graphs, fresh_encoding());
      const int64_t start[] = {generation_->decoder_start_token_id};
      run.step0_logits = copy_row(decoder.step(start));
      const int64_t next[] = {pick_token(run.step0_logits, generation_->pad_token_id)};
      run.step1_logits = copy_row(decoder.step(next));
      return std::string("prefix of 2 rerun in full");
    });
    if (!ok) return std::nullopt;
    return run;
  }

  ModelFiles files_;
  runtime::SessionConfig session_config_;
  std::optional<ModelConfig> config_;
  std::optional<GenerationConfig> generation_;
  std::optional<MarianTokenizer> tokenizer_;
  std::optional<Encoder> encoder_;
  EncoderOutput encoded_;
  InspectReport report_;
};

}  // namespace

InspectReport inspect_model(const std::filesystem::path& model_dir, int intra_op_threads) {
  return Inspector(model_dir, intra_op_threads).run();
}

}  // namespace opusrt
