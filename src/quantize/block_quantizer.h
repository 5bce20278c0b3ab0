#pragma once

// Block-wise weight quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits.
//
//   BlockQuantizedWeight q = quantize_blockwise(weights, rows, cols, WeightLayout::kKByN,
//                                               {.bits = 4, .block_size = 32, .symmetric = false});
//   // q.packed -> input B, q.scales -> input scales, q.zero_points -> input zero_points
//
// MatMulNBits computes A [.., K] x W [K, N] with W stored column by column: column n is cut into
// k_blocks = ceil(K / block_size) blocks along K (the last one padded with zeros), each block
// has one scale and one zero point, and a value dequantizes as (q - zero_point) * scale.
//   B            uint8 [N, k_blocks, block_size * bits / 8]; for 4 bits, two values a byte,
//                the even row in the low nibble.
//   scales       float [N * k_blocks], column-major over (block, column).
//   zero_points  uint8 [N * ceil(k_blocks * bits / 8)], packed like B (4 bits: two blocks a
//                byte, the even block in the low nibble, a padding nibble of 8); absent when
//                symmetric, and the kernel then uses 2^(bits - 1).
// The values are those of ONNX Runtime's own block quantizer (MLAS, as
// matmul_nbits_quantizer.py calls it), so a file written here equals one written there:
//   asymmetric: range [min(block, 0), max(block, 0)], scale = range / (2^bits - 1),
//               zero point = round(-min / scale), clamped to 0 .. 2^bits - 1;
//   symmetric:  the block's value of largest magnitude, sign kept, divided by -2^(bits - 1)
//               (that value maps exactly to q = 0), zero point 2^(bits - 1);
//   q = clamp(round(w * (1 / scale) + zero point), 0, 2^bits - 1), round half away from zero;
//   a block of zeros has scale 0 and q = zero point.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace opusrt::quantize {

struct BlockQuantization {
  int bits = 4;          // 4 or 8
  int block_size = 32;   // a power of two >= 16
  bool symmetric = false;
};

// How the float weights lie in memory.
enum class WeightLayout {
  kKByN,  // row-major [K, N]: MatMul's B as it is
  kNByK,  // row-major [N, K]: the tensor a Transpose turns into B (a tied embedding, [vocab, d_model])
};

struct BlockQuantizedWeight {
  int64_t k = 0, n = 0;
  int bits = 0, block_size = 0;
  int64_t k_blocks = 0;
  int64_t blob_size = 0;             // bytes per block: block_size * bits / 8
  int64_t zero_point_row_bytes = 0;  // bytes of zero points per column: ceil(k_blocks * bits / 8)
  std::vector<uint8_t> packed;       // [n, k_blocks, blob_size]
  std::vector<float> scales;         // [n * k_blocks]
  std::vector<uint8_t> zero_points;  // [n * zero_point_row_bytes]; empty when symmetric
};

// Quantizes W ([K, N] in the MatMul's sense). `name` is only for messages: a non-finite weight
// is an opusrt::Error naming the tensor and the element. Throws on bits/block_size out of range.
BlockQuantizedWeight quantize_blockwise(std::span<const float> weights, int64_t rows, int64_t cols,
                                        WeightLayout layout, const BlockQuantization& settings,
                                        const std::string& name = "weight");

// W back as row-major [K, N] floats, as the kernel sees it: (q - zero point) * scale.
std::vector<float> dequantize(const BlockQuantizedWeight& weight);

}  // namespace opusrt::quantize
