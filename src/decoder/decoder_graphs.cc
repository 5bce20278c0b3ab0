#include "decoder/decoder_graphs.h"

#include <charconv>
#include <set>

#include "opusrt/error.h"

namespace opusrt {
namespace {

std::string file_of(const runtime::Session& session) { return session.path().filename().string(); }

void expect_type(const runtime::Session& session, const runtime::IoInfo& info, runtime::ElementType type) {
  if (info.type != type)
    throw Error(file_of(session) + ": '" + info.name + "' is " + info.type_name + ", expected " +
                runtime::to_string(type));
}

void expect_dim(const runtime::Session& session, const runtime::IoInfo& info, size_t axis, int64_t expected,
                const std::string& config_field) {
  if (info.shape.size() <= axis || !info.shape[axis].is_fixed()) return;  // symbolic: checked at run time
  if (info.shape[axis].size != expected)
    throw Error(file_of(session) + ": '" + info.name + "' has " + std::to_string(info.shape[axis].size) +
                " at axis " + std::to_string(axis) + " " + info.shape_string() + ", config.json " + config_field +
                " = " + std::to_string(expected));
}

// L of an output named "present.L.decoder.key".
std::optional<int64_t> present_decoder_key_layer(std::string_view name) {
  constexpr std::string_view prefix = "present.", suffix = ".decoder.key";
  if (!name.starts_with(prefix) || !name.ends_with(suffix) || name.size() <= prefix.size() + suffix.size())
    return std::nullopt;
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  int64_t layer = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return layer;
}

}  // namespace

DecoderGraphs::DecoderGraphs(const ModelFiles& files, const ModelConfig& config,
                             const runtime::SessionConfig& session_config, DecoderMode mode)
    : mode_(mode) {
  // The file a mode needs, with the variant's suffix (decoder_model_merged_fp16.onnx, ...).
  auto graph_file = [&](const std::string& stem) {
    return files.variant.empty() ? stem + ".onnx" : stem + "_" + files.variant + ".onnx";
  };
  if (mode_ == DecoderMode::kAuto) {
    // Without a graph that takes a past (an export without past, Optimum's
    // `--task text2text-generation`), every step reruns decoder_model.onnx over the prefix.
    mode_ = files.decoder_merged                             ? DecoderMode::kMerged
            : files.decoder && files.decoder_with_past       ? DecoderMode::kSplit
            : files.decoder                                  ? DecoderMode::kRecompute
                                                             : DecoderMode::kMerged;  // throws below, naming it
  }
  switch (mode_) {
    case DecoderMode::kMerged:
      if (!files.decoder_merged)
        throw Error(files.onnx_dir.string() + ": decoder mode 'merged' needs " + graph_file("decoder_model_merged"));
      merged_.emplace(*files.decoder_merged, session_config);
      break;
    case DecoderMode::kSplit:
      if (!files.decoder || !files.decoder_with_past)
        throw Error(files.onnx_dir.string() +
                    ": decoder mode 'split' needs " + graph_file("decoder_model") + " and " +
                    graph_file("decoder_with_past_model"));
      // The no-cache graph runs once per batch (the prefill): its threads sleep after it rather
      // than spin next to the with-past graph's (runtime::SessionConfig::allow_spinning).
      decoder_.emplace(*files.decoder, [&] {
        runtime::SessionConfig once = session_config;
        once.allow_spinning = false;
        return once;
      }());
      decoder_with_past_.emplace(*files.decoder_with_past, session_config);
      break;
    case DecoderMode::kRecompute:
      // The oracle reruns the no-cache graph; prefer the plain one, which has no If to dispatch.
      if (!files.decoder && !files.decoder_merged)
        throw Error(files.onnx_dir.string() + ": decoder mode 'recompute' needs " + graph_file("decoder_model") +
                    " or " + graph_file("decoder_model_merged"));
      if (files.decoder) {
        decoder_.emplace(*files.decoder, session_config);
      } else {
        merged_.emplace(*files.decoder_merged, session_config);
      }
      break;
    case DecoderMode::kAuto: break;
  }

  heads_ = config.decoder_attention_heads;
  head_size_ = config.decoder_head_size();
  vocab_size_ = config.decoder_vocab_size;
  for (int64_t layer = 0; layer < config.decoder_layers; ++layer) {
    const std::string past = "past_key_values." + std::to_string(layer) + ".";
    const std::string present = "present." + std::to_string(layer) + ".";
    names_.push_back({past + "decoder.key", past + "decoder.value", past + "encoder.key", past + "encoder.value",
                      present + "decoder.key", present + "decoder.value", present + "encoder.key",
                      present + "encoder.value"});
  }

  if (merged_) check_interface(*merged_, true, true, true, config);
  if (decoder_) check_interface(*decoder_, false, true, true, config);
  if (decoder_with_past_) check_interface(*decoder_with_past_, true, false, false, config);

  if (logits_only_) return;  // no K/V to name or type
  kv_type_ = no_cache_graph().output(names_.front().present_decoder_key).type;
  no_cache_outputs_ = {"logits"};
  cached_outputs_ = {"logits"};
  for (const LayerKvNames& layer : names_) {
    no_cache_outputs_.insert(no_cache_outputs_.end(), {layer.present_decoder_key, layer.present_decoder_value,
                                                       layer.present_encoder_key, layer.present_encoder_value});
    cached_outputs_.insert(cached_outputs_.end(), {layer.present_decoder_key, layer.present_decoder_value});
  }
}

void DecoderGraphs::check_interface(const runtime::Session& session, bool has_past_inputs, bool has_encoder_inputs,
                                    bool returns_encoder_kv, const ModelConfig& config) {
  const std::string file = file_of(session);
  // Layer count as the graph sees it, from its present.L.decoder.key outputs.
  std::set<int64_t> graph_layers;
  for (const runtime::IoInfo& output : session.outputs())
    if (const auto layer = present_decoder_key_layer(output.name)) graph_layers.insert(*layer);
  // An export without past: logits only. Only the recompute mode can run it.
  const bool logits_only = graph_layers.empty() && !has_past_inputs && mode_ == DecoderMode::kRecompute;
  if (logits_only) logits_only_ = true;
  if (!logits_only && (static_cast<int64_t>(graph_layers.size()) != config.decoder_layers ||
                       (!graph_layers.empty() && *graph_layers.rbegin() != config.decoder_layers - 1)))
    throw Error(file + ": the graph has " + std::to_string(graph_layers.size()) +
                " decoder layers (present.*.decoder.key outputs), config.json decoder_layers = " +
                std::to_string(config.decoder_layers) +
                (graph_layers.empty() ? " (an export without past runs in decoder mode 'recompute' only)" : ""));

  expect_type(session, session.input("input_ids"), runtime::ElementType::kInt64);
  expect_type(session, session.input("encoder_attention_mask"), runtime::ElementType::kInt64);
  if (has_encoder_inputs) expect_dim(session, session.input("encoder_hidden_states"), 2, config.d_model, "d_model");
  if (merged_ && &session == &*merged_) {
    const runtime::IoInfo& branch = session.input("use_cache_branch");
    expect_type(session, branch, runtime::ElementType::kBool);
  }

  const runtime::IoInfo& logits = session.output("logits");
  if (logits.shape.size() != 3)
    throw Error(file + ": 'logits' has shape " + logits.shape_string() + ", expected [batch, sequence, vocab]");
  expect_dim(session, logits, 2, config.decoder_vocab_size, "decoder_vocab_size");

  if (logits_only) return;
  for (const LayerKvNames& layer : names_) {
    std::vector<const runtime::IoInfo*> kv = {&session.output(layer.present_decoder_key),
                                              &session.output(layer.present_decoder_value)};
    if (returns_encoder_kv) {
      kv.push_back(&session.output(layer.present_encoder_key));
      kv.push_back(&session.output(layer.present_encoder_value));
    }
    if (has_past_inputs) {
      for (const std::string* name : {&layer.past_decoder_key, &layer.past_decoder_value, &layer.past_encoder_key,
                                      &layer.past_encoder_value})
        kv.push_back(&session.input(*name));
    }
    for (const runtime::IoInfo* info : kv) {
      if (info->shape.size() != 4)
        throw Error(file + ": '" + info->name + "' has shape " + info->shape_string() +
                    ", expected [batch, heads, length, head_size]");
      expect_dim(session, *info, 1, config.decoder_attention_heads, "decoder_attention_heads");
      expect_dim(session, *info, 3, config.decoder_head_size(), "d_model / decoder_attention_heads");
    }
  }
}

const runtime::Session& DecoderGraphs::no_cache_graph() const {
  if (decoder_) return *decoder_;
  if (merged_) return *merged_;
  throw Error("decoder: no no-cache graph loaded");
}

const runtime::Session& DecoderGraphs::cached_graph() const {
  if (mode_ == DecoderMode::kMerged) return *merged_;
  if (mode_ == DecoderMode::kSplit) return *decoder_with_past_;
  throw Error("decoder: mode 'recompute' has no cached graph");
}

}  // namespace opusrt
