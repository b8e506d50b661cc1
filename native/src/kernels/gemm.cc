#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/kernel.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Register-blocked GEMM (the BLIS/GotoBLAS scheme): A packed in panels of kMR rows, B in panels of kNR columns,
// K in equal blocks of at most `kBlock` (a tactic: 256 by default); a micro-kernel keeps a kMR × kNR tile of C in registers (12 × 8-float vectors),
// or on CPUs with AVX-512 two panels' tile (12 rows of 16-float vectors: wideMicroKernel).
constexpr int64_t kMR = 6, kNR = kGemmPanel;
constexpr int64_t kWideGroup = 4;  // B panels per task when B is wide: 64 columns, 64 KiB packed at kc = 256
constexpr int64_t kNarrowBlock = 1024;  // the K block of a narrow B
constexpr int64_t kGemvRows = 16;       // the most rows of A a dense layer streams its weights for (gemvRows)

struct AlignedBuffer {
  float* data = nullptr;
  size_t size = 0;
  ~AlignedBuffer() { std::free(data); }
  float* get(size_t n) {
    if (n > size) {
      std::free(data);
      data = static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
      if (!data) throw std::bad_alloc();
      size = n;
    }
    return data;
  }
};

// The epilogue's vectorised activation and rounding on eight finished sums.
__attribute__((always_inline)) inline Vec8 finishVector(Vec8 v, bool activate, ActivationFn::Round round, ActivationFn::Type act, float alpha, float beta) {
  return vmath::round(round, activate ? vmath::activate(act, alpha, beta, v) : v);
}

// The common epilogue, decided once per sweep of tiles: none at all, or bias and a float32 residual, then nothing, a
// ReLU or a clip, float32 out; the activation as one clamp with no dispatch (what vmath::activate computes for ReLU
// and clip, NaN included: it stays NaN). With the dispatch per row (and the rows through the stack), a 1×1
// convolution with 16 input channels spent as long finishing a tile as computing it.
struct PlainEpilogue {
  bool on = false, clamp = false;
  Vec8 lower, upper;
  float low = 0, high = 0;  // the same bounds, for a partial row
};
__attribute__((always_inline)) inline PlainEpilogue plainEpilogue(const GemmEpilogue* ep) {
  using Type = ActivationFn::Type;
  PlainEpilogue plain;
  if (!ep) {  // no epilogue (K blocks before the last, Winograd's products): the sums stored (or added) as they are
    plain.on = true;
    return plain;
  }
  if (ep->residual16 || ep->out16 || ep->activation.round != ActivationFn::Round::kNone) return plain;
  const Type act = ep->activation.type;
  if (act != Type::kNone && act != Type::kRelu && act != Type::kClip) return plain;
  plain.on = true;
  plain.clamp = act != Type::kNone;
  plain.low = act == Type::kClip ? ep->activation.alpha : 0.0f;
  plain.high = act == Type::kClip ? ep->activation.beta : __builtin_inff();
  plain.lower = vmath::splat(plain.low);
  plain.upper = vmath::splat(plain.high);
  return plain;
}
// One row of a tile, `nr` of its 16 columns real.
__attribute__((always_inline)) inline void plainRow(Vec8 lo, Vec8 hi, int64_t nr, bool add, const float* bias, const float* residual, const PlainEpilogue& plain, float* cr) {
  if (nr < kNR && !add && !residual) {
    // The last panel of a row, finished in registers, its real lanes stored from there (vmath::storeFirst): a loop
    // over the lanes through the stack stalled on every row (LeNet's conv1 as rows of 24 pixels, 16 + 8, ran at a
    // fifth of its speed).
    if (bias) { lo += *bias; hi += *bias; }
    if (plain.clamp) {
      lo = lo < plain.lower ? plain.lower : lo;
      lo = plain.upper < lo ? plain.upper : lo;
      hi = hi < plain.lower ? plain.lower : hi;
      hi = plain.upper < hi ? plain.upper : hi;
    }
    if (nr > 8) {
      vmath::store(cr, lo);
      vmath::storeFirst(cr + 8, hi, nr - 8);
    } else {
      vmath::storeFirst(cr, lo, nr);
    }
    return;
  }
  if (nr < kNR) {  // the same with partial sums in C or a residual: value by value, the same arithmetic
    alignas(32) float sums[kNR];
    __builtin_memcpy(sums, &lo, sizeof(Vec8));
    __builtin_memcpy(sums + 8, &hi, sizeof(Vec8));
    for (int64_t j = 0; j < nr; j++) {
      float v = sums[j];
      if (add) v += cr[j];
      if (bias) v += *bias;
      if (residual) v += residual[j];
      if (plain.clamp) {
        v = v < plain.low ? plain.low : v;
        v = plain.high < v ? plain.high : v;
      }
      cr[j] = v;
    }
    return;
  }
  if (add) { lo += vmath::load(cr); hi += vmath::load(cr + 8); }  // a later K block: onto the partial sums in C
  if (bias) { lo += *bias; hi += *bias; }
  if (residual) { lo += vmath::load(residual); hi += vmath::load(residual + 8); }
  if (plain.clamp) {
    lo = lo < plain.lower ? plain.lower : lo;
    lo = plain.upper < lo ? plain.upper : lo;
    hi = hi < plain.lower ? plain.lower : hi;
    hi = plain.upper < hi ? plain.upper : hi;
  }
  vmath::store(cr, lo);
  vmath::store(cr + 8, hi);
}

// The epilogue on a finished tile of C[0:mr, 0:nr] held in registers, rows[r] its row r (16 columns, two vectors):
// on the last K block, row bias, residual (float32 or 16-bit), a vectorised activation and the rounding to a 16-bit
// type, others on the stored rows; stored to C (added to it on later K blocks) or, for a 16-bit output, narrowed into
// it. A plain epilogue takes the short way.
__attribute__((always_inline)) inline void finishTile(Vec8 (&rows)[kMR][2], float* c, int64_t ldc, int64_t mr, int64_t nr, bool add, const GemmEpilogue* ep, int64_t row0,
                                                      int64_t col0, const PlainEpilogue& plain) {
  if (plain.on) {  // rows past mr are A's zero padding: not stored
    const float* bias = ep && ep->bias ? ep->bias + row0 : nullptr;
    const float* res = ep && ep->residual ? ep->residual + row0 * ldc + col0 : nullptr;
#pragma GCC unroll 6
    for (int64_t r = 0; r < kMR; r++)
      if (r < mr) plainRow(rows[r][0], rows[r][1], nr, add, bias ? bias + r : nullptr, res ? res + r * ldc : nullptr, plain, c + r * ldc);
    return;
  }
  using Type = ActivationFn::Type;
  using Round = ActivationFn::Round;
  const Type act = ep ? ep->activation.type : Type::kNone;
  const Round round = ep ? ep->activation.round : Round::kNone;
  const float alpha = ep ? ep->activation.alpha : 0.0f, beta = ep ? ep->activation.beta : 0.0f;
  // Vectorised activations (vmath::activate) and the rounding run on the tile in registers; other activations
  // (and the rounding after them) on the finished rows.
  const bool inRegister = act == Type::kNone || vmath::vectorised(act);
  const bool activate = inRegister && act != Type::kNone;
  const Round roundHere = inRegister ? round : Round::kNone;
  const float* residual = ep && ep->residual ? ep->residual + row0 * ldc + col0 : nullptr;
  const uint16_t* residual16 = ep && ep->residual16 ? ep->residual16 + row0 * ldc + col0 : nullptr;
  uint16_t* out16 = ep && ep->out16 ? ep->out16 + row0 * ldc + col0 : nullptr;
  if (mr == kMR && nr == kNR && (inRegister || !out16)) {
    for (int64_t r = 0; r < kMR; r++) {
      float* cr = c + r * ldc;
      Vec8 lo = rows[r][0], hi = rows[r][1];
      if (add) {
        Vec8 old0, old1;
        __builtin_memcpy(&old0, cr, sizeof(Vec8));
        __builtin_memcpy(&old1, cr + 8, sizeof(Vec8));
        lo += old0; hi += old1;
      }
      if (ep) {
        if (ep->bias) { lo += ep->bias[row0 + r]; hi += ep->bias[row0 + r]; }
        if (residual) {
          Vec8 r0, r1;
          __builtin_memcpy(&r0, residual + r * ldc, sizeof(Vec8));
          __builtin_memcpy(&r1, residual + r * ldc + 8, sizeof(Vec8));
          lo += r0; hi += r1;
        }
        if (residual16) {
          lo += vmath::widen8(residual16 + r * ldc, ep->residual16Type);
          hi += vmath::widen8(residual16 + r * ldc + 8, ep->residual16Type);
        }
        lo = finishVector(lo, activate, roundHere, act, alpha, beta);
        hi = finishVector(hi, activate, roundHere, act, alpha, beta);
      }
      if (out16) {
        vmath::narrow8(lo, ep->out16Type, out16 + r * ldc);
        vmath::narrow8(hi, ep->out16Type, out16 + r * ldc + 8);
        continue;
      }
      __builtin_memcpy(cr, &lo, sizeof(Vec8));
      __builtin_memcpy(cr + 8, &hi, sizeof(Vec8));
      if (!inRegister) ep->activation.apply(cr, kNR);
    }
    return;
  }
  // A partial tile, or a 16-bit output whose activation runs on stored values: sums finished row by row in a
  // staging tile, with the same vector arithmetic as a whole tile, then stored.
  alignas(32) float tile[kMR][kNR];
  for (int64_t r = 0; r < kMR; r++) {
    __builtin_memcpy(&tile[r][0], &rows[r][0], sizeof(Vec8));
    __builtin_memcpy(&tile[r][8], &rows[r][1], sizeof(Vec8));
  }
  alignas(32) float wide[kNR];
  for (int64_t r = 0; r < mr; r++) {
    float* cr = c + r * ldc;
    float* row = tile[r];
    if (add) for (int64_t j = 0; j < nr; j++) row[j] += cr[j];
    if (ep && ep->bias) for (int64_t j = 0; j < nr; j++) row[j] += ep->bias[row0 + r];
    if (residual) for (int64_t j = 0; j < nr; j++) row[j] += residual[r * ldc + j];
    if (residual16) {
      widenHalves(residual16 + r * ldc, wide, nr, ep->residual16Type);
      for (int64_t j = 0; j < nr; j++) row[j] += wide[j];
    }
    for (int64_t h = 0; ep && h < kNR && (activate || roundHere != Round::kNone); h += 8) {
      Vec8 v;
      __builtin_memcpy(&v, row + h, sizeof(Vec8));
      v = finishVector(v, activate, roundHere, act, alpha, beta);
      __builtin_memcpy(row + h, &v, sizeof(Vec8));
    }
    if (!inRegister) ep->activation.apply(row, nr);
    if (out16) narrowToHalves(row, out16 + r * ldc, nr, ep->out16Type);
    else for (int64_t j = 0; j < nr; j++) cr[j] = row[j];
  }
}

// C[0:mr, 0:nr] (+)= Ap (kc × kMR) · Bp (kc rows of kNR, `bStride` apart), then the epilogue (finishTile) on the tile
// while it is in registers.
// With `Pairs`, A and B hold bfloat16 pairs instead of floats (see bf16PairsGemm): each step is two of K, multiplied
// by VDPBF16PS, which adds both products of a 32-bit lane into its float32 sum.
template <bool Pairs = false>
__attribute__((always_inline)) inline void microKernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, int64_t bStride, float* c, int64_t ldc, int64_t mr, int64_t nr, bool add,
                 const GemmEpilogue* ep, int64_t row0, int64_t col0, const PlainEpilogue& plain, const int64_t* taps = nullptr, int64_t prefetchAhead = 0) {
  Vec8 c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
  if constexpr (Pairs) {
    for (int64_t k = 0; k < kc; k++) {
      const float* row = bp + k * bStride;
      Vec8 b0, b1;
      __builtin_memcpy(&b0, row, sizeof(Vec8));
      __builtin_memcpy(&b1, row + 8, sizeof(Vec8));
      const float* a = ap + k * kMR;
      Vec8 a0 = vmath::broadcast(a), a1 = vmath::broadcast(a + 1), a2 = vmath::broadcast(a + 2);
      vmath::dotPairs(c00, a0, b0); vmath::dotPairs(c01, a0, b1);
      vmath::dotPairs(c10, a1, b0); vmath::dotPairs(c11, a1, b1);
      vmath::dotPairs(c20, a2, b0); vmath::dotPairs(c21, a2, b1);
      a0 = vmath::broadcast(a + 3); a1 = vmath::broadcast(a + 4); a2 = vmath::broadcast(a + 5);
      vmath::dotPairs(c30, a0, b0); vmath::dotPairs(c31, a0, b1);
      vmath::dotPairs(c40, a1, b0); vmath::dotPairs(c41, a1, b1);
      vmath::dotPairs(c50, a2, b0); vmath::dotPairs(c51, a2, b1);
    }
    kc = 0;  // the float32 loops below do nothing
  }
  // A last panel of at most 8 columns (49 pixels: 3 panels and 1 column) takes half the multiply-adds.
  // B's row k at bp + k·bStride, or (taps) at bp plus taps[k] bytes.
  for (int64_t k = 0; k < kc && nr <= 8; k++) {
    const float* row = taps ? reinterpret_cast<const float*>(reinterpret_cast<const char*>(bp) + taps[k]) : bp + k * bStride;
    Vec8 b0;
    __builtin_memcpy(&b0, row, sizeof(Vec8));
    const float* a = ap + k * kMR;
    c00 += a[0] * b0; c10 += a[1] * b0; c20 += a[2] * b0; c30 += a[3] * b0; c40 += a[4] * b0; c50 += a[5] * b0;
  }
  for (int64_t k = 0; k < kc && nr > 8; k++) {
    const float* row = taps ? reinterpret_cast<const float*>(reinterpret_cast<const char*>(bp) + taps[k]) : bp + k * bStride;
    if (prefetchAhead) __builtin_prefetch(row + prefetchAhead);
    Vec8 b0, b1;
    __builtin_memcpy(&b0, row, sizeof(Vec8));
    __builtin_memcpy(&b1, row + 8, sizeof(Vec8));
    const float* a = ap + k * kMR;
    c00 += a[0] * b0; c01 += a[0] * b1;
    c10 += a[1] * b0; c11 += a[1] * b1;
    c20 += a[2] * b0; c21 += a[2] * b1;
    c30 += a[3] * b0; c31 += a[3] * b1;
    c40 += a[4] * b0; c41 += a[4] * b1;
    c50 += a[5] * b0; c51 += a[5] * b1;
  }
  Vec8 rows[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  finishTile(rows, c, ldc, mr, nr, add, ep, row0, col0, plain);
}

// microKernel for CPUs with AVX-512 (inlined only into code compiled for it, NETDEF_WIDE): on a Xeon (two 16-float FMA units) the 6 × 16 tile of 8-float vectors runs at
// half the FMA rate (87 of 178 GFLOP/s on one core of a Xeon 5th gen: an 8-float FMA issues at the rate of a 16-float
// one), and 6 accumulators of 16 floats would leave the FMA latency uncovered. So two A panels (12 rows) meet one B
// panel, one 16-float accumulator a row: 12 FMA chains, a 16-float load and 12 broadcasts a step (178 GFLOP/s, the
// peak; on Zen 4, whose 16-float FMA takes two 8-float slots, the same rate as before). `Panels` 1 for a last odd
// panel. Each sum is the same chain of FMAs in the same order as microKernel's: the results are the same bits.
template <int Panels>
__attribute__((always_inline)) inline void wideMicroKernel(int64_t kc, const float* __restrict ap, const float* __restrict ap2, const float* __restrict bp, int64_t bStride,
                                                                       float* c, int64_t ldc, int64_t mr, int64_t nr, bool add, const GemmEpilogue* ep, int64_t row0,
                                                                       int64_t col0, const PlainEpilogue& plain, const int64_t* taps, int64_t prefetchAhead) {
  Vec16 acc[kMR * Panels] = {};
  for (int64_t k = 0; k < kc; k++) {
    const float* row = taps ? reinterpret_cast<const float*>(reinterpret_cast<const char*>(bp) + taps[k]) : bp + k * bStride;
    if (prefetchAhead) __builtin_prefetch(row + prefetchAhead);
    // A last panel of at most 8 columns is read as 8 (B read in place may end there), the upper lanes zero.
    Vec16 b;
    if (nr > 8) {
      __builtin_memcpy(&b, row, sizeof b);
    } else {
      const Vec8 low = vmath::load(row);
      b = __builtin_shufflevector(low, Vec8{}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }
    const float* a = ap + k * kMR;
#pragma GCC unroll 6
    for (int r = 0; r < kMR; r++) acc[r] += a[r] * b;
    if constexpr (Panels == 2) {
      const float* a2 = ap2 + k * kMR;
#pragma GCC unroll 6
      for (int r = 0; r < kMR; r++) acc[kMR + r] += a2[r] * b;
    }
  }
#pragma GCC unroll 2
  for (int half = 0; half < Panels; half++) {
    Vec8 rows[kMR][2];
#pragma GCC unroll 6
    for (int r = 0; r < kMR; r++) {
      rows[r][0] = __builtin_shufflevector(acc[half * kMR + r], acc[half * kMR + r], 0, 1, 2, 3, 4, 5, 6, 7);
      rows[r][1] = __builtin_shufflevector(acc[half * kMR + r], acc[half * kMR + r], 8, 9, 10, 11, 12, 13, 14, 15);
    }
    finishTile(rows, c + half * kMR * ldc, ldc, std::min(kMR, mr - half * kMR), nr, add, ep, row0 + half * kMR, col0, plain);
  }
}


}  // namespace

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

namespace {

// Which micro-kernel a sweep runs: float32 (microKernel), bfloat16 pairs (microKernel<true>), or float32 in 16-float
// rows (wideMicroKernel, two A panels a tile).
enum class Tiles { kFloat, kPairs, kWide };
constexpr int64_t panelsPerTile(Tiles kind) { return kind == Tiles::kWide ? 2 : 1; }

// The tile of A panels [p, min(p + panelsPerTile, pEnd)) (`aStride` apart) against one B panel, into C's rows from
// p·kMR (C, the epilogue and `col0` at the panel's first column).
template <Tiles Kind>
__attribute__((always_inline)) inline void tileAt(int64_t kc, const float* ap, int64_t aStride, int64_t p, int64_t pEnd, const float* bp, int64_t bStride, float* C, int64_t ldc,
                                                  int64_t M, int64_t nr, int64_t col0, bool add, const GemmEpilogue* ep, const PlainEpilogue& plain, const int64_t* taps,
                                                  int64_t ahead) {
  float* tile = C + p * kMR * ldc;
  if constexpr (Kind == Tiles::kWide) {
    const int64_t mr = std::min(2 * kMR, M - p * kMR);
    if (p + 1 < pEnd) wideMicroKernel<2>(kc, ap + p * aStride, ap + (p + 1) * aStride, bp, bStride, tile, ldc, mr, nr, add, ep, p * kMR, col0, plain, taps, ahead);
    else wideMicroKernel<1>(kc, ap + p * aStride, nullptr, bp, bStride, tile, ldc, mr, nr, add, ep, p * kMR, col0, plain, taps, ahead);
  } else {
    microKernel<Kind == Tiles::kPairs>(kc, ap + p * aStride, bp, bStride, tile, ldc, std::min(kMR, M - p * kMR), nr, add, ep, p * kMR, col0, plain, taps, ahead);
  }
}

// The tiles of A panels [p0, p1) (`aStride` floats apart) × B panels [q0, q1) (bps[q − q0], rows
// strides[q − q0] apart, or `stride` apart when strides is null), A panels outer or (panelsOuter) B panels outer; one
// call for the block with the micro-kernel inlined: at short sums (K = 16) a call per tile cost about as much as the
// tile's multiply-adds.
template <Tiles Kind>
__attribute__((always_inline)) inline void sweepTilesOf(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride,
                                                        int64_t q0, int64_t q1, bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead) {
  // (No lambda here: a lambda is compiled for the baseline target, not for this clone's.)
  const PlainEpilogue plain = plainEpilogue(ep);
  constexpr int64_t step = panelsPerTile(Kind);
  const int64_t tiles = (p1 - p0 + step - 1) / step;
  const int64_t outer = panelsOuter ? q1 - q0 : tiles, inner = panelsOuter ? tiles : q1 - q0;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < inner; j++) {
      const int64_t p = p0 + step * (panelsOuter ? j : i), q = panelsOuter ? q0 + i : q0 + j;
      const int64_t bStride = strides ? strides[q - q0] : stride;
      const int64_t ahead = p == p0 && bStride != kNR ? fetchAhead : 0;  // B read in place: see sgemmPackedB
      tileAt<Kind>(kc, ap, aStride, p, p1, bps[q - q0], bStride, C + q * kNR, ldc, M, std::min(kNR, N - q * kNR), q * kNR, add, ep, plain, nullptr, ahead);
    }
}

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

using SweepFn = void (*)(int64_t, const float*, int64_t, int64_t, int64_t, const float* const*, const int64_t*, int64_t, int64_t, int64_t, bool, int64_t, int64_t, float*, int64_t, bool, const GemmEpilogue*, int64_t);

}  // namespace

NETDEF_CLONES
void sgemmTaps(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0, const GemmEpilogue* epilogue) {
#if defined(__x86_64__)
  if (wideTiles()) return wideTaps(M, nr, K, prepackedA, b, taps, C, ldc, col0, epilogue);
#endif
  tapsOf<Tiles::kFloat>(M, nr, K, prepackedA, b, taps, C, ldc, col0, epilogue);
}

namespace {

// Rows [0, m) of A (k0 … k0+kc) into panels of kMR rows, zero-padded.
void packA(int64_t m, int64_t kc, const float* a, int64_t lda, float* ap) {
  const int64_t panels = (m + kMR - 1) / kMR;
  parallelFor(panels, [&](int64_t p) {
    float* dst = ap + p * kc * kMR;
    for (int64_t r = 0; r < kMR; r++) {
      const int64_t i = p * kMR + r;
      if (i < m) for (int64_t k = 0; k < kc; k++) dst[k * kMR + r] = a[i * lda + k];
      else for (int64_t k = 0; k < kc; k++) dst[k * kMR + r] = 0.0f;
    }
  }, m * kc > (1 << 14));
}

// Columns [j0, j0 + nr) of B (rows k0 … k0+kc, `b` already offset to k0) into one panel, zero-padded;
// B as [K, N] or (transB) [N, K].
void packBPanelImpl(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* bp) {
  if (transB) {
    for (int64_t j = 0; j < kNR; j++) {
      if (j < nr) { const float* src = b + (j0 + j) * ldb; for (int64_t k = 0; k < kc; k++) bp[k * kNR + j] = src[k]; }
      else for (int64_t k = 0; k < kc; k++) bp[k * kNR + j] = 0.0f;
    }
    return;
  }
  for (int64_t k = 0; k < kc; k++) {
    const float* src = b + k * ldb + j0;
    float* dst = bp + k * kNR;
    for (int64_t j = 0; j < nr; j++) dst[j] = src[j];
    for (int64_t j = nr; j < kNR; j++) dst[j] = 0.0f;
  }
}

// K blocks of at most `kBlock`, all of one size: a short trailing block would pay a full pass over C for little work.
int64_t evenBlock(int64_t K, int64_t kBlock) {
  const int64_t blocks = (K + kBlock - 1) / kBlock;
  return (K + blocks - 1) / blocks;
}

}  // namespace

void packBPanel(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* panel) {
  packBPanelImpl(kc, j0, nr, b, ldb, transB, panel);
}

std::vector<float> prepackA(int64_t M, int64_t K, const float* A, int64_t lda) {
  std::vector<float> packed(static_cast<size_t>((M + kMR - 1) / kMR * kMR * K));
  packA(M, K, A, lda, packed.data());
  return packed;
}

namespace {

// sgemmPackedB, its tiles swept by `sweep`: float32 (sweepTiles), or bfloat16 pairs (sweepPairTiles), where K counts
// pairs and each float of A and B holds one.
void gemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate, int64_t kBlock,
                 const float* prepackedA, const GemmEpilogue* epilogue, const float* rowMajorB, int64_t ldb, SweepFn sweep) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  static thread_local AlignedBuffer packedA, sharedB;
  const int64_t mPanels = (M + kMR - 1) / kMR, nPanels = (N + kNR - 1) / kNR;
  // Wide B (many panels): tasks take groups of B panels, packed by the task while hot in cache, then met by every
  // A panel. Narrow B (a few panels, e.g. a 7×7 feature map against 512 filters): all of B packed once, tasks take
  // chunks of A panels (a few tens of KiB, kept in L2) and run them against each B panel in turn (kept in L1), so
  // large weights stream from memory once.
  const bool wide = nPanels >= 8;
  // Chunks of A panels start at even panels: the wide sweep takes them in pairs.
  const int64_t mPairs = (mPanels + 1) / 2, mChunks = balancedParts(mPairs, (std::clamp<int64_t>(mPanels / 8, 1, 8) + 1) / 2);
  const auto chunkBegin = [&](int64_t chunk) { return std::min(mPanels, 2 * partBegin(mPairs, mChunks, chunk)); };
  const bool parallel = M * N * K > (1 << 16);
  const bool oneThread = !parallel || insideParallelLoop();
  // K blocks where B needs none. A narrow B is packed whole: up to 1,024 deep in one block, each tile finished in
  // one visit (960→160 on 7×7: 0.120 → 0.109 ms against blocks of 240). A wide B read in place and split between
  // threads: each K block is a parallel loop of its own, whose end waits for the slower thread (on a VM, for a
  // descheduled one), so one block there too (MobileNetV2's 14×14 projections, 384 and 576 deep, 8–17 % faster in
  // median at batch 1). On one thread the blocks stay: a group's 4 panels of up to 256 rows are read from L2 by
  // every A panel, and 1,024 rows would not fit (5 % slower at batch 8).
  if (!wide || (rowMajorB && !oneThread)) kBlock = std::max(kBlock, std::min<int64_t>(K, kNarrowBlock));
  kBlock = evenBlock(K, kBlock);
  if (epilogue && epilogue->out16 && (accumulate || (K > kBlock && !C))) throw std::logic_error("sgemmPackedB: a 16-bit output's partial sums need C");
  for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
    const int64_t kc = std::min(kBlock, K - k0);
    // A prepacked: panels of all K, read from row k0 on; else this block's panels, packed now.
    const float* ap = prepackedA ? prepackedA + k0 * kMR : nullptr;
    const int64_t aStride = prepackedA ? K * kMR : kc * kMR;
    if (!ap) {
      float* own = packedA.get(static_cast<size_t>(mPanels * kMR * kc));
      packA(M, kc, A + k0, lda, own);
      ap = own;
    }
    const bool add = accumulate || k0 > 0;
    const GemmEpilogue* ep = k0 + kc == K ? epilogue : nullptr;
    if (wide) {
      // B read in place by a GEMM that runs on one thread (one image per thread, at batch > 1): its K rows are as
      // many streams from memory, more than the hardware prefetcher follows, so the first A panel fetches the same
      // rows of the next group of panels, which this thread takes next (MobileNetV2's 1×1 projections at batch 8
      // 6–13 % faster; when groups were handed out in one sequence between threads the next group was the other
      // thread's, and the same fetch lost 4 %; with each thread's own share of groups it is level, within noise).
      // Split between threads, a short sum over many panels goes in a few long runs of consecutive groups instead:
      // a group is little work there, and groups handed out one at a time interleaved the threads' reads of each
      // row of B; in runs each thread streams its own stretch and fetches its next group ahead (MobileNetV2's
      // 112×112 1×1 convolutions of 16 and 32 channels 17–19 % faster in median at batch 1).
      const bool longRuns = !oneThread && kc <= 64 && nPanels >= 16 * poolThreads();
      const int64_t fetchAhead = rowMajorB && (oneThread || longRuns) ? kNR * kWideGroup : 0;
      // Split between threads group by group, a few groups (13 panels of a 14×14 map: 4) leave one thread waiting
      // for the other's last group at the end of the loop: there, narrower groups, about four per thread.
      const int64_t perGroup = oneThread || longRuns ? kWideGroup : std::clamp<int64_t>(nPanels / (4 * poolThreads()), 1, kWideGroup);
      // A task takes a group of B panels (or a run of groups) and sweeps the A panels over each: each A panel meets
      // the group's panels in turn, so C is written row-block by row-block in runs of the group's width rather than
      // 16 floats per page.
      const int64_t groups = balancedParts(nPanels, perGroup);
      const int64_t runs = longRuns ? std::min<int64_t>(groups, 4 * poolThreads()) : groups;
      parallelFor(runs, [&](int64_t run) {
        static thread_local AlignedBuffer packedB;
        float* buffer = packedB.get(static_cast<size_t>(kWideGroup * kNR * kc));
        for (int64_t group = partBegin(groups, runs, run); group < partBegin(groups, runs, run + 1); group++) {
          const int64_t q0 = partBegin(nPanels, groups, group), q1 = partBegin(nPanels, groups, group + 1);
          const float* bps[kWideGroup];
          int64_t strides[kWideGroup];
          for (int64_t q = q0; q < q1; q++) {
            const int64_t nr = std::min(kNR, N - q * kNR);
            // A whole panel of a row-major B is read where it lies, a row per step: no packing.
            strides[q - q0] = rowMajorB && nr == kNR ? ldb : kNR;
            bps[q - q0] = rowMajorB && nr == kNR ? rowMajorB + k0 * ldb + q * kNR : packB(k0, kc, q * kNR, nr, buffer + (q - q0) * kNR * kc);
          }
          sweep(kc, ap, aStride, 0, mPanels, bps, strides, 0, q0, q1, false, M, N, C, ldc, add, ep, fetchAhead);
        }
      }, parallel);
      continue;
    }
    float* shared = sharedB.get(static_cast<size_t>(nPanels * kNR * kc));
    static thread_local std::vector<const float*> panelList;  // the caller's: workers see it through `panels`
    panelList.resize(nPanels);
    const float** panels = panelList.data();
    parallelFor(nPanels, [&](int64_t q) { panels[q] = packB(k0, kc, q * kNR, std::min(kNR, N - q * kNR), shared + q * kNR * kc); }, N * kc > (1 << 13));
    parallelFor(mChunks, [&](int64_t chunk) {
      sweep(kc, ap, aStride, chunkBegin(chunk), chunkBegin(chunk + 1), panels, nullptr, kNR, 0, nPanels, true, M, N, C, ldc, add, ep, 0);
    }, parallel);
  }
}

}  // namespace

void sgemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate, int64_t kBlock,
                  const float* prepackedA, const GemmEpilogue* epilogue, const float* rowMajorB, int64_t ldb) {
#if defined(__x86_64__)
  if (wideTiles()) return gemmPackedB(M, N, K, A, lda, packB, C, ldc, accumulate, kBlock, prepackedA, epilogue, rowMajorB, ldb, sweepWideTiles);
#endif
  gemmPackedB(M, N, K, A, lda, packB, C, ldc, accumulate, kBlock, prepackedA, epilogue, rowMajorB, ldb, sweepTiles);
}

#if defined(__x86_64__)
namespace {

constexpr int kProbeChains = 12, kProbeSteps = 4000;
double secondsSince(std::chrono::steady_clock::time_point start) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }

// Seconds for kProbeSteps steps of kProbeChains independent chains of 16-lane instructions (VDPBF16PS: 32 products
// each; FMA: 16). The chains start from different values: identical ones were merged into one by the compiler, so
// the FMAs were timed as one chain's latency. (No lambdas: a lambda is compiled for the baseline target, where
// VDPBF16PS cannot be.)
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16"))) double timePairs(volatile float& sink) {
  __m512 acc[kProbeChains];
  for (int c = 0; c < kProbeChains; c++) acc[c] = _mm512_set1_ps(static_cast<float>(c + 1));
  __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80);
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < kProbeSteps; s++) {
#pragma GCC unroll 12
    for (int c = 0; c < kProbeChains; c++) acc[c] = _mm512_dpbf16_ps(acc[c], one, one);
    __asm__ volatile("" : "+v"(one));
  }
  const double seconds = secondsSince(start);
  for (int c = 0; c < kProbeChains; c++) sink = sink + acc[c][0];
  return seconds;
}
NETDEF_WIDE double timeFmas(volatile float& sink) {
  Vec16 acc[kProbeChains];
  for (int c = 0; c < kProbeChains; c++) acc[c] = Vec16{} + static_cast<float>(c + 1);
  Vec16 one = Vec16{} + 1.0f;
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < kProbeSteps; s++) {
#pragma GCC unroll 12
    for (int c = 0; c < kProbeChains; c++) acc[c] = acc[c] * one + one;
    __asm__ volatile("" : "+v"(one));
  }
  const double seconds = secondsSince(start);
  for (int c = 0; c < kProbeChains; c++) sink = sink + acc[c][0];
  return seconds;
}

// Whether VDPBF16PS makes products faster than the float32 FMAs that would replace it (per product, less than 0.75
// of the time), timed once (best of three, about 0.1 ms): the rate differs by CPU. Zen 4 and Zen 5 make twice as many
// products a cycle by VDPBF16PS as by 16-float FMAs; Xeons of the 4th and 5th generation half as many: there bfloat16
// products made MobileNetV2 2.5 times slower than float32.
bool bf16ProductsFaster() {
  volatile float sink = 0;
  double pairs = 1e9, fmas = 1e9;
  for (int run = 0; run < 3; run++) {
    pairs = std::min(pairs, timePairs(sink));
    fmas = std::min(fmas, timeFmas(sink));
  }
  return pairs / 2 < 0.75 * fmas;  // a VDPBF16PS makes twice an FMA's products
}

}  // namespace
#endif

bool bf16DotSupported() {
#if defined(__x86_64__)
  static const bool cpu = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  // The engine's options, read as each kernel is made: off, on wherever the CPU has the instruction, or where faster.
  const EngineOptions::Toggle mode = currentOptions().bfloat16Products;
  if (!cpu || mode == EngineOptions::Toggle::kOff) return false;
  if (mode == EngineOptions::Toggle::kOn) return true;
  static const bool faster = bf16ProductsFaster();
  return faster;
#else
  return false;
#endif
}

std::vector<float> prepackPairsA(int64_t M, int64_t K, const float* A, int64_t lda) {
  const int64_t pairs = (K + 1) / 2, panels = (M + kMR - 1) / kMR;
  std::vector<float> packed(static_cast<size_t>(panels * kMR * pairs));
  const auto high = [](float v) { uint32_t bits; std::memcpy(&bits, &v, 4); return bits >> 16; };
  for (int64_t p = 0; p < panels; p++)
    for (int64_t k = 0; k < pairs; k++)
      for (int64_t r = 0; r < kMR; r++) {
        const int64_t i = p * kMR + r;
        const uint32_t low = i < M ? high(A[i * lda + 2 * k]) : 0, upper = i < M && 2 * k + 1 < K ? high(A[i * lda + 2 * k + 1]) : 0;
        const uint32_t pair = low | upper << 16;
        std::memcpy(&packed[(p * pairs + k) * kMR + r], &pair, 4);
      }
  return packed;
}

void bf16PairsGemm(int64_t M, int64_t N, int64_t pairs, const PackB& packPairs, float* C, int64_t ldc, int64_t kBlock, const float* prepackedPairs, const GemmEpilogue* epilogue) {
  if (!bf16DotSupported()) throw std::logic_error("bf16PairsGemm: this CPU has no AVX-512 BF16");
  gemmPackedB(M, N, pairs, nullptr, 0, packPairs, C, ldc, false, kBlock, prepackedPairs, epilogue, nullptr, 0, sweepPairTiles);
}

namespace {

// C[i, j] (+)= A row i · B row j for R rows of A and C columns j of B at a time (R·C = 4: eight FMA chains in
// flight, each dot product in two, which hides the FMA latency one chain would be bound by). Each B row is read once
// for R rows of A. Per dot product the order is always the same (lanes of k mod 16 < 8 and ≥ 8 apart, their sum,
// then the tail), so C does not depend on how many rows there are.
template <int R, int C>
__attribute__((always_inline)) inline void dotTile(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  Vec8 s[R][C] = {}, t[R][C] = {};
  int64_t k = 0;
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
template <int R, int C>
__attribute__((always_inline)) inline void dotRows(int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  int64_t j = j0;
  for (; j + C <= j1; j += C) dotTile<R, C>(K, A, lda, B + j * ldb, ldb, c + j, ldc, accumulate);
  for (; j < j1; j++) dotTile<R, 1>(K, A, lda, B + j * ldb, ldb, c + j, ldc, accumulate);
}

// Columns [j0, j1) of gemvRows' C. (No lambda in here: a lambda is compiled for the baseline target, not for this
// clone's.)
NETDEF_CLONES
void gemvBlock(int64_t j0, int64_t j1, int64_t M, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB, float* C, int64_t ldc, bool accumulate) {
  if (transB) {
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) dotRows<4, 1>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
    if (i + 2 <= M) { dotRows<2, 2>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); i += 2; }
    if (i < M) dotRows<1, 4>(j0, j1, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
    return;
  }
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
  parallelFor((N + 31) / 32, [&](int64_t block) {
    gemvBlock(block * 32, std::min(N, block * 32 + 32), M, K, A, lda, B, ldb, transB, C, ldc, accumulate);
  }, M * N * K > (1 << 15));
}

#if defined(__x86_64__)
namespace {

// The float16 bits of a value that is exactly a float16 (callers check F16C first).
__attribute__((target("f16c"))) uint16_t toFloat16Bits(float v) { return _cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT); }

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

void gemvRows16(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* B, bool bfloat16, float* C, int64_t ldc, bool accumulate) {
  parallelFor((N + 31) / 32, [&](int64_t block) {
    gemvBlock16(block * 32, std::min(N, block * 32 + 32), M, K, A, lda, B, bfloat16, C, ldc, accumulate);
  }, N * K > (1 << 15));
}

}  // namespace
#endif

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB,
           float* C, int64_t ldc, bool accumulate) {
  if ((M <= 2 || (transB && M <= kGemvRows)) && K > 0) return gemvRows(M, N, K, A, lda, B, ldb, transB, C, ldc, accumulate);
  sgemmPackedB(M, N, K, A, lda, [&](int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* bp) {
    packBPanel(kc, j0, nr, transB ? B + k0 : B + k0 * ldb, ldb, transB, bp);
    return bp;
  }, C, ldc, accumulate, 256, nullptr, nullptr, transB ? nullptr : B, ldb);
}

namespace {

// Dense layer: y[N, O] = x[N, K] · W[O, K]ᵀ + b.
class FullyConnected : public Kernel {
 public:
  explicit FullyConnected(const OpDesc& op)
      : Kernel(op), out_(op.params.integer(op.name, "outFeatures")), in_(op.params.integer(op.name, "inFeatures")),
        weight_(op.weight("kernel")) {
    if (static_cast<int64_t>(weight_.size()) != out_ * in_) bad("kernel has " + std::to_string(weight_.size()) + " values");
    bias_ = optionalBias(op, out_);
    activation_ = ActivationFn::fused(op);
    compactWeights();
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    std::string problem;
    Shape out = denseOutput(in.at(0), in_, out_, problem);
    if (!problem.empty()) fail(problem);
    return {out};
  }
  // Reads 16-bit storage (widening the input once); its outputs are float32.
  bool takes16BitStorage() const override { return true; }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = in[0]->shape[0];
    static thread_local Floats widened;
    const float* x = floatValues(*in[0], widened);
    float* y = out[0]->data.data();
    if (!bias_.empty()) {
      for (int64_t i = 0; i < n; i++) std::memcpy(y + i * out_, bias_.data(), out_ * sizeof(float));
    }
#if defined(__x86_64__)
    if (!weight16_.empty() && n <= 2) {
      gemvRows16(n, out_, in_, x, in_, weight16_.data(), bfloat16_, y, out_, !bias_.empty());
      activation_.apply(y, n * out_);
      return;
    }
#endif
    sgemm(n, out_, in_, x, in_, weight_.data(), in_, true, y, out_, !bias_.empty());
    activation_.apply(y, n * out_);
  }

 private:
  // Weights that are all exactly bfloat16 or float16 values (a reduced-precision network's) are also kept in that
  // type for batch 1 and 2, where a dense layer is bound by reading them; F16C converts them back on the fly. The
  // conversion is exact, so results do not change.
  void compactWeights() {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c") || weight_.empty()) return;
    if (allBfloat16Values(weight_)) {
      bfloat16_ = true;
      for (float v : weight_) { uint32_t bits; std::memcpy(&bits, &v, 4); weight16_.push_back(static_cast<uint16_t>(bits >> 16)); }
      return;
    }
    if (!std::all_of(weight_.begin(), weight_.end(), [](float v) { return std::isfinite(v) && roundToFloat16(v) == v; })) return;
    for (float v : weight_) weight16_.push_back(toFloat16Bits(v));
#endif
  }

  int64_t out_, in_;
  std::vector<float> weight_, bias_;
  std::vector<uint16_t> weight16_;  // the 16-bit copy, when exact
  bool bfloat16_ = false;
  ActivationFn activation_;
};

// Batched matrix product with broadcast batch dimensions, transposes and vectors.
class MatrixMultiply : public Kernel {
 public:
  explicit MatrixMultiply(const OpDesc& op) : Kernel(op), opA_(op.params.string(op.name, "opA")), opB_(op.params.string(op.name, "opB")) {}

  struct Layout { Shape batch; int64_t m, k, n; };

  Layout layout(const Shape& a, const Shape& b) const {
    const bool va = opA_ == "vector", vb = opB_ == "vector";
    const size_t ra = va ? 1 : 2, rb = vb ? 1 : 2;
    if (a.size() < ra || b.size() < rb) fail("inputs " + formatShape(a) + " and " + formatShape(b) + " have too few dimensions");
    int64_t m = va ? 1 : (opA_ == "transpose" ? a[a.size() - 1] : a[a.size() - 2]);
    int64_t ka = va ? a.back() : (opA_ == "transpose" ? a[a.size() - 2] : a.back());
    int64_t kb = vb ? b.back() : (opB_ == "transpose" ? b.back() : b[b.size() - 2]);
    int64_t n = vb ? 1 : (opB_ == "transpose" ? b[b.size() - 2] : b.back());
    if (ka != kb) fail("inner dimensions differ: " + formatShape(a) + " × " + formatShape(b));
    Shape ba(a.begin(), a.end() - ra), bb(b.begin(), b.end() - rb);
    if (ba.size() != bb.size()) fail("batch ranks differ: " + formatShape(a) + " × " + formatShape(b));
    Shape batch;
    for (size_t i = 0; i < ba.size(); i++) {
      if (ba[i] != bb[i] && ba[i] != 1 && bb[i] != 1) fail("batch dimensions do not broadcast: " + formatShape(a) + " × " + formatShape(b));
      batch.push_back(std::max(ba[i], bb[i]));
    }
    return {batch, m, ka, n};
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Layout l = layout(in.at(0), in.at(1));
    Shape s = l.batch;
    if (opA_ != "vector") s.push_back(l.m);
    if (opB_ != "vector") s.push_back(l.n);
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape &a = in[0]->shape, &b = in[1]->shape;
    Layout l = layout(a, b);
    const int64_t batches = volume(l.batch);
    const size_t rank = l.batch.size();
    std::vector<int64_t> idx(rank, 0);
    std::vector<float> aT, bT;
    for (int64_t t = 0; t < batches; t++) {
      int64_t offA = 0, offB = 0, strideA = l.m * l.k, strideB = l.k * l.n;
      // Batch offsets with broadcasting: a dimension of extent 1 does not advance.
      for (int64_t d = static_cast<int64_t>(rank) - 1, ma = 1, mb = 1; d >= 0; d--) {
        const int64_t ea = a[d], eb = b[d];
        if (ea != 1) offA += idx[d] * ma;
        if (eb != 1) offB += idx[d] * mb;
        ma *= ea; mb *= eb;
      }
      const float* pa = in[0]->data.data() + offA * strideA;
      const float* pb = in[1]->data.data() + offB * strideB;
      if (opA_ == "transpose") {  // materialise Aᵀ [m, k]
        aT.resize(l.m * l.k);
        for (int64_t i = 0; i < l.k; i++) for (int64_t j = 0; j < l.m; j++) aT[j * l.k + i] = pa[i * l.m + j];
        pa = aT.data();
      }
      float* pc = out[0]->data.data() + t * l.m * l.n;
      // B as [k, n] (none, vector) or [n, k] (transpose).
      sgemm(l.m, l.n, l.k, pa, l.k, pb, opB_ == "transpose" ? l.k : l.n, opB_ == "transpose", pc, l.n, false);
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < l.batch[d]) break; idx[d] = 0; }
    }
  }

 private:
  std::string opA_, opB_;
};

}  // namespace

std::unique_ptr<Kernel> makeFullyConnected(const OpDesc& op) {
  if (op.params.has("inputScale")) return makeInt8Dense(op);
  return std::make_unique<FullyConnected>(op);
}
std::unique_ptr<Kernel> makeMatrixMultiply(const OpDesc& op) { return std::make_unique<MatrixMultiply>(op); }

}  // namespace netdef
