#include "decoder/kv_cache.h"

#include "opusrt/error.h"

namespace opusrt {

KvCache::KvCache(int64_t layers)
    : decoder_key_(layers), decoder_value_(layers), encoder_key_(layers), encoder_value_(layers) {}

int64_t KvCache::common_length(const std::vector<runtime::Tensor>& keys, const std::vector<runtime::Tensor>& values,
                               const char* what) {
  if (keys.size() != values.size() || keys.empty())
    throw Error(std::string("KV cache: ") + what + " keys and values do not cover the same layers");
  int64_t length = -1;
  for (size_t layer = 0; layer < keys.size(); ++layer) {
    for (const runtime::Tensor* tensor : {&keys[layer], &values[layer]}) {
      const std::vector<int64_t> shape = tensor->shape();
      if (shape.size() != 4)
        throw Error(std::string("KV cache: layer ") + std::to_string(layer) + " " + what + " K/V has shape " +
                    runtime::shape_to_string(shape) + ", expected [batch, heads, length, head_size]");
      if (length >= 0 && shape[2] != length)
        throw Error(std::string("KV cache: layer ") + std::to_string(layer) + " " + what + " K/V has length " +
                    std::to_string(shape[2]) + ", other layers " + std::to_string(length));
      length = shape[2];
    }
  }
  return length;
}

void KvCache::start(std::vector<runtime::Tensor> decoder_keys, std::vector<runtime::Tensor> decoder_values,
                    std::vector<runtime::Tensor> encoder_keys, std::vector<runtime::Tensor> encoder_values,
                    int64_t expected_length) {
  if (static_cast<int64_t>(decoder_keys.size()) != layers() || static_cast<int64_t>(encoder_keys.size()) != layers())
    throw Error("KV cache: step 0 gave K/V for " + std::to_string(decoder_keys.size()) + " layers, expected " +
                std::to_string(layers()));
  const int64_t length = common_length(decoder_keys, decoder_values, "decoder");
  common_length(encoder_keys, encoder_values, "encoder");
  if (length != expected_length)
    throw Error("KV cache: the prefill of " + std::to_string(expected_length) + " positions produced decoder K/V of length " +
                std::to_string(length));
  decoder_key_ = std::move(decoder_keys);
  decoder_value_ = std::move(decoder_values);
  encoder_key_ = std::move(encoder_keys);
  encoder_value_ = std::move(encoder_values);
  decoder_length_ = length;
}

void KvCache::advance(std::vector<runtime::Tensor> decoder_keys, std::vector<runtime::Tensor> decoder_values) {
  if (empty()) throw Error("KV cache: advance() before start()");
  if (static_cast<int64_t>(decoder_keys.size()) != layers())
    throw Error("KV cache: a step gave K/V for " + std::to_string(decoder_keys.size()) + " layers, expected " +
                std::to_string(layers()));
  const int64_t length = common_length(decoder_keys, decoder_values, "decoder");
  // The whole point of the cache: each step appends exactly one position. Anything else means
  // the past was not fed back (the bug opusrt was written to fix) or fed back twice.
  if (length != decoder_length_ + 1)
    throw Error("KV cache: decoder past grew from " + std::to_string(decoder_length_) + " to " +
                std::to_string(length) + " positions in one step, expected exactly one more");
  decoder_key_ = std::move(decoder_keys);
  decoder_value_ = std::move(decoder_values);
  decoder_length_ = length;
}

void KvCache::select_rows(std::span<const int64_t> rows, bool include_encoder) {
  if (empty()) return;
  auto gather_all = [&](std::vector<runtime::Tensor>& tensors) {
    for (runtime::Tensor& tensor : tensors) tensor = runtime::gather_rows(tensor, rows);
  };
  gather_all(decoder_key_);
  gather_all(decoder_value_);
  if (include_encoder) {
    gather_all(encoder_key_);
    gather_all(encoder_value_);
  }
}

}  // namespace opusrt
