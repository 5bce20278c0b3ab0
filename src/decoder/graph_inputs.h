#pragma once

// Feeding a graph by name: the caller offers the tensors it has, and the graph's declared
// inputs pick from them, so one code path serves the merged graph, the split pair and exports
// that declare their inputs in another order.
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder_graphs.h"
#include "decoder/decoder_state.h"
#include "encoder/encoder.h"
#include "runtime/session.h"

namespace opusrt {

class GraphInputs {
 public:
  void offer(std::string_view name, const runtime::Tensor& tensor) { offered_.push_back({name, &tensor}); }
  // Exactly the graph's declared inputs, in its order; throws naming an input nobody offered.
  std::vector<runtime::NamedTensor> for_graph(const runtime::Session& session) const;

 private:
  std::vector<runtime::NamedTensor> offered_;
};

// The past fed to the merged graph's no-cache branch, which ignores it: [B, H, length, Dh] of
// the graph's K/V type, one tensor offered under every past_key_values.* name.
runtime::Tensor placeholder_past(const DecoderGraphs& graphs, int64_t rows, int64_t length);
void offer_as_every_past(const DecoderGraphs& graphs, const runtime::Tensor& past, GraphInputs& inputs);

// [1] bool, the merged graph's branch switch.
runtime::Tensor use_cache_branch(bool value);

// One run of the no-cache graph (decoder_model.onnx, or the merged graph's no-cache branch) over
// `input_ids`, with placeholder pasts of `past_length`: step 0 of the cached decoders and every
// step of the recompute oracle.
std::vector<runtime::Tensor> run_no_cache_graph(const DecoderGraphs& graphs, const EncoderOutput& encoder,
                                                const runtime::Tensor& input_ids, int64_t past_length,
                                                const std::vector<std::string>& outputs);

// One row of logits per batch row, the last position's, from a decoder run over `positions`
// positions: `logits` is [rows, positions, vocab], or [rows, 1, vocab] from a graph whose output
// projection runs on the last position only (what `opusrt prepare` writes;
// quantize/last_position_logits.h). A float32 run with one position is used in place; otherwise
// the rows are copied (float16 widened) into `buffer`. Throws naming the shape when it is neither.
StepLogits last_position_logits(runtime::Tensor& logits, int64_t rows, int64_t positions, std::vector<float>& buffer);

}  // namespace opusrt
