#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/buffer.h"

// The float32 GEMM and its packing, the bfloat16-pair GEMM, and the dense layers' matrix-vector products: what
// convolutions, Winograd's products and dense layers multiply with.

namespace netdef {

// One packed panel of B: rows k0 … k0+kc, columns j0 … j0+nr, as kc rows of kGemmPanel floats (zero beyond nr).
// Either fills `panel` and returns it, or returns B's own memory when B is already held in that layout (Winograd's
// transformed input). Lets a convolution pack straight from its input instead of materialising im2col.
constexpr int64_t kGemmPanel = 16;
using PackB = std::function<const float*(int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* panel)>;

// What a convolution does to its GEMM's result, applied to each tile of C as it is finished, while in cache:
// C[i, j] = activation(C[i, j] + bias[i] + residual[i, j]) (bias and residual optional, residual laid out as C).
// The residual may be held in 16-bit storage, and the result stored to 16-bit storage laid out as C instead of C
// (its values then being of that type: the activation rounds to it); C then only holds the partial sums of earlier
// K blocks (null when K takes one block), and nothing is accumulated onto it.
struct GemmEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  const uint16_t* residual16 = nullptr;
  Storage residual16Type = Storage::kFloat32;
  uint16_t* out16 = nullptr;
  Storage out16Type = Storage::kFloat32;
  ActivationFn activation;
};

// The epilogue of a convolution's GEMM over one image's output channels from `offset` values into its planes on:
// `bias` (already at the first of those channels, or null), the image's residual and 16-bit output, the activation.
inline GemmEpilogue convolutionEpilogue(const ImageIO& image, int64_t offset, const float* bias, const ActivationFn& activation) {
  GemmEpilogue ep;
  ep.bias = bias;
  ep.residual = image.residual ? image.residual + offset : nullptr;
  ep.residual16 = image.residual16 ? image.residual16 + offset : nullptr;
  ep.residual16Type = image.residual16Type;
  ep.out16 = image.y16 ? image.y16 + offset : nullptr;
  ep.out16Type = image.y16Type;
  ep.activation = activation;
  return ep;
}

// C[M,N] (+)= A[M,K] · B with B supplied panel by panel, then the epilogue if given.
// `prepackedA` (from prepackA), when given, replaces A: constant weights are packed once. K goes in blocks of
// `kBlock` (of up to 1,024 where B is narrow: a few panels, packed whole).
// `rowMajorB` (B itself, [K, N] with leading dimension `ldb`), when given, lets a wide GEMM read whole panels in place.
void sgemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate,
                  int64_t kBlock = 256, const float* prepackedA = nullptr, const GemmEpilogue* epilogue = nullptr, const float* rowMajorB = nullptr, int64_t ldb = 0);

// Whether the float32 GEMM runs its tile of 16-float vectors (CPUs with AVX-512, unless the engine's options say
// wideTiles false).
bool wideTiles();

// C[0:M, 0:nr] = A · B, nr ≤ 16, A prepacked (prepackA), B's row k the nr floats at b plus taps[k]
// bytes (a convolution's input read in place, a window's taps apart), then the epilogue (its bias, residual and
// 16-bit output indexed from column col0 of rows 0…M).
void sgemmTaps(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0, const GemmEpilogue* epilogue);

// Columns [j0, j0+nr) of a row-major B (rows from `b`, already at the block's first row) into one panel.
void packBPanel(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* panel);

// A[M,K] in the GEMM's panel layout: panels of 6 rows, each all of K, k-major (any block of K is a run of each).
std::vector<float> prepackA(int64_t M, int64_t K, const float* A, int64_t lda);

// bfloat16 products at twice float32's rate, on CPUs with AVX-512 BF16 (VDPBF16PS: each 32-bit lane of A and B
// holds a pair of bfloat16 values, of two consecutive k, and both products are added to the lane's float32 sum;
// each product is exact in float32, so only the order of the additions differs from float32 arithmetic on the same
// values). Only where that is faster than float32 FMAs on this CPU (timed once); the engine's options'
// bfloat16Products "off" turns it off (the float32 kernels then compute the same values), "on" on wherever the CPU
// has the instruction.
bool bf16DotSupported();
// A[M,K] (bfloat16 values held as floats) in panels of 6 rows of ⌈K/2⌉ pairs, as prepackA's layout with K halved.
std::vector<float> prepackPairsA(int64_t M, int64_t K, const float* A, int64_t lda);
// C[M,N] = A · B over `pairs` pairs of K, A from prepackPairsA and B's panels of pairs from `packPairs` (k0 and kc
// count pairs: kc rows of 16 lanes, each lane the bfloat16 values of rows 2k and 2k+1 of its column, the second
// in the high half), then the epilogue. Only where bf16DotSupported().
void bf16PairsGemm(int64_t M, int64_t N, int64_t pairs, const PackB& packPairs, float* C, int64_t ldc, int64_t kBlock, const float* prepackedPairs, const GemmEpilogue* epilogue);

// C[M,N] (+)= A[M,K] · B, B given as [K,N] (transB false) or [N,K] (transB true); row-major with leading dims.
void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB,
           float* C, int64_t ldc, bool accumulate);

// The most rows of A a dense layer streams its weights for (sgemm takes the matrix-vector path up to here).
constexpr int64_t kGemvRows = 16;

// C[M,N] (+)= A[M,K] · Bᵀ with B [N, K] held as 16-bit weights (float16 or bfloat16 bit patterns), for M ≤ kGemvRows:
// half the bytes of a bandwidth-bound dense layer's weights. Needs F16C (x86-64 only).
void gemvRows16(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* B, bool bfloat16, float* C, int64_t ldc, bool accumulate);

}  // namespace netdef
