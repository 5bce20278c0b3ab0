#include "quantize/block_quantizer.h"

#include <algorithm>
#include <cmath>

#include "opusrt/error.h"

namespace opusrt::quantize {
namespace {

struct BlockParameters {
  float scale = 0;
  uint8_t zero_point = 0;
};

// ONNX Runtime's range-to-scale rules (see the header); `values` is one block without padding
// (padding zeros change neither rule: both ranges already hold 0).
BlockParameters block_parameters(std::span<const float> values, int bits, bool symmetric) {
  float low = values.front(), high = values.front();
  for (float v : values) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  const int q_max = (1 << bits) - 1;
  const int mid = 1 << (bits - 1);
  BlockParameters p;
  if (symmetric) {
    const float extreme = std::fabs(high) > std::fabs(low) ? high : low;
    p.scale = extreme / static_cast<float>(-mid);
    p.zero_point = static_cast<uint8_t>(mid);
    return p;
  }
  low = std::min(low, 0.0f);
  high = std::max(high, 0.0f);
  p.scale = (high - low) / static_cast<float>(q_max);
  const float zero = p.scale != 0.0f ? -low / p.scale : low;  // low is 0 when the scale is
  p.zero_point = static_cast<uint8_t>(std::clamp(std::round(zero), 0.0f, static_cast<float>(q_max)));
  return p;
}

uint8_t quantize_value(float value, float reciprocal, uint8_t zero_point, int q_max) {
  // Two roundings, as the reference computes it in float: the product, then the sum.
  const float product = value * reciprocal;
  const float shifted = product + static_cast<float>(zero_point);
  return static_cast<uint8_t>(std::clamp(std::round(shifted), 0.0f, static_cast<float>(q_max)));
}

}  // namespace

BlockQuantizedWeight quantize_blockwise(std::span<const float> weights, int64_t rows, int64_t cols,
                                        WeightLayout layout, const BlockQuantization& settings,
                                        const std::string& name) {
  if (settings.bits != 4 && settings.bits != 8)
    throw Error(name + ": " + std::to_string(settings.bits) + " bits: MatMulNBits is written with 4 or 8");
  if (settings.block_size < 16 || (settings.block_size & (settings.block_size - 1)) != 0)
    throw Error(name + ": block size " + std::to_string(settings.block_size) + ": must be a power of two >= 16");
  if (rows <= 0 || cols <= 0 || static_cast<int64_t>(weights.size()) != rows * cols)
    throw Error(name + ": " + std::to_string(weights.size()) + " values for a [" + std::to_string(rows) + ", " +
                std::to_string(cols) + "] weight");

  BlockQuantizedWeight out;
  const bool k_by_n = layout == WeightLayout::kKByN;
  out.k = k_by_n ? rows : cols;
  out.n = k_by_n ? cols : rows;
  out.bits = settings.bits;
  out.block_size = settings.block_size;
  out.k_blocks = (out.k + settings.block_size - 1) / settings.block_size;
  out.blob_size = int64_t{settings.block_size} * settings.bits / 8;
  out.zero_point_row_bytes = (out.k_blocks * settings.bits + 7) / 8;
  out.packed.assign(static_cast<size_t>(out.n * out.k_blocks * out.blob_size), 0);
  out.scales.assign(static_cast<size_t>(out.n * out.k_blocks), 0.0f);
  if (!settings.symmetric) {
    // The padding nibble of an odd block count is 8, as ONNX Runtime's quantizer leaves it.
    out.zero_points.assign(static_cast<size_t>(out.n * out.zero_point_row_bytes), settings.bits == 4 ? 0x88 : 0);
  }
  const int q_max = (1 << settings.bits) - 1;

  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) {
      throw Error(name + ": element [" + std::to_string(static_cast<int64_t>(i) / cols) + ", " +
                  std::to_string(static_cast<int64_t>(i) % cols) +
                  "] is not finite; a weight with NaN or infinity cannot be quantized");
    }
  }
  // Blocks run down the columns of W: from [K, N], transpose once (tile by tile, so that a
  // 512 x 65001 output projection is not read one cache line per value).
  std::vector<float> transposed;
  if (k_by_n) {
    transposed.resize(weights.size());
    constexpr int64_t kTile = 64;
    for (int64_t k0 = 0; k0 < out.k; k0 += kTile) {
      for (int64_t n0 = 0; n0 < out.n; n0 += kTile) {
        for (int64_t k = k0; k < std::min(out.k, k0 + kTile); ++k) {
          for (int64_t n = n0; n < std::min(out.n, n0 + kTile); ++n)
            transposed[static_cast<size_t>(n * out.k + k)] = weights[static_cast<size_t>(k * out.n + n)];
        }
      }
    }
  }
  const float* by_column = k_by_n ? transposed.data() : weights.data();  // [N, K]

  for (int64_t n = 0; n < out.n; ++n) {
    const std::span<const float> column(by_column + n * out.k, static_cast<size_t>(out.k));
    for (int64_t b = 0; b < out.k_blocks; ++b) {
      const int64_t begin = b * settings.block_size;
      const int64_t end = std::min(out.k, begin + settings.block_size);
      const std::span<const float> block(column.data() + begin, static_cast<size_t>(end - begin));
      const BlockParameters p = block_parameters(block, settings.bits, settings.symmetric);
      const float reciprocal = p.scale != 0.0f ? 1.0f / p.scale : 0.0f;
      out.scales[static_cast<size_t>(n * out.k_blocks + b)] = p.scale;
      if (!settings.symmetric) {
        uint8_t& byte = out.zero_points[static_cast<size_t>(n * out.zero_point_row_bytes + b * settings.bits / 8)];
        if (settings.bits == 8) {
          byte = p.zero_point;
        } else if (b % 2 == 0) {
          byte = static_cast<uint8_t>((byte & 0xF0) | p.zero_point);
        } else {
          byte = static_cast<uint8_t>((byte & 0x0F) | (p.zero_point << 4));
        }
      }
      uint8_t* blob = out.packed.data() + (n * out.k_blocks + b) * out.blob_size;
      for (int64_t i = 0; i < settings.block_size; ++i) {
        // Padding past K quantizes the value 0, i.e. the zero point.
        const float v = begin + i < end ? block[static_cast<size_t>(i)] : 0.0f;
        const uint8_t q = quantize_value(v, reciprocal, p.zero_point, q_max);
        if (settings.bits == 8) {
          blob[i] = q;
        } else {
          blob[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? q : q << 4);
        }
      }
    }
  }
  return out;
}

std::vector<float> dequantize(const BlockQuantizedWeight& weight) {
  std::vector<float> out(static_cast<size_t>(weight.k * weight.n));
  const int mid = 1 << (weight.bits - 1);
  for (int64_t n = 0; n < weight.n; ++n) {
    for (int64_t k = 0; k < weight.k; ++k) {
      const int64_t b = k / weight.block_size, i = k % weight.block_size;
      const uint8_t* blob = weight.packed.data() + (n * weight.k_blocks + b) * weight.blob_size;
      const int q = weight.bits == 8 ? blob[i] : (i % 2 == 0 ? blob[i / 2] & 0x0F : blob[i / 2] >> 4);
      int zero = mid;
      if (!weight.zero_points.empty()) {
        const uint8_t byte = weight.zero_points[static_cast<size_t>(n * weight.zero_point_row_bytes + b * weight.bits / 8)];
        zero = weight.bits == 8 ? byte : (b % 2 == 0 ? byte & 0x0F : byte >> 4);
      }
      out[static_cast<size_t>(k * weight.n + n)] = static_cast<float>(q - zero) * weight.scales[static_cast<size_t>(n * weight.k_blocks + b)];
    }
  }
  return out;
}

}  // namespace opusrt::quantize
