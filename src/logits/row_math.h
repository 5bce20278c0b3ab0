#pragma once

// Reductions over one row of logits. A step's row is as wide as the vocabulary (65,001 floats for
// opus-mt-en-zh) and every search strategy reduces every row every step, so these are written to
// vectorise: on a batch of 32 the scalar versions cost more than a third of the decoder step.
// On x86-64 each has an AVX2 build picked at load time (the CPU decides), a baseline one otherwise.
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

}  // namespace opusrt
