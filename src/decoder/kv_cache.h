#pragma once

// The attention keys and values a cached decoder carries from one step to the next.
// Lifetime: created empty when a batch starts decoding; the prefill (step 0, or one run over
// the decoder start token and a forced prefix) fills every layer's decoder K/V (length T) and
// encoder K/V (length S); each later step replaces the decoder K/V with the graph's `present.*`
// outputs, one position longer, moved in without a copy. The encoder K/V never change after
// the prefill. Dropped when the batch finishes.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor.h"

namespace opusrt {

class KvCache {
 public:
  explicit KvCache(int64_t layers);

  int64_t layers() const { return static_cast<int64_t>(decoder_key_.size()); }
  bool empty() const { return decoder_length_ < 0; }
  // Positions held by the decoder self-attention K/V (0 before step 0).
  int64_t decoder_length() const { return decoder_length_ < 0 ? 0 : decoder_length_; }

  // The prefill: the first decoder K/V (`length` positions, 1 for a plain step 0) and the
  // encoder K/V of every layer.
  void start(std::vector<runtime::Tensor> decoder_keys, std::vector<runtime::Tensor> decoder_values,
             std::vector<runtime::Tensor> encoder_keys, std::vector<runtime::Tensor> encoder_values,
             int64_t length = 1);
  // Later steps: the new decoder K/V, which must be exactly one position longer.
  void advance(std::vector<runtime::Tensor> decoder_keys, std::vector<runtime::Tensor> decoder_values);

  // Row i continues row rows[i]: beam reorders (decoder K/V only: a sentence's beams share
  // their encoder K/V) and batch shrinks (encoder K/V too, `include_encoder`).
  void select_rows(std::span<const int64_t> rows, bool include_encoder);

  const runtime::Tensor& decoder_key(int64_t layer) const { return decoder_key_.at(layer); }
  const runtime::Tensor& decoder_value(int64_t layer) const { return decoder_value_.at(layer); }
  const runtime::Tensor& encoder_key(int64_t layer) const { return encoder_key_.at(layer); }
  const runtime::Tensor& encoder_value(int64_t layer) const { return encoder_value_.at(layer); }

 private:
  // Shape [B, H, length, Dh]; returns `length`, throwing if a layer disagrees.
  static int64_t common_length(const std::vector<runtime::Tensor>& keys, const std::vector<runtime::Tensor>& values,
                               const char* what);

  std::vector<runtime::Tensor> decoder_key_, decoder_value_, encoder_key_, encoder_value_;
  int64_t decoder_length_ = -1;
};

}  // namespace opusrt
