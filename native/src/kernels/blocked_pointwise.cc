#include "kernels/blocked_pointwise.h"

#include <algorithm>

#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

namespace {

constexpr int kTilePixels = 6;   // 12 accumulators of 8 floats: two FMAs in flight per cycle need 8+ chains
constexpr int kMaxRows = 2 * kTilePixels;  // a panel 8 wide takes two tiles at once: 12 accumulators again
constexpr int64_t kChunkTiles = 8;  // tiles a work item sweeps for each panel, so the panel is reused while in cache

// The float at p in all lanes: one broadcast load (vmath::splat adds to a zero vector, which is not free here).
__attribute__((always_inline)) inline Vec8 broadcast(const float* p) {
  const float v = *p;
  return Vec8{v, v, v, v, v, v, v, v};
}

// Σ_k x[k, n0 + i] · w[k, 0 … 8·NV) for the tile's MR pixels; x at pixel n0 (planar: channel k's value of pixel n at
// k·pixels + n; blocked: at (k/8)·8·pixels + 8n + k%8), w the panel of NV vectors a row.
template <int MR, int NV, bool Blocked>
__attribute__((always_inline)) inline void tileSums(int64_t K, const float* x, int64_t pixels, const float* w, Vec8 (&acc)[kMaxRows][2]) {
  Vec8 a[MR][NV];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) a[i][j] = Vec8{};
  if constexpr (Blocked) {
    for (int64_t kb = 0; kb < K; kb += 8) {
      const float* xb = x + kb * pixels;  // block kb/8 starts kb·pixels values in
      const float* wb = w + kb * 8 * NV;
#pragma GCC unroll 8
      for (int kk = 0; kk < 8; kk++) {
        Vec8 wv[NV];
#pragma GCC unroll 2
        for (int j = 0; j < NV; j++) wv[j] = vmath::load(wb + (kk * NV + j) * 8);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
          const Vec8 v = broadcast(xb + i * 8 + kk);
#pragma GCC unroll 2
          for (int j = 0; j < NV; j++) a[i][j] += v * wv[j];
        }
      }
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      const float* xk = x + k * pixels;
      Vec8 wv[NV];
#pragma GCC unroll 2
      for (int j = 0; j < NV; j++) wv[j] = vmath::load(w + (k * NV + j) * 8);
#pragma GCC unroll 12
      for (int i = 0; i < MR; i++) {
        const Vec8 v = broadcast(xk + i);
#pragma GCC unroll 2
        for (int j = 0; j < NV; j++) a[i][j] += v * wv[j];
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NV; j++) acc[i][j] = a[i][j];
}

template <int NV, bool Blocked>
__attribute__((always_inline)) inline void sums(int mr, int64_t K, const float* x, int64_t pixels, const float* w, Vec8 (&acc)[kMaxRows][2]) {
  switch (mr) {
    case 12: if constexpr (NV == 1) return tileSums<12, 1, Blocked>(K, x, pixels, w, acc); else break;
    case 6: return tileSums<6, NV, Blocked>(K, x, pixels, w, acc);
    case 5: return tileSums<5, NV, Blocked>(K, x, pixels, w, acc);
    case 4: return tileSums<4, NV, Blocked>(K, x, pixels, w, acc);
    case 3: return tileSums<3, NV, Blocked>(K, x, pixels, w, acc);
    case 2: return tileSums<2, NV, Blocked>(K, x, pixels, w, acc);
    default: return tileSums<1, NV, Blocked>(K, x, pixels, w, acc);
  }
}

// Tiles [t0, t1) of one image against panels [g0, g1), panel by panel.
NETDEF_CLONES
void sweep(int64_t t0, int64_t t1, int64_t g0, int64_t g1, int64_t K, int64_t M, int64_t pixels, const float* panels, const float* x, bool xBlocked,
           float* y, bool yBlocked, const float* bias, const float* residual, float low, float high) {
  const Vec8 lower = vmath::splat(low), upper = vmath::splat(high);
  for (int64_t g = g0; g < g1; g++) {
    const int64_t m0 = 16 * g, width = std::min<int64_t>(16, M - m0), nv = (width + 7) / 8;
    const float* w = panels + m0 * K;
    Vec8 b[2] = {Vec8{}, Vec8{}};
    for (int64_t j = 0; j < width; j++) b[j / 8][j % 8] = bias ? bias[m0 + j] : 0.0f;
    for (int64_t t = t0; t < t1; t++) {
      const int64_t n0 = t * kTilePixels;
      int mr = static_cast<int>(std::min<int64_t>(kTilePixels, pixels - n0));
      if (nv == 1 && mr == kTilePixels && t + 1 < t1 && pixels - n0 >= kMaxRows) { mr = kMaxRows; t++; }
      Vec8 acc[kMaxRows][2];
      const float* xt = x + (xBlocked ? n0 * 8 : n0);
      if (nv == 2) { if (xBlocked) sums<2, true>(mr, K, xt, pixels, w, acc); else sums<2, false>(mr, K, xt, pixels, w, acc); }
      else { if (xBlocked) sums<1, true>(mr, K, xt, pixels, w, acc); else sums<1, false>(mr, K, xt, pixels, w, acc); }
      if (yBlocked) {  // a pixel's 8 channels of a block: one vector, stored where it goes
        for (int i = 0; i < mr; i++)
          for (int64_t j = 0; j < nv; j++) {
            const int64_t at = (m0 / 8 + j) * 8 * pixels + (n0 + i) * 8;
            Vec8 v = acc[i][j] + b[j];
            if (residual) v += vmath::load(residual + at);
            v = v < lower ? lower : v;
            v = upper < v ? upper : v;
            vmath::store(y + at, v);
          }
        continue;
      }
      for (int64_t c = 0; c < width; c++)  // planar: each channel's run of mr pixels
        for (int i = 0; i < mr; i++) {
          const int64_t at = (m0 + c) * pixels + n0 + i;
          float v = acc[i][c / 8][c % 8] + b[c / 8][c % 8];
          if (residual) v += residual[at];
          v = v < low ? low : v;
          y[at] = high < v ? high : v;
        }
    }
  }
}

}  // namespace

BlockedPointwise::BlockedPointwise(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels)
    : out_(outChannels), in_(inChannels), panels_(static_cast<size_t>(outChannels * inChannels)) {
  for (int64_t m0 = 0; m0 < out_; m0 += 16) {
    const int64_t width = std::min<int64_t>(16, out_ - m0);
    float* panel = panels_.data() + m0 * in_;
    for (int64_t k = 0; k < in_; k++)
      for (int64_t j = 0; j < width; j++) panel[k * width + j] = weight[(m0 + j) * in_ + k];
  }
}

void BlockedPointwise::run(int64_t batch, int64_t pixels, const float* x, bool xBlocked, float* y, bool yBlocked, const Finish& finish) const {
  const int64_t tiles = (pixels + kTilePixels - 1) / kTilePixels, chunks = (tiles + kChunkTiles - 1) / kChunkTiles;
  const int64_t panels = (out_ + 15) / 16;
  // Few pixels (a 7×7 map at batch 1): the panels split between work items too, so both threads have some.
  int64_t parts = 1;
  while (batch * chunks * parts < 8 && parts < panels) parts++;
  const int64_t perImage = chunks * parts;
  parallelFor(batch * perImage, [&](int64_t item) {
    const int64_t n = item / perImage, chunk = (item % perImage) / parts, part = item % parts;
    const int64_t imageIn = n * in_ * pixels, imageOut = n * out_ * pixels;
    sweep(chunk * kChunkTiles, std::min(tiles, (chunk + 1) * kChunkTiles), panels * part / parts, panels * (part + 1) / parts, in_, out_, pixels, panels_.data(),
          x + imageIn, xBlocked, y + imageOut, yBlocked, finish.bias, finish.residual ? finish.residual + imageOut : nullptr, finish.lower, finish.upper);
  }, batch * pixels * in_ * out_ > (1 << 16));
}

}  // namespace netdef
