#include "decoder/cached_decoder.h"

#include "decoder/graph_inputs.h"
#include "opusrt/error.h"

namespace opusrt {
CachedDecoder::CachedDecoder(const DecoderGraphs& graphs, EncoderOutput encoder)
    : graphs_(graphs), encoder_(std::move(encoder)), cache_(graphs.layers()), use_cache_(use_cache_branch(true)) {
  if (graphs.mode() == DecoderMode::kRecompute) throw Error("CachedDecoder: the graphs were loaded for recompute");
  for (int64_t row = 0; row < encoder_.rows; ++row) encoder_rows_.push_back(row);
}

void CachedDecoder::drop_encoder_hidden_states() {
  // From step 1 on the encoder states live in the cached encoder K/V; the cached branch ignores
  // encoder_hidden_states, so an empty [B, 0, D] stands in and the memory is released.
  std::vector<int64_t> shape = encoder_.hidden_states.shape();
  shape[0] = encoder_.rows;
  shape[1] = 0;
  encoder_.hidden_states = runtime::Tensor::zeros(encoder_.hidden_states.type(), shape);
}

void CachedDecoder::select_rows(std::span<const int64_t> rows) {
  if (is_identity_selection(rows, encoder_.rows)) return;
  std::vector<int64_t> selected_sources;
  selected_sources.reserve(rows.size());
  for (int64_t row : rows) {
    if (row < 0 || row >= encoder_.rows)
      throw Error("decoder: select_rows: row " + std::to_string(row) + " of " + std::to_string(encoder_.rows));
    selected_sources.push_back(encoder_rows_[row]);
  }
  // Beams of one sentence share its encoder K/V; only a change of sentences moves them.
  const bool sources_change = selected_sources != encoder_rows_;
  if (sources_change) {
    encoder_.attention_mask = runtime::gather_rows(encoder_.attention_mask, rows);
    if (cache_.empty()) {
      encoder_.hidden_states = runtime::gather_rows(encoder_.hidden_states, rows);
    }
  }
  encoder_.rows = static_cast<int64_t>(rows.size());
  encoder_rows_ = std::move(selected_sources);
  if (!cache_.empty()) {
    cache_.select_rows(rows, sources_change);
    if (sources_change) drop_encoder_hidden_states();
  }
}

StepLogits CachedDecoder::prefill(std::span<const int64_t> ids, int64_t length) {
  check_prefill(ids, length, encoder_.rows, cache_.decoder_length());
  const int64_t shape[] = {encoder_.rows, length};
  std::vector<runtime::Tensor> outputs = run_prefill(runtime::Tensor::from_int64(shape, ids));
  logits_ = std::move(outputs[0]);
  const int64_t layers = graphs_.layers();
  std::vector<runtime::Tensor> keys, values, encoder_keys, encoder_values;
  for (int64_t layer = 0; layer < layers; ++layer) {
    keys.push_back(std::move(outputs[1 + 4 * layer]));
    values.push_back(std::move(outputs[2 + 4 * layer]));
    encoder_keys.push_back(std::move(outputs[3 + 4 * layer]));
    encoder_values.push_back(std::move(outputs[4 + 4 * layer]));
  }
  cache_.start(std::move(keys), std::move(values), std::move(encoder_keys), std::move(encoder_values), length);
  drop_encoder_hidden_states();
  return last_position_logits(logits_, encoder_.rows, length, widened_logits_);
}

StepLogits CachedDecoder::step(std::span<const int64_t> tokens) {
  if (static_cast<int64_t>(tokens.size()) != encoder_.rows)
    throw Error("decoder: " + std::to_string(tokens.size()) + " tokens for a batch of " +
                std::to_string(encoder_.rows) + " rows");
  if (cache_.empty()) return prefill(tokens, 1);
  const int64_t shape[] = {encoder_.rows, 1};
  std::vector<runtime::Tensor> outputs = run_cached_step(runtime::Tensor::from_int64(shape, tokens));
  logits_ = std::move(outputs[0]);
  const int64_t layers = graphs_.layers();
  std::vector<runtime::Tensor> keys, values;
  keys.reserve(layers);
  values.reserve(layers);
  for (int64_t layer = 0; layer < layers; ++layer) {
    keys.push_back(std::move(outputs[1 + 2 * layer]));
    values.push_back(std::move(outputs[2 + 2 * layer]));
  }
  cache_.advance(std::move(keys), std::move(values));
  return last_position_logits(logits_, encoder_.rows, 1, widened_logits_);
}

std::vector<runtime::Tensor> CachedDecoder::run_prefill(const runtime::Tensor& input_ids) {
  auto run_with_placeholder = [&](int64_t length) {
    return run_no_cache_graph(graphs_, encoder_, input_ids, length, graphs_.no_cache_outputs());
  };
  if (!graphs_.no_cache_graph_is_merged() || graphs_.placeholder_past_length() == 1) return run_with_placeholder(1);
  try {
    return run_with_placeholder(0);
  } catch (const Error&) {
    // Some exports' no-cache branch still shapes the unused past; length 1 gives identical outputs.
    std::vector<runtime::Tensor> outputs = run_with_placeholder(1);
    graphs_.require_placeholder_length_one();
    return outputs;
  }
}

std::vector<runtime::Tensor> CachedDecoder::run_cached_step(const runtime::Tensor& input_ids) {
  const runtime::Session& graph = graphs_.cached_graph();
  GraphInputs inputs;
  inputs.offer("input_ids", input_ids);
  inputs.offer("encoder_attention_mask", encoder_.attention_mask);
  // The merged graph declares encoder_hidden_states in both branches; the cached one ignores it.
  inputs.offer("encoder_hidden_states", encoder_.hidden_states);
  inputs.offer("use_cache_branch", use_cache_);
  for (int64_t layer = 0; layer < graphs_.layers(); ++layer) {
    const LayerKvNames& names = graphs_.names(layer);
    inputs.offer(names.past_decoder_key, cache_.decoder_key(layer));
    inputs.offer(names.past_decoder_value, cache_.decoder_value(layer));
    inputs.offer(names.past_encoder_key, cache_.encoder_key(layer));
    inputs.offer(names.past_encoder_value, cache_.encoder_value(layer));
  }
  return graph.run(inputs.for_graph(graph), graphs_.cached_outputs());
}

}  // namespace opusrt
