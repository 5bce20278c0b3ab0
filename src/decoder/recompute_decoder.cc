#include "decoder/recompute_decoder.h"

#include "decoder/graph_inputs.h"
#include "opusrt/error.h"

namespace opusrt {

RecomputeDecoder::RecomputeDecoder(const DecoderGraphs& graphs, EncoderOutput encoder)
    : graphs_(graphs), encoder_(std::move(encoder)), prefixes_(encoder_.rows) {}

void RecomputeDecoder::select_rows(std::span<const int64_t> rows) {
  if (is_identity_selection(rows, encoder_.rows)) return;
  std::vector<std::vector<int64_t>> prefixes;
  prefixes.reserve(rows.size());
  for (int64_t row : rows) {
    if (row < 0 || row >= encoder_.rows)
      throw Error("decoder: select_rows: row " + std::to_string(row) + " of " + std::to_string(encoder_.rows));
    prefixes.push_back(prefixes_[row]);
  }
  prefixes_ = std::move(prefixes);
  encoder_ = encoder_.select_rows(rows);
}

StepLogits RecomputeDecoder::prefill(std::span<const int64_t> ids, int64_t length) {
  check_prefill(ids, length, encoder_.rows, prefix_length_);
  for (int64_t row = 0; row < encoder_.rows; ++row)
    prefixes_[row].assign(ids.begin() + row * length, ids.begin() + (row + 1) * length);
  prefix_length_ = length;
  return run_prefixes();
}

StepLogits RecomputeDecoder::step(std::span<const int64_t> tokens) {
  if (static_cast<int64_t>(tokens.size()) != encoder_.rows)
    throw Error("decoder: " + std::to_string(tokens.size()) + " tokens for a batch of " +
                std::to_string(encoder_.rows) + " rows");
  for (int64_t row = 0; row < encoder_.rows; ++row) prefixes_[row].push_back(tokens[row]);
  ++prefix_length_;
  return run_prefixes();
}

StepLogits RecomputeDecoder::run_prefixes() {
  std::vector<int64_t> ids;
  ids.reserve(encoder_.rows * prefix_length_);
  for (const std::vector<int64_t>& prefix : prefixes_) ids.insert(ids.end(), prefix.begin(), prefix.end());
  const int64_t shape[] = {encoder_.rows, prefix_length_};
  const runtime::Tensor input_ids = runtime::Tensor::from_int64(shape, ids);
  static const std::vector<std::string> logits_only = {"logits"};
  std::vector<runtime::Tensor> outputs =
      run_no_cache_graph(graphs_, encoder_, input_ids, graphs_.placeholder_past_length(), logits_only);

  const std::vector<int64_t> logits_shape = outputs[0].shape();
  if (logits_shape.size() != 3 || logits_shape[0] != encoder_.rows || logits_shape[1] != prefix_length_)
    throw Error("decoder: 'logits' came back with shape " + runtime::shape_to_string(logits_shape) +
                " for a prefix of " + std::to_string(prefix_length_));
  const int64_t vocab = logits_shape[2];
  const std::vector<float> all = outputs[0].to_float_vector();
  last_logits_.resize(encoder_.rows * vocab);
  for (int64_t row = 0; row < encoder_.rows; ++row) {
    const float* last = all.data() + (row * prefix_length_ + prefix_length_ - 1) * vocab;
    std::copy(last, last + vocab, last_logits_.begin() + row * vocab);
  }
  return {last_logits_.data(), encoder_.rows, vocab};
}

}  // namespace opusrt
