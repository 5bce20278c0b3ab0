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

  logits_ = std::move(outputs[0]);
  return last_position_logits(logits_, encoder_.rows, prefix_length_, last_logits_);
}

}  // namespace opusrt
