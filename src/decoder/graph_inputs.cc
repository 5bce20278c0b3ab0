#include "decoder/graph_inputs.h"

#include "opusrt/error.h"

namespace opusrt {

std::vector<runtime::NamedTensor> GraphInputs::for_graph(const runtime::Session& session) const {
  std::vector<runtime::NamedTensor> fed;
  fed.reserve(session.inputs().size());
  for (const runtime::IoInfo& declared : session.inputs()) {
    const runtime::NamedTensor* match = nullptr;
    for (const runtime::NamedTensor& offered : offered_)
      if (offered.name == declared.name) match = &offered;
    if (match == nullptr)
      throw Error(session.path().filename().string() + ": declares input '" + declared.name +
                  "', which opusrt does not know how to feed");
    fed.push_back(*match);
  }
  return fed;
}

runtime::Tensor placeholder_past(const DecoderGraphs& graphs, int64_t rows, int64_t length) {
  const int64_t shape[] = {rows, graphs.heads(), length, graphs.head_size()};
  return runtime::Tensor::zeros(graphs.kv_type(), shape);
}

void offer_as_every_past(const DecoderGraphs& graphs, const runtime::Tensor& past, GraphInputs& inputs) {
  for (int64_t layer = 0; layer < graphs.layers(); ++layer) {
    const LayerKvNames& names = graphs.names(layer);
    inputs.offer(names.past_decoder_key, past);
    inputs.offer(names.past_decoder_value, past);
    inputs.offer(names.past_encoder_key, past);
    inputs.offer(names.past_encoder_value, past);
  }
}

runtime::Tensor use_cache_branch(bool value) {
  const int64_t shape[] = {1};
  const bool values[] = {value};
  return runtime::Tensor::from_bool(shape, values);
}

std::vector<runtime::Tensor> run_no_cache_graph(const DecoderGraphs& graphs, const EncoderOutput& encoder,
                                                const runtime::Tensor& input_ids, int64_t past_length,
                                                const std::vector<std::string>& outputs) {
  const runtime::Session& graph = graphs.no_cache_graph();
  const runtime::Tensor no_cache = use_cache_branch(false);
  const runtime::Tensor past = placeholder_past(graphs, encoder.rows, past_length);
  GraphInputs inputs;
  inputs.offer("input_ids", input_ids);
  inputs.offer("encoder_attention_mask", encoder.attention_mask);
  inputs.offer("encoder_hidden_states", encoder.hidden_states);
  inputs.offer("use_cache_branch", no_cache);
  offer_as_every_past(graphs, past, inputs);
  return graph.run(inputs.for_graph(graph), outputs);
}

StepLogits last_position_logits(runtime::Tensor& logits, int64_t rows, int64_t positions, std::vector<float>& buffer) {
  const std::vector<int64_t> shape = logits.shape();
  if (shape.size() != 3 || shape[0] != rows || (shape[1] != positions && shape[1] != 1))
    throw Error("decoder: 'logits' came back with shape " + runtime::shape_to_string(shape) + ", expected [" +
                std::to_string(rows) + ", " + std::to_string(positions) + " (or 1), vocab]");
  const int64_t returned = shape[1], vocab = shape[2];
  if (returned == 1 && logits.type() == runtime::ElementType::kFloat32) return {logits.data<float>(), rows, vocab};
  buffer.resize(static_cast<size_t>(rows * vocab));
  auto copy_last = [&](const float* all) {
    for (int64_t row = 0; row < rows; ++row) {
      const float* last = all + (row * returned + returned - 1) * vocab;
      std::copy(last, last + vocab, buffer.begin() + row * vocab);
    }
  };
  if (logits.type() == runtime::ElementType::kFloat32) {
    copy_last(logits.data<float>());
  } else {
    copy_last(logits.to_float_vector().data());
  }
  return {buffer.data(), rows, vocab};
}

}  // namespace opusrt
