// Matrix-vector products for few rows of A (dense layers at small batches): B streamed instead of packed.
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "engine_options.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/micro_kernel.h"
#include "thread_pool.h"

namespace netdef {

using namespace gemm_detail;

namespace {

// C[i, j] (+)= A row i · B row j for R rows of A and C columns j of B at a time (R·C = 4: eight FMA chains in
// flight, each dot product in two, which hides the FMA latency one chain would be bound by). Each B row is read once
// for R rows of A. Per dot product the order is always the same (lanes of k mod 16 < 8 and ≥ 8 apart, their sum,
// then the tail), so C does not depend on how many rows there are.
// Wide (AVX-512): each dot product's two 8-lane chains as the halves of one 16-lane vector, the same sums.
template <int R, int C, bool Wide>
__attribute__((always_inline)) inline void dotTile(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  Vec8 s[R][C] = {}, t[R][C] = {};
  int64_t k = 0;
  if constexpr (Wide) {
    Vec16 u[R][C] = {};
    for (; k + 16 <= K; k += 16) {
      Vec16 b[C];
      for (int j = 0; j < C; j++) __builtin_memcpy(&b[j], B + j * ldb + k, sizeof(Vec16));
      for (int i = 0; i < R; i++) {
        Vec16 x;
        __builtin_memcpy(&x, A + i * lda + k, sizeof(Vec16));
        for (int j = 0; j < C; j++) u[i][j] += b[j] * x;
      }
    }
    for (int i = 0; i < R; i++)
      for (int j = 0; j < C; j++) {
        s[i][j] = __builtin_shufflevector(u[i][j], u[i][j], 0, 1, 2, 3, 4, 5, 6, 7);
        t[i][j] = __builtin_shufflevector(u[i][j], u[i][j], 8, 9, 10, 11, 12, 13, 14, 15);
      }
  } else {
    for (; k + 16 <= K; k += 16) {
      Vec8 b0[C], b1[C];
      for (int j = 0; j < C; j++) { __builtin_memcpy(&b0[j], B + j * ldb + k, sizeof(Vec8)); __builtin_memcpy(&b1[j], B + j * ldb + k + 8, sizeof(Vec8)); }
      for (int i = 0; i < R; i++) {
        Vec8 x0, x1;
        __builtin_memcpy(&x0, A + i * lda + k, sizeof(Vec8));
        __builtin_memcpy(&x1, A + i * lda + k + 8, sizeof(Vec8));
        for (int j = 0; j < C; j++) { s[i][j] += b0[j] * x0; t[i][j] += b1[j] * x1; }
      }
    }
  }
  for (int i = 0; i < R; i++) {
    for (int j = 0; j < C; j++) {
      const Vec8 lanes = s[i][j] + t[i][j];
      float sum = 0;
      for (int l = 0; l < 8; l++) sum += lanes[l];
      for (int64_t r = k; r < K; r++) sum += A[i * lda + r] * B[j * ldb + r];
      float& out = c[i * ldc + j];
      out = accumulate ? out + sum : sum;
    }
  }
}

// Columns [j0, j1) of R rows of C, C columns at a time, then one at a time.
template <int R, int C, bool Wide>
__attribute__((always_inline)) inline void dotRows(int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  int64_t j = j0;
  for (; j + C <= j1; j += C) dotTile<R, C, Wide>(K, A, lda, B + j * ldb, ldb, c + j, ldc, accumulate);
  for (; j < j1; j++) dotTile<R, 1, Wide>(K, A, lda, B + j * ldb, ldb, c + j, ldc, accumulate);
}

// The dot products of columns [j0, j1) of gemvRows' C (B transposed), four rows of A at a time, then two, then one.
template <bool Wide>
__attribute__((always_inline)) inline void dotBlock(int64_t j0, int64_t j1, int64_t M, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                                                    bool accumulate) {
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) dotRows<4, 1, Wide>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
  if (i + 2 <= M) { dotRows<2, 2, Wide>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); i += 2; }
  if (i < M) dotRows<1, 4, Wide>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
}

#if defined(__x86_64__)
NETDEF_WIDE void dotBlockWide(int64_t j0, int64_t j1, int64_t M, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  dotBlock<true>(j0, j1, M, K, A, lda, B, ldb, C, ldc, accumulate);
}
#endif

// Columns [j0, j1) of gemvRows' C. (No lambda in here: a lambda is compiled for the baseline target, not for this
// clone's.)
NETDEF_CLONES
void gemvBlock(int64_t j0, int64_t j1, int64_t M, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB, float* C, int64_t ldc, bool accumulate) {
  if (transB) return dotBlock<false>(j0, j1, M, K, A, lda, B, ldb, C, ldc, accumulate);
  for (int64_t i = 0; i < M; i++) {
    const float* __restrict a = A + i * lda;
    float* c = C + i * ldc;
    if (!accumulate) std::fill(c + j0, c + j1, 0.0f);
    for (int64_t k = 0; k < K; k++) {
      const float ak = a[k];
      const float* b = B + k * ldb;
      for (int64_t j = j0; j < j1; j++) c[j] += ak * b[j];
    }
  }
}

}  // namespace

// Few rows of A (a dense layer at batch up to kGemvRows, 2 if B is not transposed): packing would cost more than the
// arithmetic, so B is streamed (it is usually the larger operand, read from L3 or memory) in blocks of 32 columns,
// each block met by every row of A while it is in L2. B transposed (a dense layer's [out, in] weight): dot products,
// four rows of A at a time (dotTile). B as [K, N]: each row of C accumulates scaled rows of B.
void gemvRows(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB, float* C, int64_t ldc, bool accumulate) {
#if defined(__x86_64__)
  const bool wide = transB && wideTiles();
#endif
  parallelFor((N + 31) / 32, [&](int64_t block) {
    const int64_t j0 = block * 32, j1 = std::min(N, block * 32 + 32);
#if defined(__x86_64__)
    if (wide) return dotBlockWide(j0, j1, M, K, A, lda, B, ldb, C, ldc, accumulate);
#endif
    gemvBlock(j0, j1, M, K, A, lda, B, ldb, transB, C, ldc, accumulate);
  }, M * N * K > (1 << 15));
}

#if defined(__x86_64__)
namespace {

// Eight 16-bit values (float16 or bfloat16) as floats, and one.
__attribute__((target("avx2,fma,f16c"), always_inline)) inline __m256 load8(const uint16_t* p, bool bfloat16) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return bfloat16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}
__attribute__((target("avx2,fma,f16c"), always_inline)) inline float scalar16(uint16_t h, bool bfloat16) {
  if (!bfloat16) return _cvtsh_ss(h);
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// gemvRows' transposed case over 16-bit weights (float16 through F16C, or bfloat16 by a shift): half the bytes from
// memory for a bandwidth-bound dense layer at batch 1 or 2. Same accumulation order as dotTile, so the results are
// the same as from the float32 copy of the weights (at batch 3 and up).
__attribute__((target("avx2,fma,f16c")))
void gemvBlock16(int64_t j0, int64_t j1, int64_t M, int64_t K, const float* A, int64_t lda, const uint16_t* B, bool bfloat16, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; i++) {
    const float* a = A + i * lda;
    float* c = C + i * ldc;
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const uint16_t* b[4] = {B + j * K, B + (j + 1) * K, B + (j + 2) * K, B + (j + 3) * K};
      __m256 s[4], t[4];
      for (int r = 0; r < 4; r++) { s[r] = _mm256_setzero_ps(); t[r] = _mm256_setzero_ps(); }
      int64_t k = 0;
      for (; k + 16 <= K; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(a + k), x1 = _mm256_loadu_ps(a + k + 8);
        for (int r = 0; r < 4; r++) {
          s[r] = _mm256_fmadd_ps(load8(b[r] + k, bfloat16), x0, s[r]);
          t[r] = _mm256_fmadd_ps(load8(b[r] + k + 8, bfloat16), x1, t[r]);
        }
      }
      float sums[4] = {0, 0, 0, 0};
      for (int r = 0; r < 4; r++) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, _mm256_add_ps(s[r], t[r]));
        for (int l = 0; l < 8; l++) sums[r] += lanes[l];
      }
      for (; k < K; k++) for (int r = 0; r < 4; r++) sums[r] += a[k] * scalar16(b[r][k], bfloat16);
      for (int r = 0; r < 4; r++) c[j + r] = accumulate ? c[j + r] + sums[r] : sums[r];
    }
    for (; j < j1; j++) {
      const uint16_t* b = B + j * K;
      __m256 s = _mm256_setzero_ps(), t = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 16 <= K; k += 16) {
        s = _mm256_fmadd_ps(load8(b + k, bfloat16), _mm256_loadu_ps(a + k), s);
        t = _mm256_fmadd_ps(load8(b + k + 8, bfloat16), _mm256_loadu_ps(a + k + 8), t);
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, _mm256_add_ps(s, t));
      float sum = 0;
      for (int l = 0; l < 8; l++) sum += lanes[l];
      for (; k < K; k++) sum += a[k] * scalar16(b[k], bfloat16);
      c[j] = accumulate ? c[j] + sum : sum;
    }
  }
}

}  // namespace

void gemvRows16(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* B, bool bfloat16, float* C, int64_t ldc, bool accumulate) {
  parallelFor((N + 31) / 32, [&](int64_t block) {
    gemvBlock16(block * 32, std::min(N, block * 32 + 32), M, K, A, lda, B, bfloat16, C, ldc, accumulate);
  }, N * K > (1 << 15));
}

#endif

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB,
           float* C, int64_t ldc, bool accumulate) {
  if ((M <= 2 || (transB && M <= kGemvRows)) && K > 0) return gemvRows(M, N, K, A, lda, B, ldb, transB, C, ldc, accumulate);
  sgemmPackedB(M, N, K, A, lda, [&](int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* bp) {
    packBPanel(kc, j0, nr, transB ? B + k0 : B + k0 * ldb, ldb, transB, bp);
    return bp;
  }, C, ldc, accumulate, 256, nullptr, nullptr, transB ? nullptr : B, ldb);
}

}  // namespace netdef
