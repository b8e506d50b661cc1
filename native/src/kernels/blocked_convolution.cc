#include "kernels/blocked_convolution.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/blocked_finish.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"
#include "kernels/gemm/gemm.h"
#include "kernels/activation_fn.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

constexpr int kTilePixels = 6;   // 12 accumulators of 8 floats: two FMAs in flight per cycle need 8+ chains
constexpr int kMaxRows = 2 * kTilePixels;  // a panel 8 wide takes tiles of twice the pixels: 12 accumulators again
constexpr int kPairPixels = 8;  // a wide tile of two panels: 16 accumulators (24, for 12 pixels, made GCC spill them)
constexpr int64_t kChunkTiles = 9;  // tiles a work item sweeps for each panel, so the panel is reused while in cache
                                    // (9: a 7×7 map is one chunk)

// How a tile's input is laid out: planar, blocked, or blocked bfloat16 read as pairs of channels.
enum class Terms { kPlanar, kBlocked, kPairs };

// Where a tile finds its input: pixel i's value of sum term k at x + taps[k] + i·step (a planar input: the channel's
// plane, or a tap's place in the padded rows), or (blocked) at x + (k/8)·8·pixels + 8i + k%8, x at the tile's first
// pixel (x16, in bfloat16, for pairs).
struct Source {
  const float* x;
  const uint16_t* x16;
  const int64_t* taps;
  int64_t step, pixels;
};

// A 16-float row's two halves, the 8-channel vectors a tile finishes.
__attribute__((always_inline)) inline void splitHalves(Vec16 v, Vec8 (&halves)[2]) {
  halves[0] = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  halves[1] = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}

// Blocked terms, wide: MR pixels against NP panels of 16 channels (panel p at w + p·panelStride), NP·MR accumulators,
// panel p's into acc[p]. With two panels each broadcast input value feeds two FMAs: a one-panel tile of 12 pixels
// takes 13 loads for its 12 FMAs, which held SqueezeNet's 512 → 1000 1×1 to 300 GFLOP/s. Whatever NP, the same FMAs
// in the same order per output, so the same bits.
template <int MR, int NP>
__attribute__((always_inline)) inline void blockedPanelSums(int64_t K, const Source& s, const float* w, int64_t panelStride, Vec8 (*const (&acc)[NP])[2]) {
  Vec16 a[MR][NP];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++)
    for (int p = 0; p < NP; p++) a[i][p] = Vec16{};
  for (int64_t kb = 0; kb < K; kb += 8) {
    const float* xb = s.x + kb * s.pixels;
#pragma GCC unroll 8
    for (int kk = 0; kk < 8; kk++) {
      Vec16 v[NP];
      for (int p = 0; p < NP; p++) __builtin_memcpy(&v[p], w + p * panelStride + (kb + kk) * 16, sizeof(Vec16));
#pragma GCC unroll 12
      for (int i = 0; i < MR; i++) {
        const float x = xb[i * 8 + kk];
        for (int p = 0; p < NP; p++) a[i][p] += x * v[p];
      }
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++)
    for (int p = 0; p < NP; p++) splitHalves(a[i][p], acc[p][i]);
}

// Σ_k value(k, i) · w[k, 0 … 8·NV) for the tile's MR pixels, w the panel of NV vectors a row. Pairs: channels 2p and
// 2p + 1 of a pixel are one 32-bit broadcast, multiplied by VDPBF16PS against row p of the panel's weight pairs.
// `Wide` (wideTiles(), code compiled for AVX-512): a panel of 16 channels as one 16-float vector a pixel, so up to
// 12 pixels make the 12 FMA chains (two 8-float vectors a pixel issue at half the FMA rate of a Xeon); the same
// FMAs on the same values, so the same bits.
template <int MR, int NV, Terms T, bool Wide>
__attribute__((always_inline)) inline void tileSums(int64_t K, const Source& s, const float* w, Vec8 (&acc)[kMaxRows][2]) {
#if defined(__x86_64__)
  if constexpr (Wide && NV == 2 && T == Terms::kPairs) {  // 16-lane VDPBF16PS: a pixel's pair against 16 channels
    typedef int32_t Int16 __attribute__((vector_size(64)));
    Vec16 a[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) a[i] = Vec16{};
    for (int64_t kb = 0; kb < K; kb += 8) {
      const uint16_t* xb = s.x16 + kb * s.pixels;
      const float* wb = w + kb / 2 * 16;
#pragma GCC unroll 4
      for (int kk = 0; kk < 4; kk++) {
        Vec16 wv;
        __builtin_memcpy(&wv, wb + kk * 16, sizeof wv);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
          int32_t pair;
          __builtin_memcpy(&pair, xb + i * 8 + 2 * kk, 4);
          const Int16 lanes = Int16{} + pair;
          asm("vdpbf16ps %2, %1, %0" : "+v"(a[i]) : "v"(lanes), "v"(wv));
        }
      }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) splitHalves(a[i], acc[i]);
    return;
  }
#endif
  if constexpr (Wide && NV == 2 && T == Terms::kBlocked) {
    Vec8 (*const panel[1])[2] = {acc};
    return blockedPanelSums<MR, 1>(K, s, w, 0, panel);
  }
  if constexpr (Wide && NV == 2 && T == Terms::kPlanar) {
    Vec16 a[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) a[i] = Vec16{};
    for (int64_t k = 0; k < K; k++) {
      const float* xk = s.x + s.taps[k];
      Vec16 wv;
      __builtin_memcpy(&wv, w + k * 16, sizeof wv);
#pragma GCC unroll 12
      for (int i = 0; i < MR; i++) a[i] += xk[i * s.step] * wv;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) splitHalves(a[i], acc[i]);
    return;
  }
  Vec8 a[MR][NV];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) a[i][j] = Vec8{};
  if constexpr (T == Terms::kPairs) {
    for (int64_t kb = 0; kb < K; kb += 8) {
      const uint16_t* xb = s.x16 + kb * s.pixels;  // block kb/8 starts kb·pixels values in
      const float* wb = w + kb / 2 * 8 * NV;
#pragma GCC unroll 4
      for (int kk = 0; kk < 4; kk++) {
        Vec8 wv[NV];
#pragma GCC unroll 2
        for (int j = 0; j < NV; j++) wv[j] = vmath::load(wb + (kk * NV + j) * 8);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
          const Vec8 v = vmath::broadcast(reinterpret_cast<const float*>(xb + i * 8 + 2 * kk));
#pragma GCC unroll 2
          for (int j = 0; j < NV; j++) vmath::dotPairs(a[i][j], v, wv[j]);
        }
      }
    }
  } else if constexpr (T == Terms::kBlocked) {
    for (int64_t kb = 0; kb < K; kb += 8) {
      const float* xb = s.x + kb * s.pixels;  // block kb/8 starts kb·pixels values in
      const float* wb = w + kb * 8 * NV;
#pragma GCC unroll 8
      for (int kk = 0; kk < 8; kk++) {
        Vec8 wv[NV];
#pragma GCC unroll 2
        for (int j = 0; j < NV; j++) wv[j] = vmath::load(wb + (kk * NV + j) * 8);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
          const Vec8 v = vmath::broadcast(xb + i * 8 + kk);
#pragma GCC unroll 2
          for (int j = 0; j < NV; j++) a[i][j] += v * wv[j];
        }
      }
    }
  } else {
    const int64_t step = s.step;
    for (int64_t k = 0; k < K; k++) {
      const float* xk = s.x + s.taps[k];
      Vec8 wv[NV];
#pragma GCC unroll 2
      for (int j = 0; j < NV; j++) wv[j] = vmath::load(w + (k * NV + j) * 8);
#pragma GCC unroll 12
      for (int i = 0; i < MR; i++) {
        const Vec8 v = vmath::broadcast(xk + i * step);
#pragma GCC unroll 2
        for (int j = 0; j < NV; j++) a[i][j] += v * wv[j];
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NV; j++) acc[i][j] = a[i][j];
}

__attribute__((always_inline)) inline void sumsTwoPanels(int mr, int64_t K, const Source& s, const float* w, Vec8 (*const (&acc)[2])[2]) {
  switch (mr) {
    case 8: return blockedPanelSums<8, 2>(K, s, w, 16 * K, acc);
    case 7: return blockedPanelSums<7, 2>(K, s, w, 16 * K, acc);
    case 6: return blockedPanelSums<6, 2>(K, s, w, 16 * K, acc);
    case 5: return blockedPanelSums<5, 2>(K, s, w, 16 * K, acc);
    case 4: return blockedPanelSums<4, 2>(K, s, w, 16 * K, acc);
    case 3: return blockedPanelSums<3, 2>(K, s, w, 16 * K, acc);
    case 2: return blockedPanelSums<2, 2>(K, s, w, 16 * K, acc);
    default: return blockedPanelSums<1, 2>(K, s, w, 16 * K, acc);
  }
}

// The most pixels a tile of a panel `nv` vectors wide takes: 12 accumulators.
template <Terms T, bool Wide>
constexpr int64_t tilePixels(int64_t nv) { return nv == 2 && !Wide ? kTilePixels : kMaxRows; }

template <int NV, Terms T, bool Wide>
__attribute__((always_inline)) inline void sums(int mr, int64_t K, const Source& s, const float* w, Vec8 (&acc)[kMaxRows][2]) {
  if constexpr (tilePixels<T, Wide>(NV) == kMaxRows) {
    switch (mr) {
      case 12: return tileSums<12, NV, T, Wide>(K, s, w, acc);
      case 11: return tileSums<11, NV, T, Wide>(K, s, w, acc);
      case 10: return tileSums<10, NV, T, Wide>(K, s, w, acc);
      case 9: return tileSums<9, NV, T, Wide>(K, s, w, acc);
      case 8: return tileSums<8, NV, T, Wide>(K, s, w, acc);
      case 7: return tileSums<7, NV, T, Wide>(K, s, w, acc);
      default: break;
    }
  }
  switch (mr) {
    case 6: return tileSums<6, NV, T, Wide>(K, s, w, acc);
    case 5: return tileSums<5, NV, T, Wide>(K, s, w, acc);
    case 4: return tileSums<4, NV, T, Wide>(K, s, w, acc);
    case 3: return tileSums<3, NV, T, Wide>(K, s, w, acc);
    case 2: return tileSums<2, NV, T, Wide>(K, s, w, acc);
    default: return tileSums<1, NV, T, Wide>(K, s, w, acc);
  }
}

// Where a sweep's tiles go: output pixel n of channel m at y + (m/8)·8·pixels + 8n + m%8 (blocked) or m·pixels + n.
struct Target {
  BlockedConvolution::Out y;
  bool blocked;
  int64_t pixels;
  const float* bias;
  BlockedConvolution::In residual;  // laid out as y
  float lower, upper;
  EpilogueActivation gate;
  ActivationFn::Round round;
};

// The store steps a sweep's tiles take.
inline Finishing finishingOf(const Target& t) {
  if (t.gate.type != ActivationFn::Type::kNone) return Finishing::kGated;
  return !t.y.h && !t.residual.h && t.round == ActivationFn::Round::kNone ? Finishing::kPlain : Finishing::kRounded;
}

// A tile's sums (mr pixels from output pixel n0, channels [m0, m0 + width) in nv vectors) finished — bias `b`,
// then storeBlocked / storePlanar: residual, clamp, rounding — and stored.
template <Finishing F>
__attribute__((always_inline)) inline void finishTile(const Vec8 (&acc)[kMaxRows][2], int64_t mr, int64_t n0, int64_t m0, int64_t width, const Vec8 (&b)[2],
                                                      const Target& t, Vec8 lower, Vec8 upper) {
  const int64_t nv = (width + 7) / 8;
  if (F == Finishing::kGated && t.blocked) {  // the tile staged, its activation over all of it at once, then stored
    alignas(64) float staged[kMaxRows * 2][8];
    for (int i = 0; i < mr; i++)
      for (int64_t j = 0; j < nv; j++)
        vmath::store(staged[i * nv + j], clampedSum(acc[i][j] + b[j], (m0 / 8 + j) * 8 * t.pixels + (n0 + i) * 8, t.residual, lower, upper));
    t.gate.apply(staged[0], mr * nv * 8);
    for (int i = 0; i < mr; i++)
      for (int64_t j = 0; j < nv; j++) {
        const int64_t at = (m0 / 8 + j) * 8 * t.pixels + (n0 + i) * 8;
        const Vec8 v = vmath::round(t.round, vmath::load(staged[i * nv + j]));
        if (t.y.h) vmath::narrow8(v, t.y.type, t.y.h + at);
        else vmath::store(t.y.f + at, v);
      }
    return;
  }
  if (t.blocked) {  // a pixel's 8 channels of a block: one vector, stored where it goes
    for (int i = 0; i < mr; i++)
      for (int64_t j = 0; j < nv; j++) {
        const int64_t at = (m0 / 8 + j) * 8 * t.pixels + (n0 + i) * 8;
        storeBlocked<F>(acc[i][j] + b[j], at, t.y, t.residual, lower, upper, t.gate, t.round);
      }
    return;
  }
  if constexpr (F == Finishing::kPlain) {  // planar float32, clamp alone: each channel's run of mr pixels, value by value
    for (int64_t c = 0; c < width; c++)
      for (int i = 0; i < mr; i++) storePlanar<F>(acc[i][c / 8][c % 8] + b[c / 8][c % 8], (m0 + c) * t.pixels + n0 + i, t.y, t.residual, t.lower, t.upper, t.gate, t.round);
    return;
  }
  // Planar with rounding or another activation: each channel's run of up to 8 of the tile's pixels as one vector,
  // transposed through memory (value by value, ShuffleNet's bfloat16 1×1s before its channel shuffles took 4× their
  // float32 time).
  for (int64_t i0 = 0; i0 < mr; i0 += 8) {
    const int64_t n = std::min<int64_t>(8, mr - i0);
    for (int64_t j = 0; j < nv; j++) {
      alignas(32) float tile[8][8];
      for (int64_t i = 0; i < n; i++) vmath::store(tile[i], acc[i0 + i][j] + b[j]);
      for (int64_t c = 0, channels = std::min<int64_t>(8, width - 8 * j); c < channels; c++) {
        Vec8 v{};
        for (int64_t i = 0; i < n; i++) v[i] = tile[i][c];
        storePlanarRun<F>(v, n, (m0 + 8 * j + c) * t.pixels + n0 + i0, t.y, t.residual, lower, upper, t.gate, t.round);
      }
    }
  }
}

// Panel g's bias (channels [m0, m0 + width)) as two vectors, zero past the width or without a bias.
inline void panelBias(const Target& t, int64_t m0, int64_t width, Vec8 (&b)[2]) {
  b[0] = b[1] = Vec8{};
  for (int64_t j = 0; j < width; j++) b[j / 8][j % 8] = t.bias ? t.bias[m0 + j] : 0.0f;
}

// Pixels [first, first + count) of one image (consecutive output pixels, `s.x` at the first) against panels
// [g0, g1), panel by panel, in tiles of near-equal size (49 pixels: 5 and 6, not 8 × 6 + 1, whose last tile would
// read the whole panel for one pixel). Panel g starts at m0·K (pairs: m0·K/2).
template <Terms T, Finishing F, bool Wide>
__attribute__((always_inline)) inline void sweepOf(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* panels, Source s,
                                                   const Target& target) {
  const Target t = target;  // a local: the stores below cannot alias its fields, which then stay in registers
  const Vec8 lower = vmath::splat(t.lower), upper = vmath::splat(t.upper);
  const float* x0 = s.x;
  const uint16_t* x16 = s.x16;
  const int64_t step = T == Terms::kPlanar ? s.step : 8;
  int64_t g = g0;
  // Pairs of full panels in tiles of up to kPairPixels, where the sums are long enough for their loads to matter
  // (over 24 input channels, se_block's expansion, the smaller tiles' finishing cost more than the loads saved).
  if constexpr (Wide && T == Terms::kBlocked) {
    for (; K >= 64 && g + 1 < g1 && M - 16 * (g + 1) >= 16; g += 2) {
      const int64_t m0 = 16 * g;
      Vec8 b0[2], b1[2];
      panelBias(t, m0, 16, b0);
      panelBias(t, m0 + 16, 16, b1);
      const int64_t tiles = (count + kPairPixels - 1) / kPairPixels, base = count / tiles, larger = count % tiles;
      for (int64_t tile = 0, done = 0, mr; tile < tiles; tile++, done += mr) {
        mr = base + (tile < larger ? 1 : 0);
        s.x = x0 + done * step;
        Vec8 acc0[kMaxRows][2], acc1[kMaxRows][2];
        Vec8 (*const pair[2])[2] = {acc0, acc1};
        sumsTwoPanels(static_cast<int>(mr), K, s, panels + m0 * K, pair);
        finishTile<F>(acc0, mr, first + done, m0, 16, b0, t, lower, upper);
        finishTile<F>(acc1, mr, first + done, m0 + 16, 16, b1, t, lower, upper);
      }
    }
  }
  for (; g < g1; g++) {
    const int64_t m0 = 16 * g, width = std::min<int64_t>(16, M - m0), nv = (width + 7) / 8;
    const float* w = panels + m0 * (T == Terms::kPairs ? K / 2 : K);
    Vec8 b[2];
    panelBias(t, m0, width, b);
    // Tiles of near-equal size, the first count % tiles one pixel larger (found by increments: no division per tile).
    const int64_t most = tilePixels<T, Wide>(nv), tiles = (count + most - 1) / most, base = count / tiles, larger = count % tiles;
    for (int64_t tile = 0, done = 0, mr; tile < tiles; tile++, done += mr) {
      mr = base + (tile < larger ? 1 : 0);
      if (T == Terms::kPairs) s.x16 = x16 + done * step;
      else s.x = x0 + done * step;
      Vec8 acc[kMaxRows][2];
      if (nv == 2) sums<2, T, Wide>(static_cast<int>(mr), K, s, w, acc);
      else sums<1, T, Wide>(static_cast<int>(mr), K, s, w, acc);
      finishTile<F>(acc, mr, first + done, m0, width, b, t, lower, upper);
    }
  }
}

template <bool Wide>
__attribute__((always_inline)) inline void sweepAny(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* panels, Source s, bool blocked,
                                                    const Target& t) {
  const Finishing f = finishingOf(t);
  if (blocked && f == Finishing::kPlain) sweepOf<Terms::kBlocked, Finishing::kPlain, Wide>(first, count, g0, g1, K, M, panels, s, t);
  else if (blocked && f == Finishing::kGated) sweepOf<Terms::kBlocked, Finishing::kGated, Wide>(first, count, g0, g1, K, M, panels, s, t);
  else if (blocked) sweepOf<Terms::kBlocked, Finishing::kRounded, Wide>(first, count, g0, g1, K, M, panels, s, t);
  else if (f == Finishing::kPlain) sweepOf<Terms::kPlanar, Finishing::kPlain, Wide>(first, count, g0, g1, K, M, panels, s, t);
  else if (f == Finishing::kGated) sweepOf<Terms::kPlanar, Finishing::kGated, Wide>(first, count, g0, g1, K, M, panels, s, t);
  else sweepOf<Terms::kPlanar, Finishing::kRounded, Wide>(first, count, g0, g1, K, M, panels, s, t);
}

NETDEF_CLONES
void sweepNarrow(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* panels, Source s, bool blocked, const Target& t) {
  sweepAny<false>(first, count, g0, g1, K, M, panels, s, blocked, t);
}

#if defined(__x86_64__)
NETDEF_WIDE void sweepWide(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* panels, Source s, bool blocked, const Target& t) {
  sweepAny<true>(first, count, g0, g1, K, M, panels, s, blocked, t);
}
#endif

// The float32 sweep: wide on CPUs with AVX-512 (wideTiles).
void sweep(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* panels, Source s, bool blocked, const Target& t) {
#if defined(__x86_64__)
  if (wideTiles()) return sweepWide(first, count, g0, g1, K, M, panels, s, blocked, t);
#endif
  sweepNarrow(first, count, g0, g1, K, M, panels, s, blocked, t);
}

// A band of input rows of one image, zero-padded and in float32 (BlockedConvolution::runBandWindows), `channels`
// values a pixel: a blocked input's 8 (block b's row r at x + b·blockStride + r·rowStride), or the 3 of an RGB image
// interleaved (one block); column p of a row at p·channels; tap t of the window at column 0 of row 0 at taps[t]. The
// panels' sum terms run block by block, tap by tap, a pixel's channels each.
template <class T>
struct BandOf {
  const T* x;
  int64_t channels, blockStride, rowStride, blocks;
  const int64_t* taps;
  int64_t tapCount;
};
using Band = BandOf<float>;

// Σ over the band's terms for MR pixels `step` floats apart (SW: the stride in pixels, 0 for `step` at run time; CPP:
// the band's channels a pixel),
// x at the first pixel's window, w the panel of NV vectors a row. Wide: NP (1 or 2) panels of 16 channels (the
// second `panelStride` floats on, its sums into `second`), each pixel's value broadcast once for both: 2 panels × 8
// pixels make 16 accumulators for 10 loads (weights and inputs), where one panel took 13 loads for 12. (4 panels × 6
// pixels, 10 loads for 24, measured a few percent slower on ResNet-18's layers, and 7-pixel rows split badly; 2 × 12
// made GCC spill accumulators.)
template <int MR, int NV, int NP, bool Wide, int SW, int CPP>
__attribute__((always_inline)) inline void windowSums(const Band& s, const float* x, int64_t step, const float* w, int64_t panelStride,
                                                     Vec8 (&acc)[kMaxRows][2], Vec8 (&second)[kMaxRows][2]) {
  const int64_t st = SW ? SW * CPP : step;
  if constexpr (Wide && NV == 2) {
    Vec16 a[MR][NP];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
      for (int p = 0; p < NP; p++) a[i][p] = Vec16{};
    for (int64_t b = 0; b < s.blocks; b++, x += s.blockStride)
      for (int64_t t = 0; t < s.tapCount; t++) {
        const float* xt = x + s.taps[t];
#pragma GCC unroll 8
        for (int kk = 0; kk < CPP; kk++, w += 16) {
          Vec16 wv[NP];
#pragma GCC unroll 2
          for (int p = 0; p < NP; p++) __builtin_memcpy(&wv[p], w + p * panelStride, sizeof(Vec16));
#pragma GCC unroll 12
          for (int i = 0; i < MR; i++) {
#pragma GCC unroll 2
            for (int p = 0; p < NP; p++) a[i][p] += xt[i * st + kk] * wv[p];
          }
        }
      }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      splitHalves(a[i][0], acc[i]);
      if constexpr (NP == 2) splitHalves(a[i][1], second[i]);
    }
  } else {
    Vec8 a[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
      for (int j = 0; j < NV; j++) a[i][j] = Vec8{};
    for (int64_t b = 0; b < s.blocks; b++, x += s.blockStride)
      for (int64_t t = 0; t < s.tapCount; t++) {
        const float* xt = x + s.taps[t];
#pragma GCC unroll 8
        for (int kk = 0; kk < CPP; kk++, w += 8 * NV) {
          Vec8 wv[NV];
#pragma GCC unroll 2
          for (int j = 0; j < NV; j++) wv[j] = vmath::load(w + j * 8);
#pragma GCC unroll 12
          for (int i = 0; i < MR; i++) {
            const Vec8 v = vmath::broadcast(xt + i * st + kk);
#pragma GCC unroll 2
            for (int j = 0; j < NV; j++) a[i][j] += v * wv[j];
          }
        }
      }
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NV; j++) acc[i][j] = a[i][j];
  }
}

template <int NV, int NP, bool Wide, int SW, int CPP>
__attribute__((always_inline)) inline void windowTile(int mr, const Band& s, const float* x, int64_t step, const float* w, int64_t panelStride,
                                                     Vec8 (&acc)[kMaxRows][2], Vec8 (&second)[kMaxRows][2]) {
  if constexpr (NP == 2) {
    if (mr == 8) return windowSums<8, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    if (mr == 7) return windowSums<7, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
  } else if constexpr (NV == 1 || Wide) {
    switch (mr) {
      case 12: return windowSums<12, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      case 11: return windowSums<11, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      case 10: return windowSums<10, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      case 9: return windowSums<9, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      case 8: return windowSums<8, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      case 7: return windowSums<7, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
      default: break;
    }
  }
  switch (mr) {
    case 6: return windowSums<6, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    case 5: return windowSums<5, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    case 4: return windowSums<4, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    case 3: return windowSums<3, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    case 2: return windowSums<2, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
    default: return windowSums<1, NV, NP, Wide, SW, CPP>(s, x, step, w, panelStride, acc, second);
  }
}

// `rows` output rows of OW pixels (row r's windows at band row r·sh; the first row output pixel `first`) against
// panels [g0, g1), two at a time in wide tiles, so their weights are read once for the band.
template <Finishing F, bool Wide, int SW, int CPP>
__attribute__((always_inline)) inline void windowSweepOf(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1,
                                                         int64_t K, int64_t M, const float* panels, const Target& target) {
  const Target t = target;
  const Vec8 lower = vmath::splat(t.lower), upper = vmath::splat(t.upper);
  const int64_t step = sw * CPP, panelStride = 16 * K;
  for (int64_t g = g0, np; g < g1; g += np) {
    const int64_t m0 = 16 * g, width = std::min<int64_t>(16, M - m0), nv = (width + 7) / 8;
    np = Wide && g + 2 <= g1 && M >= 16 * (g + 2) ? 2 : 1;
    const float* w = panels + m0 * K;
    Vec8 b[2][2];
    for (int64_t p = 0; p < np; p++) panelBias(t, m0 + 16 * p, p ? 16 : width, b[p]);
    const int64_t most = np == 2 ? kPairPixels : nv == 2 && !Wide ? kTilePixels : kMaxRows, tiles = (OW + most - 1) / most, base = OW / tiles, larger = OW % tiles;
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = s.x + r * sh * s.rowStride;
      for (int64_t tile = 0, done = 0, mr; tile < tiles; tile++, done += mr) {
        mr = base + (tile < larger ? 1 : 0);
        Vec8 acc[kMaxRows][2], second[kMaxRows][2];
        const float* x = xr + done * step;
        if (np == 2) windowTile<2, 2, Wide, SW, CPP>(static_cast<int>(mr), s, x, step, w, panelStride, acc, second);
        else if (nv == 2) windowTile<2, 1, Wide, SW, CPP>(static_cast<int>(mr), s, x, step, w, panelStride, acc, second);
        else windowTile<1, 1, Wide, SW, CPP>(static_cast<int>(mr), s, x, step, w, panelStride, acc, second);
        finishTile<F>(acc, mr, first + r * OW + done, m0, width, b[0], t, lower, upper);
        if (np == 2) finishTile<F>(second, mr, first + r * OW + done, m0 + 16, 16, b[1], t, lower, upper);
      }
    }
  }
}

// Wide tiles with a float32 output have the stride fixed at 1 and 2 (a tile's inputs at fixed offsets); the rest
// read it at run time (fewer copies of the kernel: each one compiled for every tile size and band layout).
template <bool Wide, int CPP>
__attribute__((always_inline)) inline void windowSweepOfChannels(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0,
                                                                 int64_t g1, int64_t K, int64_t M, const float* panels, const Target& t) {
  const Finishing f = finishingOf(t);
  const bool plain = t.blocked && f == Finishing::kPlain;
  if (Wide && plain && sw == 1) windowSweepOf<Finishing::kPlain, Wide, Wide ? 1 : 0, CPP>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
  else if (Wide && plain && sw == 2) windowSweepOf<Finishing::kPlain, Wide, Wide ? 2 : 0, CPP>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
  else if (plain) windowSweepOf<Finishing::kPlain, Wide, 0, CPP>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
  else if (f == Finishing::kGated) windowSweepOf<Finishing::kGated, Wide, 0, CPP>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
  else windowSweepOf<Finishing::kRounded, Wide, 0, CPP>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
}

template <bool Wide>
__attribute__((always_inline)) inline void windowSweepAny(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1,
                                                          int64_t K, int64_t M, const float* panels, const Target& t) {
  if (s.channels == 3) windowSweepOfChannels<Wide, 3>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
  else windowSweepOfChannels<Wide, 8>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
}

NETDEF_CLONES
void windowSweepNarrow(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1, int64_t K, int64_t M,
                       const float* panels, const Target& t) {
  windowSweepAny<false>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
}

#if defined(__x86_64__)
NETDEF_WIDE void windowSweepWide(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1, int64_t K,
                                 int64_t M, const float* panels, const Target& t) {
  windowSweepAny<true>(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
}
#endif

void windowSweep(const Band& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1, int64_t K, int64_t M,
                 const float* panels, const Target& t) {
#if defined(__x86_64__)
  if (wideTiles()) return windowSweepWide(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
#endif
  windowSweepNarrow(s, sh, sw, rows, OW, first, g0, g1, K, M, panels, t);
}

#if defined(__x86_64__)
#define NETDEF_BF16 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16")))
// The band windows' sums over a blocked bfloat16 band (values in 16 bits), a pixel's channels 2q and 2q + 1 one 32-bit
// broadcast multiplied by VDPBF16PS against row q of the panels' weight pairs (16 lanes a row): twice the products
// of float32 FMAs a cycle where the CPU makes them at the same rate (Zen 4 and 5).
template <int MR, int NP, int SW>
NETDEF_BF16 __attribute__((always_inline)) inline void windowPairSums(const BandOf<uint16_t>& s, const uint16_t* x, int64_t step, const float* w,
                                                                      int64_t panelStride, Vec8 (&acc)[kMaxRows][2], Vec8 (&second)[kMaxRows][2]) {
  const int64_t st = SW ? SW * 8 : step;
  __m512 a[MR][NP];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int p = 0; p < NP; p++) a[i][p] = _mm512_setzero_ps();
  for (int64_t b = 0; b < s.blocks; b++, x += s.blockStride)
    for (int64_t t = 0; t < s.tapCount; t++) {
      const uint16_t* xt = x + s.taps[t];
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++, w += 16) {
        __m512bh wv[NP];
#pragma GCC unroll 2
        for (int p = 0; p < NP; p++) wv[p] = (__m512bh)_mm512_loadu_ps(w + p * panelStride);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
          int32_t pair;
          std::memcpy(&pair, xt + i * st + 2 * q, 4);
          const __m512bh v = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 2
          for (int p = 0; p < NP; p++) a[i][p] = _mm512_dpbf16_ps(a[i][p], v, wv[p]);
        }
      }
    }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    splitHalves((Vec16)a[i][0], acc[i]);
    if constexpr (NP == 2) splitHalves((Vec16)a[i][1], second[i]);
  }
}

template <int NP, int SW>
NETDEF_BF16 __attribute__((always_inline)) inline void windowPairTile(int mr, const BandOf<uint16_t>& s, const uint16_t* x, int64_t step, const float* w,
                                                                      int64_t panelStride, Vec8 (&acc)[kMaxRows][2], Vec8 (&second)[kMaxRows][2]) {
  switch (mr) {
    case 8: return windowPairSums<8, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 7: return windowPairSums<7, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 6: return windowPairSums<6, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 5: return windowPairSums<5, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 4: return windowPairSums<4, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 3: return windowPairSums<3, NP, SW>(s, x, step, w, panelStride, acc, second);
    case 2: return windowPairSums<2, NP, SW>(s, x, step, w, panelStride, acc, second);
    default: return windowPairSums<1, NP, SW>(s, x, step, w, panelStride, acc, second);
  }
}

// windowSweep over a bfloat16 band in pairs (panels of 16 channels, `pairPanels` at m0·K/2): tiles of up to 8
// pixels, one or two panels.
template <int SW, Finishing F>
NETDEF_BF16 __attribute__((always_inline)) inline void windowPairSweepOf(const BandOf<uint16_t>& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first,
                                                                         int64_t g0, int64_t g1, int64_t K, const float* pairPanels, const Target& target) {
  const Target t = target;
  const Vec8 lower = vmath::splat(t.lower), upper = vmath::splat(t.upper);
  const int64_t step = sw * 8, panelStride = 8 * K;
  const int64_t tiles = (OW + kPairPixels - 1) / kPairPixels, base = OW / tiles, larger = OW % tiles;
  for (int64_t g = g0, np; g < g1; g += np) {
    np = g + 2 <= g1 ? 2 : 1;
    const int64_t m0 = 16 * g;
    const float* w = pairPanels + m0 * K / 2;
    Vec8 b[2][2];
    for (int64_t p = 0; p < np; p++) panelBias(t, m0 + 16 * p, 16, b[p]);
    for (int64_t r = 0; r < rows; r++) {
      const uint16_t* xr = s.x + r * sh * s.rowStride;
      for (int64_t tile = 0, done = 0, mr; tile < tiles; tile++, done += mr) {
        mr = base + (tile < larger ? 1 : 0);
        Vec8 acc[kMaxRows][2], second[kMaxRows][2];
        if (np == 2) windowPairTile<2, SW>(static_cast<int>(mr), s, xr + done * step, step, w, panelStride, acc, second);
        else windowPairTile<1, SW>(static_cast<int>(mr), s, xr + done * step, step, w, panelStride, acc, second);
        finishTile<F>(acc, mr, first + r * OW + done, m0, 16, b[0], t, lower, upper);
        if (np == 2) finishTile<F>(second, mr, first + r * OW + done, m0 + 16, 16, b[1], t, lower, upper);
      }
    }
  }
}

NETDEF_BF16 __attribute__((noinline)) void windowPairSweepGated(const BandOf<uint16_t>& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first,
                                                              int64_t g0, int64_t g1, int64_t K, const float* pairPanels, const Target& t) {
  windowPairSweepOf<0, Finishing::kGated>(s, sh, sw, rows, OW, first, g0, g1, K, pairPanels, t);
}

NETDEF_BF16 void windowPairSweep(const BandOf<uint16_t>& s, int64_t sh, int64_t sw, int64_t rows, int64_t OW, int64_t first, int64_t g0, int64_t g1, int64_t K,
                                 const float* pairPanels, const Target& t) {
  if (finishingOf(t) == Finishing::kGated) windowPairSweepGated(s, sh, sw, rows, OW, first, g0, g1, K, pairPanels, t);
  else if (sw == 1) windowPairSweepOf<1, Finishing::kRounded>(s, sh, sw, rows, OW, first, g0, g1, K, pairPanels, t);
  else if (sw == 2) windowPairSweepOf<2, Finishing::kRounded>(s, sh, sw, rows, OW, first, g0, g1, K, pairPanels, t);
  else windowPairSweepOf<0, Finishing::kRounded>(s, sh, sw, rows, OW, first, g0, g1, K, pairPanels, t);
}
#else
void windowPairSweep(const BandOf<uint16_t>&, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const float*, const Target&) {
  throw std::logic_error("bfloat16 pairs without AVX-512 BF16");
}
#endif

#if defined(__x86_64__)
// The same over a blocked bfloat16 input, its channels multiplied in pairs (where bf16DotSupported()). One function
// per finishing: the gated one's code inside the other's slowed MobileNetV2's bfloat16 1×1s by a fifth.
template <Finishing F>
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16"), noinline))
void sweepPairsOf(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* pairPanels, Source s, const Target& t) {
  sweepOf<Terms::kPairs, F, true>(first, count, g0, g1, K, M, pairPanels, s, t);
}

void sweepPairs(int64_t first, int64_t count, int64_t g0, int64_t g1, int64_t K, int64_t M, const float* pairPanels, Source s, const Target& t) {
  if (finishingOf(t) == Finishing::kGated) sweepPairsOf<Finishing::kGated>(first, count, g0, g1, K, M, pairPanels, s, t);
  else sweepPairsOf<Finishing::kRounded>(first, count, g0, g1, K, M, pairPanels, s, t);
}
#else
void sweepPairs(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const float*, Source, const Target&) {
  throw std::logic_error("bfloat16 pairs without AVX-512 BF16");
}
#endif

}  // namespace

BlockedConvolution::BlockedConvolution(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels, const Window& w)
    : out_(outChannels), in_(inChannels), KH_(w.kernel[1]), KW_(w.kernel[2]), sh_(w.stride[1]), sw_(w.stride[2]), dh_(w.dilation[1]), dw_(w.dilation[2]) {
  // Each panel's rows are whole vectors: a last panel of 1–7 or 9–15 channels (a 1×1 writing 20 planar channels) is
  // padded with zero weights to 8 or 16 lanes.
  const int64_t K = in_ * KH_ * KW_, last = out_ - (out_ - 1) / 16 * 16;
  panels_.assign(static_cast<size_t>((out_ - last) * K + (last + 7) / 8 * 8 * K), 0.0f);
  for (int64_t m0 = 0; m0 < out_; m0 += 16) {
    const int64_t width = std::min<int64_t>(16, out_ - m0), lanes = (width + 7) / 8 * 8;
    float* panel = panels_.data() + m0 * K;
    for (int64_t c = 0; c < in_; c++)
      for (int64_t kh = 0; kh < KH_; kh++)
        for (int64_t kw = 0; kw < KW_; kw++) {
          const int64_t k = (c * KH_ + kh) * KW_ + kw;
          for (int64_t j = 0; j < width; j++) panel[term(c, kh, kw) * lanes + j] = weight[(m0 + j) * K + k];
        }
  }
  // Weights that are all bfloat16 values (a bfloat16 network's) also as pairs, for a blocked bfloat16 input (a 1×1,
  // or windows with panels of 16 channels): row p of a panel holds, per output channel, the bits of the weights of
  // sum terms 2p (low half) and 2p + 1 (high half).
  const bool pointwise = KH_ * KW_ == 1 && sh_ == 1 && sw_ == 1;
  if (in_ % 8 == 0 && (pointwise || out_ % 16 == 0) && bf16DotSupported() && allBfloat16Values(weight)) {
    std::vector<int64_t> source(static_cast<size_t>(K));  // each sum term's weight in PyTorch's order
    for (int64_t c = 0; c < in_; c++)
      for (int64_t kh = 0; kh < KH_; kh++)
        for (int64_t kw = 0; kw < KW_; kw++) source[term(c, kh, kw)] = (c * KH_ + kh) * KW_ + kw;
    pairPanels_.assign(panels_.size() / 2, 0.0f);
    const auto bits = [](float v) { uint32_t b; std::memcpy(&b, &v, 4); return b >> 16; };
    for (int64_t m0 = 0; m0 < out_; m0 += 16) {
      const int64_t width = std::min<int64_t>(16, out_ - m0), lanes = (width + 7) / 8 * 8;
      float* panel = pairPanels_.data() + m0 * K / 2;
      for (int64_t p = 0; p < K / 2; p++)
        for (int64_t j = 0; j < width; j++) {
          const uint32_t pair = bits(weight[(m0 + j) * K + source[2 * p]]) | bits(weight[(m0 + j) * K + source[2 * p + 1]]) << 16;
          std::memcpy(&panel[p * lanes + j], &pair, 4);
        }
    }
  }
}

void BlockedConvolution::run(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, bool xBlocked, Out y, int64_t yChannels,
                             bool yBlocked, const Finish& finish, const float* channelScales) const {
  if (KH_ * KW_ == 1 && sh_ == 1 && sw_ == 1) return runPointwise(batch, H * W, x, xBlocked, y, yChannels, yBlocked, finish, channelScales);
  if (channelScales) throw ExecutionError("channel scales reached a convolution with a window");
  if (xBlocked || in_ == 3) return runBandWindows(batch, H, W, OH, OW, pad, x, xBlocked, y, yChannels, yBlocked, finish);
  runWindows(batch, H, W, OH, OW, pad, x, y, yChannels, yBlocked, finish);
}

void BlockedConvolution::runBandWindows(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, bool xBlocked, Out y,
                                        int64_t yChannels, bool yBlocked, const Finish& finish) const {
  // A blocked bfloat16 input against bfloat16 weights: multiplied in pairs (the band kept in 16 bits).
  const bool pairs = xBlocked && x.h && x.type == Storage::kBfloat16 && !pairPanels_.empty();
  const int64_t channels = xBlocked ? 8 : in_, blocks = in_ / channels, panels = (out_ + 15) / 16, K = in_ * KH_ * KW_, pixels = OH * OW;
  const int64_t Wp = (OW - 1) * sw_ + (KW_ - 1) * dw_ + 1;  // the columns the windows reach, from −pad[1]
  const auto bandRows = [&](int64_t outRows) { return (outRows - 1) * sh_ + (KH_ - 1) * dh_ + 1; };
  // Work items: bands of output rows × groups of output panels, for each image. An item copies its band of input
  // rows (all channels, zero-padded: the windows then need no bounds) and reads each of its panels once for the whole
  // band. Weights are read once per band and the input once per group: the cheapest split into enough items for
  // the threads (twice as many where the shape allows, a multiple of the threads where the panels allow), its bands
  // held in a core's L2 (512 KB, half of it).
  // Groups of panels are whole pairs where wide tiles take two at a time.
  const int64_t together = wideTiles() ? 2 : 1;
  const int64_t units = (panels + together - 1) / together;
  const int64_t threads = poolThreads(), wanted = std::min(2 * threads, batch * OH * units);
  const double weightBytes = 4.0 * K * out_;
  int64_t bands = OH, groups = 1;
  double best = INFINITY;
  for (int64_t b = 1; b <= OH; b++) {
    const double bandBytes = 4.0 * in_ * bandRows((OH + b - 1) / b) * Wp;
    if (bandBytes > (512 << 10) && b < OH) continue;
    const int64_t least = std::min(units, (wanted + batch * b - 1) / (batch * b));
    for (int64_t g = least; g <= std::min(units, least + threads - 1); g++) {
      const int64_t items = batch * b * g;
      const double rounds = static_cast<double>((items + threads - 1) / threads * threads) / static_cast<double>(items);
      const double cost = (b * weightBytes + b * g * bandBytes) * rounds;
      if (cost < best) best = cost, bands = b, groups = g;
    }
  }
  parallelFor(batch * bands * groups, [&](int64_t item) {
    const int64_t n = item / (bands * groups), band = item / groups % bands, group = item % groups;
    const int64_t oh0 = partBegin(OH, bands, band), rows = partBegin(OH, bands, band + 1) - oh0, inputRows = bandRows(rows), top = oh0 * sh_ - pad[0];
    static thread_local Floats copied;
    static thread_local std::vector<uint16_t> copied16;
    static thread_local std::vector<int64_t> taps;
    // Padded columns [lo, hi) lie inside the input row.
    const int64_t lo = std::min(Wp, pad[1]), hi = std::max(lo, std::min(Wp, W + pad[1]));
    taps.resize(static_cast<size_t>(KH_ * KW_));
    for (int64_t kh = 0; kh < KH_; kh++)
      for (int64_t kw = 0; kw < KW_; kw++) taps[kh * KW_ + kw] = (kh * dh_ * Wp + kw * dw_) * channels;
    const Target t{y.at(n * yChannels * pixels), yBlocked, pixels, finish.bias, finish.residual.at(n * out_ * pixels), finish.lower, finish.upper, finish.gate, finish.round};
    const int64_t g0 = together * partBegin(units, groups, group), g1 = std::min(panels, together * partBegin(units, groups, group + 1));
    if (pairs) {  // the band's bfloat16 bits as they are (+0 for the padding)
      copied16.assign(static_cast<size_t>(blocks * inputRows * Wp * 8), 0);
      for (int64_t b = 0; b < blocks; b++)
        for (int64_t r = 0; r < inputRows; r++) {
          const int64_t ih = top + r;
          if (ih < 0 || ih >= H) continue;
          const int64_t from = (((n * blocks + b) * H + ih) * W + lo - pad[1]) * 8;
          std::copy(x.h + from, x.h + from + (hi - lo) * 8, copied16.data() + ((b * inputRows + r) * Wp + lo) * 8);
        }
      const BandOf<uint16_t> source{copied16.data(), 8, inputRows * Wp * 8, Wp * 8, blocks, taps.data(), KH_ * KW_};
      return windowPairSweep(source, sh_, sw_, rows, OW, oh0 * OW, g0, g1, K, pairPanels_.data(), t);
    }
    copied.resize(static_cast<size_t>(blocks * inputRows * Wp * channels));
    static thread_local Floats planeRow;
    for (int64_t b = 0; b < blocks; b++)
      for (int64_t r = 0; r < inputRows; r++) {
        float* row = copied.data() + (b * inputRows + r) * Wp * channels;
        const int64_t ih = top + r;
        if (ih < 0 || ih >= H) { std::fill(row, row + Wp * channels, 0.0f); continue; }
        std::fill(row, row + lo * channels, 0.0f);
        std::fill(row + hi * channels, row + Wp * channels, 0.0f);
        if (xBlocked) {
          const int64_t from = (((n * blocks + b) * H + ih) * W + lo - pad[1]) * 8;
          if (x.f) std::copy(x.f + from, x.f + from + (hi - lo) * 8, row + lo * 8);
          else widenHalves(x.h + from, row + lo * 8, (hi - lo) * 8, x.type);
          continue;
        }
        for (int64_t c = 0; c < channels; c++) {  // a planar image's row, its channels interleaved
          const int64_t from = ((n * in_ + c) * H + ih) * W + lo - pad[1];
          const float* values = x.f + from;
          if (x.h) {
            planeRow.resize(static_cast<size_t>(hi - lo));
            widenHalves(x.h + from, planeRow.data(), hi - lo, x.type);
            values = planeRow.data();
          }
          for (int64_t p = 0; p < hi - lo; p++) row[(lo + p) * channels + c] = values[p];
        }
      }
    const Band source{copied.data(), channels, inputRows * Wp * channels, Wp * channels, blocks, taps.data(), KH_ * KW_};
    windowSweep(source, sh_, sw_, rows, OW, oh0 * OW, g0, g1, K, out_, panels_.data(), t);
  }, batch * pixels * K * out_ > (1 << 16));
}

void BlockedConvolution::scalePanels(const float* scales, int64_t g0, int64_t g1, float* into) const {
  for (int64_t g = g0; g < g1; g++) {
    const int64_t m0 = 16 * g, lanes = (std::min<int64_t>(16, out_ - m0) + 7) / 8 * 8;
    const float* from = panels_.data() + m0 * in_;
    float* to = into + m0 * in_;
    for (int64_t k = 0; k < in_; k++)
      for (int64_t j = 0; j < lanes; j++) to[k * lanes + j] = from[k * lanes + j] * scales[k];
  }
}

void BlockedConvolution::runPointwise(int64_t batch, int64_t pixels, In x, bool xBlocked, Out y, int64_t yChannels, bool yBlocked, const Finish& finish,
                                      const float* channelScales) const {
  // Chunks of whole tiles of 6 pixels, near-equal in number (the last chunk's last tile may be short).
  const int64_t tiles = (pixels + kTilePixels - 1) / kTilePixels, chunks = (tiles + kChunkTiles - 1) / kChunkTiles;
  const int64_t panels = (out_ + 15) / 16;
  // Few pixels (a 7×7 map at batch 1): the panels split between work items too, so both threads have some.
  int64_t parts = 1;
  while (batch * chunks * parts < 8 && parts < panels) parts++;
  const int64_t perImage = chunks * parts;
  parallelFor(batch * perImage, [&](int64_t item) {
    const int64_t n = item / perImage, chunk = (item % perImage) / parts, part = item % parts;
    const int64_t imageOut = n * out_ * pixels, first = tiles * chunk / chunks * kTilePixels, last = std::min(pixels, tiles * (chunk + 1) / chunks * kTilePixels);
    Finish image = finish;
    image.residual = finish.residual.at(imageOut);
    const int64_t g0 = panels * part / parts, g1 = panels * (part + 1) / parts;
    static thread_local Floats scaled;
    if (channelScales) {
      scaled.resize(panels_.size());
      scalePanels(channelScales + n * in_, g0, g1, scaled.data());
    }
    runPixels(x.at(n * in_ * pixels + first * (xBlocked ? 8 : 1)), xBlocked, pixels, first, last - first, pixels, y.at(n * yChannels * pixels), yBlocked, image,
              g0, g1, channelScales ? scaled.data() : nullptr);
  }, batch * pixels * in_ * out_ > (1 << 16));
}

void BlockedConvolution::runPixels(In x, bool xBlocked, int64_t stride, int64_t first, int64_t count, int64_t pixels, Out y, bool yBlocked, const Finish& finish,
                                   int64_t g0, int64_t g1, const float* panels) const {
  const Target t{y, yBlocked, pixels, finish.bias, finish.residual, finish.lower, finish.upper, finish.gate, finish.round};
  const int64_t g1End = g1 < 0 ? (out_ + 15) / 16 : g1;
  if (x.h && xBlocked && x.type == Storage::kBfloat16 && !pairPanels_.empty() && !panels)
    return sweepPairs(first, count, g0, g1End, in_, out_, pairPanels_.data(), Source{nullptr, x.h, nullptr, 8, stride}, t);
  // Otherwise an input in 16-bit storage: this run's pixels widened first (blocks or planes `count` apart), in cache.
  static thread_local Floats widened;
  if (x.h) {
    widened.resize(static_cast<size_t>(in_ * count));
    if (xBlocked) for (int64_t b = 0; b < in_ / 8; b++) widenHalves(x.h + b * 8 * stride, widened.data() + b * 8 * count, 8 * count, x.type);
    else for (int64_t k = 0; k < in_; k++) widenHalves(x.h + k * stride, widened.data() + k * count, count, x.type);
    x = In{widened.data()};
    stride = count;
  }
  static thread_local std::vector<int64_t> planes;  // a planar input: term k is channel k's plane
  if (!xBlocked) {
    planes.resize(static_cast<size_t>(in_));
    for (int64_t k = 0; k < in_; k++) planes[k] = k * stride;
  }
  sweep(first, count, g0, g1End, in_, out_, panels ? panels : panels_.data(), Source{x.f, nullptr, planes.data(), 1, stride}, xBlocked, t);
}

void BlockedConvolution::runWindows(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, Out y, int64_t yChannels, bool yBlocked,
                                    const Finish& finish) const {
  const int64_t pixels = OH * OW;
  parallelFor(batch * OH, [&](int64_t item) {
    const int64_t n = item / OH, oh = item % OH, imageOut = n * out_ * pixels;
    Finish image = finish;
    image.residual = finish.residual.at(imageOut);
    windowRows(x.at(n * in_ * H * W), H, W, OW, pad, oh, 1, y.at(n * yChannels * pixels), yBlocked, pixels, oh * OW, image);
  }, batch * pixels * in_ * KH_ * KW_ * out_ > (1 << 16));
}

void BlockedConvolution::windowRows(In x, int64_t H, int64_t W, int64_t OW, const int64_t pad[2], int64_t top, int64_t count, Out y, bool yBlocked, int64_t pixels,
                                    int64_t first, const Finish& finish) const {
  // Each output row's input rows, zero-padded (and widened from 16-bit storage), as [channel][kernel row][Wp]: term
  // (c, kh, kw) of output column ow at (c·KH + kh)·Wp + kw·dw + ow·sw.
  const int64_t Wp = (OW - 1) * sw_ + (KW_ - 1) * dw_ + 1, K = in_ * KH_ * KW_, panels = (out_ + 15) / 16;
  static thread_local std::vector<int64_t> taps;
  static thread_local std::vector<float> rows;
  taps.resize(static_cast<size_t>(K));
  for (int64_t c = 0; c < in_; c++)
    for (int64_t kh = 0; kh < KH_; kh++)
      for (int64_t kw = 0; kw < KW_; kw++) taps[term(c, kh, kw)] = (c * KH_ + kh) * Wp + kw * dw_;
  rows.resize(static_cast<size_t>(in_ * KH_ * Wp));
  for (int64_t oh = top; oh < top + count; oh++) {
    for (int64_t c = 0; c < in_; c++)
      for (int64_t kh = 0; kh < KH_; kh++) {
        float* row = rows.data() + (c * KH_ + kh) * Wp;
        const int64_t ih = oh * sh_ - pad[0] + kh * dh_;
        if (ih < 0 || ih >= H) { std::fill(row, row + Wp, 0.0f); continue; }
        // Padded columns [lo, hi) lie inside the input row.
        const int64_t lo = std::min(Wp, pad[1]), hi = std::max(lo, std::min(Wp, W + pad[1])), from = (c * H + ih) * W + (lo - pad[1]);
        std::fill(row, row + lo, 0.0f);
        if (x.f) std::copy(x.f + from, x.f + from + (hi - lo), row + lo);
        else widenHalves(x.h + from, row + lo, hi - lo, x.type);
        std::fill(row + hi, row + Wp, 0.0f);
      }
    const Target t{y, yBlocked, pixels, finish.bias, finish.residual, finish.lower, finish.upper, finish.gate, finish.round};
    sweep(first + (oh - top) * OW, OW, 0, panels, K, out_, panels_.data(), Source{rows.data(), nullptr, taps.data(), sw_, pixels}, false, t);
  }
}

void BlockedConvolution::runRows(In x, bool xBlocked, int64_t H, int64_t W, int64_t OW, const int64_t pad[2], int64_t top, int64_t count, float* y,
                                 const Finish& finish) const {
  if (KH_ * KW_ == 1 && sh_ == 1 && sw_ == 1) return runPixels(x.at(top * W * (xBlocked ? 8 : 1)), xBlocked, H * W, 0, count * W, count * W, Out{y}, true, finish);
  windowRows(x, H, W, OW, pad, top, count, Out{y}, true, count * OW, 0, finish);
}

}  // namespace netdef
