#pragma once

// The decoder graphs of one model, loaded once and shared (read-only) by every decoding run:
// the merged graph, or the split pair (no-cache + with-past), with their interfaces checked
// against config.json and the per-layer K/V tensor names worked out.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/model_files.h"
#include "opusrt/types.h"
#include "runtime/session.h"

namespace opusrt {

struct LayerKvNames {
  std::string past_decoder_key, past_decoder_value, past_encoder_key, past_encoder_value;
  std::string present_decoder_key, present_decoder_value, present_encoder_key, present_encoder_value;
};

class DecoderGraphs {
 public:
  // Loads the graphs `mode` needs (kAuto resolves to kMerged, else kSplit, else kRecompute when
  // decoder_model.onnx is the only decoder graph); throws naming the file.
  DecoderGraphs(const ModelFiles& files, const ModelConfig& config, const runtime::SessionConfig& session_config,
                DecoderMode mode);

  DecoderMode mode() const { return mode_; }
  int64_t layers() const { return static_cast<int64_t>(names_.size()); }
  int64_t heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  int64_t vocab_size() const { return vocab_size_; }
  const LayerKvNames& names(int64_t layer) const { return names_.at(layer); }

  // Step 0 (and every recompute step): merged, or decoder_model.onnx.
  const runtime::Session& no_cache_graph() const;
  // Steps >= 1 with a cache: merged, or decoder_with_past_model.onnx.
  const runtime::Session& cached_graph() const;
  bool no_cache_graph_is_merged() const { return merged_.has_value(); }
  // The no-cache graph returns logits only (an export without past): recompute mode, no K/V.
  bool logits_only() const { return logits_only_; }

  // The element type the graph declares for past/present K/V (float32, or float16 in _fp16).
  runtime::ElementType kv_type() const { return kv_type_; }

  // Length of the placeholder past fed to the merged graph's no-cache branch: 0, or 1 once a
  // model has refused 0 (Optimum 1.16's runtime fed 1; both give identical outputs).
  int64_t placeholder_past_length() const { return placeholder_past_length_.load(); }
  void require_placeholder_length_one() const { placeholder_past_length_.store(1); }

  // The names of all outputs of a no-cache step / a cached step, logits first, then per layer.
  const std::vector<std::string>& no_cache_outputs() const { return no_cache_outputs_; }
  const std::vector<std::string>& cached_outputs() const { return cached_outputs_; }

 private:
  void check_interface(const runtime::Session& session, bool has_past_inputs, bool has_encoder_inputs,
                       bool returns_encoder_kv, const ModelConfig& config);

  DecoderMode mode_;
  std::optional<runtime::Session> merged_;
  std::optional<runtime::Session> decoder_;
  std::optional<runtime::Session> decoder_with_past_;
  std::vector<LayerKvNames> names_;
  int64_t heads_ = 0, head_size_ = 0, vocab_size_ = 0;
  runtime::ElementType kv_type_ = runtime::ElementType::kFloat32;
  bool logits_only_ = false;
  mutable std::atomic<int64_t> placeholder_past_length_{0};
  std::vector<std::string> no_cache_outputs_, cached_outputs_;
};

}  // namespace opusrt
