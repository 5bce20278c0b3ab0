#pragma once

// Reductions over one row of logits. A step's row is as wide as the vocabulary (65,001 floats for
// opus-mt-en-zh) and every search strategy reduces every row every step, so these are written to
// vectorise: on a batch of 32 the scalar versions cost more than a third of the decoder step.
// On x86-64 each has AVX-512 and AVX2 builds, picked once for the CPU the process runs on.
#include <cstddef>
#include <cstdint>
#include <span>

namespace opusrt {

// The largest value; -inf for an empty row. NaNs are ignored.
float max_value(std::span<const float> row);

// The index of the first largest value (torch.argmax's tie rule); -1 for an empty row.
int64_t argmax(std::span<const float> row);

// log(sum(exp(row - max))) for max = max_value(row), so that log_softmax(row)[i] is
// row[i] - max - log_sum_exp_around(row, max), in torch's order of operations. `max` must not be
// -inf. Accurate to a few float ulps (exp by range reduction and a degree-6 polynomial, summed in
// double).
float log_sum_exp_around(std::span<const float> row, float max);

// In place: transformers' log_softmax. A row that is all -inf stays so.
void log_softmax(std::span<float> row);

// The first index i >= from with row[i] + offset >= threshold (that float sum, exactly), or
// row.size(): beam search skips, a vector at a time, the tokens that cannot enter its top list.
size_t first_reaching(std::span<const float> row, size_t from, float offset, float threshold);

// The instruction sets the kernels are built for. The functions above use the best one this CPU
// has; the overloads below run a given one (tests compare them all; a level the CPU lacks must
// not be asked for).
enum class RowMathLevel { kBaseline, kAvx2, kAvx512 };
RowMathLevel best_row_math_level();
const char* to_string(RowMathLevel level);
int64_t argmax(std::span<const float> row, RowMathLevel level);
float log_sum_exp_around(std::span<const float> row, float max, RowMathLevel level);
size_t first_reaching(std::span<const float> row, size_t from, float offset, float threshold, RowMathLevel level);

}  // namespace opusrt
