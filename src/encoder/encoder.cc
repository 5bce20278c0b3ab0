#include "encoder/encoder.h"

#include <algorithm>

#include "opusrt/error.h"

namespace opusrt {

TokenBatch TokenBatch::right_padded(std::span<const std::vector<int64_t>> sequences, int64_t pad_id) {
  TokenBatch batch;
  batch.rows = static_cast<int64_t>(sequences.size());
  for (const auto& sequence : sequences) batch.length = std::max<int64_t>(batch.length, sequence.size());
  batch.ids.assign(batch.rows * batch.length, pad_id);
  batch.mask.assign(batch.rows * batch.length, 0);
  for (int64_t row = 0; row < batch.rows; ++row) {
    std::copy(sequences[row].begin(), sequences[row].end(), batch.ids.begin() + row * batch.length);
    std::fill_n(batch.mask.begin() + row * batch.length, sequences[row].size(), 1);
  }
  return batch;
}

EncoderOutput EncoderOutput::select_rows(std::span<const int64_t> selected) const {
  EncoderOutput out;
  out.hidden_states = runtime::gather_rows(hidden_states, selected);
  out.attention_mask = runtime::gather_rows(attention_mask, selected);
  out.rows = static_cast<int64_t>(selected.size());
  out.length = length;
  return out;
}

Encoder Encoder::load(const std::filesystem::path& onnx_file, runtime::SessionConfig session_config,
                      const ModelConfig& config) {
  session_config.huge_pages = false;
  session_config.allow_spinning = false;  // run once per batch (SessionConfig::allow_spinning)
  return Encoder(runtime::Session(onnx_file, session_config), config);
}

Encoder::Encoder(runtime::Session session, const ModelConfig& config) : session_(std::move(session)) {
  const std::string file = session_.path().filename().string();
  for (const char* name : {"input_ids", "attention_mask"}) {
    const runtime::IoInfo& input = session_.input(name);
    if (input.type != runtime::ElementType::kInt64)
      throw Error(file + ": input '" + name + "' is " + input.type_name + ", expected int64");
  }
  const runtime::IoInfo& hidden = session_.output("last_hidden_state");
  if (hidden.shape.size() != 3)
    throw Error(file + ": output 'last_hidden_state' has rank " + std::to_string(hidden.shape.size()) +
                ", expected 3 [batch, sequence, d_model]");
  if (hidden.shape[2].is_fixed() && hidden.shape[2].size != config.d_model)
    throw Error(file + ": output 'last_hidden_state' has width " + std::to_string(hidden.shape[2].size) +
                ", config.json d_model = " + std::to_string(config.d_model));
  output_names_ = {"last_hidden_state"};
}

EncoderOutput Encoder::run(const TokenBatch& source) const {
  if (source.rows <= 0 || source.length <= 0) throw Error("encoder: empty source batch");
  const std::vector<int64_t> shape = {source.rows, source.length};
  EncoderOutput out;
  out.rows = source.rows;
  out.length = source.length;
  runtime::Tensor ids = runtime::Tensor::from_int64(shape, source.ids);
  out.attention_mask = runtime::Tensor::from_int64(shape, source.mask);
  const runtime::NamedTensor inputs[] = {{"input_ids", &ids}, {"attention_mask", &out.attention_mask}};
  std::vector<runtime::Tensor> outputs = session_.run(inputs, output_names_);
  out.hidden_states = std::move(outputs.front());
  return out;
}

}  // namespace opusrt
