#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/simd.h"

namespace netdef {

// INT8 GEMM for explicitly quantized layers: C[i, j] = rowScale[i] · Σ_k A[i, k] · B[k, j] with the sums exact in
// int32, then the epilogue (bias, residual, activation). A holds a layer's weights (integers in [−127, 127]), B its
// quantized input (integers in [−128, 127]). Both are packed with K in quads, the layout of the byte dot-product
// instructions (AVX2 vpmaddubsw, VNNI vpdpbusd): each row of A and each column of B gives 4 consecutive bytes per
// quad. Every implementation computes the same integers, so results do not depend on the CPU.
constexpr int64_t kInt8Rows = 4;  // rows of A per panel (4 × 16 tiles: 8 accumulators and the temporaries fit AVX2 registers); B panels 16 wide

// A layer's weights as INT8: rows on symmetric per-row grids (each value q · amax/127 with q an integer), packed.
struct Int8Matrix {
  int64_t rows = 0, depth = 0, quads = 0;
  std::vector<int8_t> packed;  // ⌈rows / kInt8Rows⌉ panels × quads × kInt8Rows × 4 bytes
  std::vector<float> step;     // per row: its grid step amax/127
  std::vector<int32_t> sums;   // per row (padded to whole panels with zeros): the sum of its integers
  // The rows × depth matrix `a` as INT8, or `problem` set to the first row whose values lie off its grid.
  static Int8Matrix fromGrid(const float* a, int64_t rows, int64_t depth, std::string& problem);
};

// Quads × kGemmPanel columns × 4 bytes: the panel of B holding columns [j0, j0 + nr), zero beyond nr and past depth.
using PackB8 = std::function<void(int64_t j0, int64_t nr, int8_t* panel)>;

// To INT8, as a float: x / scale rounded half to even, saturated to [−128, 127] (TensorRT's IQuantizeLayer). The
// one definition, shared by the quantize layer, the fused chains and the INT8 kernels. Saturated first (the same
// result for integer bounds; NaN becomes −128 either way), then rounded by adding and taking away 1.5 · 2^23: loops
// over it vectorise, where std::nearbyint kept them a call per value.
inline float quantizeToInt8(float v, float scale) {
  const float q = std::min(127.0f, std::max(-128.0f, v / scale));
  return (q + 12582912.0f) - 12582912.0f;
}

// `count` values onto the INT8 grid of `scale` (quantizeToInt8, as floats), vectorised for the CPU at hand (the
// division made a baseline loop of a quantize layer 2 values a nanosecond).
void quantizeValues(const float* x, float* y, int64_t count, float scale);

// `count` floats of a row into INT8, in order; whether any came out negative (the GEMM's unsigned fast path needs
// none).
bool quantizeRow(const float* x, int64_t count, float scale, int8_t* q);

// Pixels [begin, end) of a [channels, pixels] float image into [pixels, paddedChannels] INT8, channels beyond
// `channels` zero: each pixel's 4 channels of a quad assembled into one word. Whether any came out negative.
bool quantizeChannelsLast(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q);

// C = rowScale · (A · B), then `epilogue`; B given panel by panel, `negativeB` when it holds negative values.
void igemm(const Int8Matrix& a, int64_t N, const PackB8& packB, bool negativeB, const float* rowScale, float* C, int64_t ldc, const GemmEpilogue& epilogue);

#if defined(__x86_64__)
// Row w (of 16, `rowStride` bytes apart) = word w of each of 16 sources (source j's 16 words at sources[j] + offset,
// in turn): a 16 × 16 transpose of 32-bit words in registers (four rounds of unpacks and 128-bit shuffles), where
// word-by-word copies took 256 loads and stores. Only where wideTiles().
NETDEF_WIDE void transposeWords(const int8_t* const* sources, int64_t offset, int8_t* rows, int64_t rowStride);
#endif

// The implementation this CPU runs: "avx512vnni", "avxvnni", "avx2" or "scalar"; the engine's options' int8Kernel
// caps it (to compare implementations, which must agree bit for bit).
const char* int8KernelName();

}  // namespace netdef
