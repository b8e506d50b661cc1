#pragma once
// The GEMM's register tiles (internal to kernels/gemm/): the micro-kernels, their epilogues, and the sweep over a
// block of tiles that each caller compiles with the micro-kernel inlined, for its own instruction set.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef::gemm_detail {

// Register-blocked GEMM (the BLIS/GotoBLAS scheme): A packed in panels of kMR rows, B in panels of kNR columns,
// K in equal blocks of at most `kBlock` (a tactic: 256 by default); a micro-kernel keeps a kMR × kNR tile of C in registers (12 × 8-float vectors),
// or on CPUs with AVX-512 two panels' tile (12 rows of 16-float vectors: wideMicroKernel).
constexpr int64_t kMR = 6, kNR = kGemmPanel;
constexpr int64_t kWideGroup = 4;  // B panels per task when B is wide: 64 columns, 64 KiB packed at kc = 256
constexpr int64_t kNarrowBlock = 1024;  // the K block of a narrow B

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
  // Activations built on e^x (GELU, SiLU, sigmoid, …) on the whole tile at once, staged (EpilogueActivation::apply:
  // the same bits, its vectors' steps overlapping, 16 values a vector on AVX-512); the cheap ones in registers.
  const bool staged = activate && act != Type::kRelu && act != Type::kClip && act != Type::kLeakyRelu && act != Type::kHardSwish;
  if (mr == kMR && nr == kNR && (inRegister || !out16)) {
    alignas(64) float tile[kMR][kNR];
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
        if (staged) {
          __builtin_memcpy(&tile[r][0], &lo, sizeof(Vec8));
          __builtin_memcpy(&tile[r][8], &hi, sizeof(Vec8));
          continue;
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
    if (!staged) return;
    ep->activation.apply(tile[0], kMR * kNR);
    for (int64_t r = 0; r < kMR; r++) {
      if (out16) narrowToHalves(tile[r], out16 + r * ldc, kNR, ep->out16Type);
      else __builtin_memcpy(c + r * ldc, tile[r], sizeof tile[r]);
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

// The sums of a wide tile: A panels [ap, ap2) (Panels of them) against one B panel, or (TwoB) two side by side, into
// `out` (12 or 24 vectors: per B panel, the rows of A panel 1, then 2). A function of its own, with named
// accumulators: inlined into the sweeps, GCC kept them on the stack, a store and a load around every FMA (under half
// the FMA rate on Zen 5); the call costs a few cycles a tile. Two B panels take two 16-float loads and 12 broadcasts
// for 24 FMAs where one took 13 loads for 12. The same chains of FMAs in the same order either way: the same bits.
#if defined(__x86_64__)
#define NETDEF_WIDE_SUMS NETDEF_WIDE __attribute__((noinline))
#else
#define NETDEF_WIDE_SUMS __attribute__((noinline))  // never instantiated: the wide tiles are x86-64's
#endif
template <int Panels, bool TwoB>
NETDEF_WIDE_SUMS void wideSums(int64_t kc, const float* __restrict ap, const float* __restrict ap2, const float* __restrict bp, const float* __restrict bp2,
                                                    int64_t bStride, int64_t bStride2, int64_t nr, const int64_t* taps, int64_t prefetchAhead, Vec16* __restrict out) {
  Vec16 c0{}, c1{}, c2{}, c3{}, c4{}, c5{}, d0{}, d1{}, d2{}, d3{}, d4{}, d5{};  // first B panel: A panels 1 and 2
  Vec16 e0{}, e1{}, e2{}, e3{}, e4{}, e5{}, f0{}, f1{}, f2{}, f3{}, f4{}, f5{};  // second B panel
  for (int64_t k = 0; k < kc; k++) {
    const float* row = taps ? reinterpret_cast<const float*>(reinterpret_cast<const char*>(bp) + taps[k]) : bp + k * bStride;
    if (prefetchAhead) __builtin_prefetch(row + prefetchAhead);
    // A last panel of at most 8 columns is read as 8 (B read in place may end there), the upper lanes zero.
    Vec16 b, b2{};
    if (nr > 8) {
      __builtin_memcpy(&b, row, sizeof b);
    } else {
      const Vec8 low = vmath::load(row);
      b = __builtin_shufflevector(low, Vec8{}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }
    if constexpr (TwoB) __builtin_memcpy(&b2, bp2 + k * bStride2, sizeof b2);
    const float* a = ap + k * kMR;
    c0 += a[0] * b; c1 += a[1] * b; c2 += a[2] * b; c3 += a[3] * b; c4 += a[4] * b; c5 += a[5] * b;
    if constexpr (TwoB) { e0 += a[0] * b2; e1 += a[1] * b2; e2 += a[2] * b2; e3 += a[3] * b2; e4 += a[4] * b2; e5 += a[5] * b2; }
    if constexpr (Panels == 2) {
      const float* a2 = ap2 + k * kMR;
      d0 += a2[0] * b; d1 += a2[1] * b; d2 += a2[2] * b; d3 += a2[3] * b; d4 += a2[4] * b; d5 += a2[5] * b;
      if constexpr (TwoB) { f0 += a2[0] * b2; f1 += a2[1] * b2; f2 += a2[2] * b2; f3 += a2[3] * b2; f4 += a2[4] * b2; f5 += a2[5] * b2; }
    }
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3; out[4] = c4; out[5] = c5;
  if constexpr (Panels == 2) { out[6] = d0; out[7] = d1; out[8] = d2; out[9] = d3; out[10] = d4; out[11] = d5; }
  if constexpr (TwoB) {
    out[12] = e0; out[13] = e1; out[14] = e2; out[15] = e3; out[16] = e4; out[17] = e5;
    if constexpr (Panels == 2) { out[18] = f0; out[19] = f1; out[20] = f2; out[21] = f3; out[22] = f4; out[23] = f5; }
  }
}

// A wide tile's sums (one B panel's at `acc`) finished into C's rows from row0, columns from col0, nr wide.
template <int Panels>
__attribute__((always_inline)) inline void finishWide(const Vec16* acc, float* c, int64_t ldc, int64_t mr, int64_t nr, bool add, const GemmEpilogue* ep, int64_t row0,
                                                      int64_t col0, const PlainEpilogue& plain) {
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
  Vec16 acc[2 * kMR];
  wideSums<Panels, false>(kc, ap, ap2, bp, nullptr, bStride, 0, nr, taps, prefetchAhead, acc);
  finishWide<Panels>(acc, c, ldc, mr, nr, add, ep, row0, col0, plain);
}

// wideMicroKernel against two whole B panels side by side (32 columns).
template <int Panels>
__attribute__((always_inline)) inline void wideMicroKernelTwoB(int64_t kc, const float* __restrict ap, const float* __restrict ap2, const float* __restrict bp,
                                                               const float* __restrict bp2, int64_t bStride, int64_t bStride2, float* c, int64_t ldc, int64_t mr,
                                                               bool add, const GemmEpilogue* ep, int64_t row0, int64_t col0, const PlainEpilogue& plain) {
  Vec16 acc[4 * kMR];
  wideSums<Panels, true>(kc, ap, ap2, bp, bp2, bStride, bStride2, kNR, nullptr, 0, acc);
  finishWide<Panels>(acc, c, ldc, mr, kNR, add, ep, row0, col0, plain);
  finishWide<Panels>(acc + 2 * kMR, c + kNR, ldc, mr, kNR, add, ep, row0, col0 + kNR, plain);
}

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
  for (int64_t i = 0; i < outer; i++) {
    if constexpr (Kind == Tiles::kWide) {
      // B panels outer: two whole ones at a time, each A tile meeting both (a dense layer over many rows: 1,576 ×
      // 192 against 192 × 768 went 12 × 16 a tile, 13 loads for 12 FMAs).
      const int64_t q = q0 + i;
      if (panelsOuter && i + 1 < outer && N - q * kNR >= 2 * kNR && !strides) {
        for (int64_t p = p0; p < p1; p += step) {
          float* tile = C + p * kMR * ldc + q * kNR;
          const int64_t mr = std::min(2 * kMR, M - p * kMR);
          if (p + 1 < p1) wideMicroKernelTwoB<2>(kc, ap + p * aStride, ap + (p + 1) * aStride, bps[q - q0], bps[q + 1 - q0], stride, stride, tile, ldc, mr, add, ep, p * kMR, q * kNR, plain);
          else wideMicroKernelTwoB<1>(kc, ap + p * aStride, nullptr, bps[q - q0], bps[q + 1 - q0], stride, stride, tile, ldc, mr, add, ep, p * kMR, q * kNR, plain);
        }
        i++;
        continue;
      }
    }
    for (int64_t j = 0; j < inner; j++) {
      const int64_t p = p0 + step * (panelsOuter ? j : i), q = panelsOuter ? q0 + i : q0 + j;
      const int64_t bStride = strides ? strides[q - q0] : stride;
      const int64_t ahead = p == p0 && bStride != kNR ? fetchAhead : 0;  // B read in place: see sgemmPackedB
      if constexpr (Kind == Tiles::kWide) {
        // Two whole B panels next in the inner loop (A panels outer): one tile of both.
        if (!panelsOuter && j + 1 < inner && !ahead && N - q * kNR >= 2 * kNR) {
          const int64_t bStride2 = strides ? strides[q + 1 - q0] : stride, mr = std::min(2 * kMR, M - p * kMR);
          float* tile = C + p * kMR * ldc + q * kNR;
          if (p + 1 < p1) wideMicroKernelTwoB<2>(kc, ap + p * aStride, ap + (p + 1) * aStride, bps[q - q0], bps[q + 1 - q0], bStride, bStride2, tile, ldc, mr, add, ep, p * kMR, q * kNR, plain);
          else wideMicroKernelTwoB<1>(kc, ap + p * aStride, nullptr, bps[q - q0], bps[q + 1 - q0], bStride, bStride2, tile, ldc, mr, add, ep, p * kMR, q * kNR, plain);
          j++;
          continue;
        }
      }
      tileAt<Kind>(kc, ap, aStride, p, p1, bps[q - q0], bStride, C + q * kNR, ldc, M, std::min(kNR, N - q * kNR), q * kNR, add, ep, plain, nullptr, ahead);
    }
  }
}

// A sweep over a block of tiles (sweepTilesOf compiled for one micro-kernel).
using SweepFn = void (*)(int64_t, const float*, int64_t, int64_t, int64_t, const float* const*, const int64_t*, int64_t, int64_t, int64_t, bool, int64_t, int64_t, float*, int64_t, bool, const GemmEpilogue*, int64_t);
void sweepTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride, int64_t q0, int64_t q1,
                bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead);
void sweepPairTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride, int64_t q0, int64_t q1,
                    bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead);
#if defined(__x86_64__)
void sweepWideTiles(int64_t kc, const float* ap, int64_t aStride, int64_t p0, int64_t p1, const float* const* bps, const int64_t* strides, int64_t stride,
                    int64_t q0, int64_t q1, bool panelsOuter, int64_t M, int64_t N, float* C, int64_t ldc, bool add, const GemmEpilogue* ep, int64_t fetchAhead);
#endif

// sgemmPackedB with the sweep given: float32 (sweepTiles, sweepWideTiles) or bfloat16 pairs (sweepPairTiles), where K
// counts pairs and each float of A and B holds one.
void gemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate, int64_t kBlock,
                 const float* prepackedA, const GemmEpilogue* epilogue, const float* rowMajorB, int64_t ldb, SweepFn sweep);

}  // namespace netdef::gemm_detail
