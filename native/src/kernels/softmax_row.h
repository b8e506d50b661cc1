#pragma once
#include <cstdint>

namespace netdef {

// Softmax (or log-softmax) of one contiguous row of `extent` values, x into y (which may be x): shared by the softmax
// layer and the matrix products that take a softmax over their rows (the builder's fuse-scaled-softmax).
void softmaxRow(const float* x, float* y, int64_t extent, bool log);

}  // namespace netdef
