// The sweeps over blocks of tiles, one per micro-kernel and instruction set, and sgemmTaps' tiles.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "engine_options.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/micro_kernel.h"
#include "thread_pool.h"

namespace netdef {

// Whether the float32 GEMM runs wideMicroKernel: on CPUs with AVX-512, unless the engine's options say wideTiles false
// (the same bits: tests compare the two).
bool wideTiles() {
#if defined(__x86_64__)
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  return cpu && currentOptions().wideTiles;
#else
  return false;
#endif
}

namespace gemm_detail {

NETDEF_CLONES
void sweepTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride, int64_t q0, int64_t q1,
                bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead) {
  sweepTilesOf<Tiles::kFloat>(kc, ap, aStride, p0, p1, bps, strides, stride, q0, q1, panelsOuter, M, N, C, ldc, add, ep, fetchAhead);
}

#if defined(__x86_64__)
// The same sweep over bfloat16 pairs, for CPUs with AVX-512 BF16 (bf16DotSupported).
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16")))
void sweepPairTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride, int64_t q0, int64_t q1,
                    bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead) {
  sweepTilesOf<Tiles::kPairs>(kc, ap, aStride, p0, p1, bps, strides, stride, q0, q1, panelsOuter, M, N, C, ldc, add, ep, fetchAhead);
}
// The same in 16-float rows, for CPUs with AVX-512 (wideTiles).
NETDEF_WIDE void sweepWideTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride,
                                int64_t q0, int64_t q1, bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead) {
  sweepTilesOf<Tiles::kWide>(kc, ap, aStride, p0, p1, bps, strides, stride, q0, q1, panelsOuter, M, N, C, ldc, add, ep, fetchAhead);
}
#else
void sweepPairTiles(int64_t, const float*, int64_t, int64_t, int64_t, const float* const*, const int64_t*, int64_t, int64_t, int64_t, bool, int64_t, int64_t, float*, int64_t, bool, const GemmEpilogue*, int64_t) {
  throw std::logic_error("bfloat16 pair GEMM without AVX-512 BF16");
}
#endif
// sgemmTaps' tiles, every A panel against B's rows read in place at `taps`.
template <Tiles Kind>
__attribute__((always_inline)) inline void tapsOf(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0,
                                                  const GemmEpilogue* epilogue) {
  const PlainEpilogue plain = plainEpilogue(epilogue);
  const int64_t mPanels = (M + kMR - 1) / kMR;
  for (int64_t p = 0; p < mPanels; p += panelsPerTile(Kind)) tileAt<Kind>(K, prepackedA, K * kMR, p, mPanels, b, 0, C, ldc, M, nr, col0, false, epilogue, plain, taps, 0);
}
#if defined(__x86_64__)
NETDEF_WIDE void wideTaps(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0, const GemmEpilogue* epilogue) {
  tapsOf<Tiles::kWide>(M, nr, K, prepackedA, b, taps, C, ldc, col0, epilogue);
}
#endif

}  // namespace gemm_detail

using namespace gemm_detail;

NETDEF_CLONES
void sgemmTaps(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0, const GemmEpilogue* epilogue) {
#if defined(__x86_64__)
  if (wideTiles()) return wideTaps(M, nr, K, prepackedA, b, taps, C, ldc, col0, epilogue);
#endif
  tapsOf<Tiles::kFloat>(M, nr, K, prepackedA, b, taps, C, ldc, col0, epilogue);
}

}  // namespace netdef
