#include "kernels/depthwise.h"

#include <algorithm>
#include <vector>

#include "kernels/vector_math.h"
#include "thread_pool.h"
#include "kernels/activation_fn.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

// std::min(std::max(v, lower), upper) per lane, NaN kept as ActivationFn keeps it. (A function, not a lambda: a
// lambda inside a target_clones function is compiled for the default target and mismatches the clones' vectors.)
__attribute__((always_inline)) inline Vec8 clampLanes(Vec8 v, Vec8 lower, Vec8 upper) {
  v = v < lower ? lower : v;
  return upper < v ? upper : v;
}

// 8 pixels of the 8 channels from `offset` on as 8 pixel vectors (channels in lanes), float32 or 16-bit storage: the
// rows loaded straight into registers (copied through an array in halves, the transpose's full-width reads of them
// could not be forwarded from the stores: a stall on every row), then one 8×8 transpose.
template <bool kHalf>
__attribute__((always_inline)) inline void pixelVectors(const DepthwisePlanes<const float>& x, int64_t offset, Vec8 (&block)[8]) {
#pragma GCC unroll 8
  for (int c = 0; c < 8; c++) {
    if constexpr (kHalf) block[c] = vmath::widen8(x.h + c * x.pixels + offset, x.type);
    else block[c] = vmath::load(x.f + c * x.pixels + offset);
  }
  vmath::transpose8(block);
}

// The 8 channels' planes interleaved into the zero-padded buffer, 8 pixels per 8×8 transpose (widened from 16-bit
// storage on the way).
NETDEF_CLONES
void interleaveEight(const DepthwisePlanes<const float>& x, int64_t channels, const DepthwiseGeometry& g, Vec8* padded) {
  const int64_t Hp = g.paddedRows(), Wp = g.paddedColumns();
  for (int64_t ph = 0; ph < Hp; ph++) {
    const int64_t ih = ph - g.padTop;
    Vec8* row = padded + ph * Wp;
    // Input columns [lo, hi) of this padded row lie inside the input; zeros elsewhere.
    const int64_t lo = std::min(Wp, g.padLeft), hi = ih < 0 || ih >= g.H ? lo : std::min(Wp, g.padLeft + g.W);
    for (int64_t pw = 0; pw < lo; pw++) row[pw] = Vec8{};
    int64_t pw = lo;
    const int64_t at = ih * g.W - g.padLeft;  // input offset of padded column pw: at + pw
    if (x.blocked && x.f)
      for (; pw < hi; pw++) row[pw] = vmath::load(x.f + (at + pw) * 8);
    if (x.blocked && x.h)
      for (; pw < hi; pw++) row[pw] = vmath::widen8(x.h + (at + pw) * 8, x.type);
    if (channels == 8 && x.f)
      for (; pw + 8 <= hi; pw += 8) {
        Vec8 block[8];
        pixelVectors<false>(x, at + pw, block);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) row[pw + i] = block[i];
      }
    if (channels == 8 && x.h)
      for (; pw + 8 <= hi; pw += 8) {
        Vec8 block[8];
        pixelVectors<true>(x, at + pw, block);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) row[pw + i] = block[i];
      }
    // A row's last 1–7 pixels (6 of a 14×14 map's 14): 8 read where 8 lie inside the channel's plane, the extra ones
    // (the next row's) dropped after the transpose; one pixel at a time only on the plane's last row.
    if (channels == 8 && pw < hi && at + pw + 8 <= x.pixels) {
      Vec8 block[8];
      if (x.f) pixelVectors<false>(x, at + pw, block);
      else pixelVectors<true>(x, at + pw, block);
      for (int64_t i = 0; pw < hi; i++, pw++) row[pw] = block[i];
    }
    for (; pw < hi; pw++) {
      Vec8 v = {};
      for (int64_t c = 0; c < channels; c++) v[c] = x.h ? fromHalfBits(x.h[c * x.pixels + at + pw], x.type) : x.f[c * x.pixels + at + pw];
      row[pw] = v;
    }
    for (; pw < Wp; pw++) row[pw] = Vec8{};
  }
}

// One output vector finished: the clamp, then the rounding to a 16-bit type (the other activation of a gated
// kernel comes between them, over a row at once: gateRow).
__attribute__((always_inline)) inline Vec8 finishLanes(Vec8 v, Vec8 lower, Vec8 upper, ActivationFn::Round round) {
  return vmath::round(round, clampLanes(v, lower, upper));
}

// Where output vectors go: into the scratch (planes, split after the band), or straight into a channel-blocked
// output, float32 or 16-bit. A template argument: one of the three in the unrolled loops, not a branch between them.
enum class Into { kScratch, kBlocked, kBlocked16 };

// Output pixel p's vector: into the scratch `out`, or (a channel-blocked output y) straight into its place.
template <Into kInto>
__attribute__((always_inline)) inline void put(Vec8* out, const DepthwisePlanes<float>& y, int64_t p, Vec8 v) {
  if constexpr (kInto == Into::kScratch) out[p] = v;
  else if constexpr (kInto == Into::kBlocked16) vmath::narrow8(v, y.type, y.h + p * 8);
  else vmath::store(y.f + p * 8, v);
}

// Output pixel p's sums: finished and put where they go; or, where Gated (another activation after the clamp), clamped
// into the scratch `out` until gateRow.
template <Into kInto, bool Gated>
__attribute__((always_inline)) inline void finishPixel(Vec8* out, const DepthwisePlanes<float>& y, int64_t p, Vec8 v, Vec8 lower, Vec8 upper,
                                                       ActivationFn::Round round) {
  if constexpr (Gated) out[p] = clampLanes(v, lower, upper);
  else put<kInto>(out, y, p, finishLanes(v, lower, upper, round));
}

// A gated row's activation over all its clamped pixels at once (their steps overlap: one vector at a time, SiLU's
// exponential ran at its latency), then rounded and put where they go.
template <Into kInto>
__attribute__((always_inline)) inline void gateRow(Vec8* out, const DepthwisePlanes<float>& y, int64_t p0, int64_t n, const EpilogueActivation& gate,
                                                   ActivationFn::Round round) {
  gate.apply(reinterpret_cast<float*>(out + p0), n * 8);
  for (int64_t p = p0; p < p0 + n; p++) put<kInto>(out, y, p, vmath::round(round, out[p]));
}

// 8 pixels' vectors of the 8 channels as the channels' rows of 8 pixels: an 8×8 transpose kept in registers
// (unrolled: see interleaveEight).
__attribute__((always_inline)) inline void channelRows(const Vec8* pixels, Vec8 (&rows)[8]) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) rows[i] = pixels[i];
  vmath::transpose8(rows);
}

// N ≤ 8 output pixels of a 3×3 window at column stride S (dilation 1) from the padded rows at `r`: each input
// pixel loaded once for the (up to three) sums it joins, and every sum still adds its taps row by row, left to right,
// as the general loop does (the results are the same bits). Eight sums in flight hide the FMA latency along each
// sum's chain of nine (four left the FMA units idle half the time); with AVX2's 16 registers the weights then come
// from memory, which the FMAs read for free.
template <int S, int N>
__attribute__((always_inline)) inline void sums3x3(const Vec8* r, int64_t Wp, const Vec8* w, Vec8 bias, Vec8 (&sums)[8]) {
  Vec8 a[N];
#pragma GCC unroll 8
  for (int i = 0; i < N; i++) a[i] = bias;
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; kh++) {
    const Vec8* p = r + kh * Wp;
#pragma GCC unroll 17
    for (int j = 0; j < S * (N - 1) + 3; j++) {  // input pixel j joins output i at tap j − S·i, when in 0…2
      const Vec8 x = p[j];
#pragma GCC unroll 8
      for (int i = 0; i < N; i++)
        if (j - S * i >= 0 && j - S * i < 3) a[i] += w[3 * kh + j - S * i] * x;
    }
  }
  for (int i = 0; i < N; i++) sums[i] = a[i];
}

// One run of n ≤ 8 output pixels of a 3×3 window at column stride S.
template <int S>
__attribute__((always_inline)) inline void run3x3(int64_t n, const Vec8* r, int64_t Wp, const Vec8* w, Vec8 bias, Vec8 (&sums)[8]) {
  switch (n) {
    case 8: return sums3x3<S, 8>(r, Wp, w, bias, sums);
    case 7: return sums3x3<S, 7>(r, Wp, w, bias, sums);
    case 6: return sums3x3<S, 6>(r, Wp, w, bias, sums);
    case 5: return sums3x3<S, 5>(r, Wp, w, bias, sums);
    case 4: return sums3x3<S, 4>(r, Wp, w, bias, sums);
    case 3: return sums3x3<S, 3>(r, Wp, w, bias, sums);
    case 2: return sums3x3<S, 2>(r, Wp, w, bias, sums);
    default: return sums3x3<S, 1>(r, Wp, w, bias, sums);
  }
}

// Σ taps over the padded buffer (3×3 windows at column stride 1 or 2 in runs of up to 8 pixels by sums3x3, others 4
// pixels at a time), then split into planes.
template <Into kInto, bool Gated>
__attribute__((always_inline)) inline void computeEightInto(int64_t channels, const float* w, const DepthwiseGeometry& g, const DepthwiseFinish* finish,
                                                            ActivationFn::Round round, const DepthwisePlanes<float>& y, Vec8* scratch) {
  const int64_t taps = g.KH * g.KW, Wp = g.paddedColumns();
  Vec8* weights = scratch;
  const Vec8* padded = scratch + taps;
  Vec8* out = scratch + taps + g.paddedRows() * Wp;
  const DepthwisePlanes<float> into = y;  // a local: the stores may not alias its fields, which stay in registers
  Vec8 bias = {}, lower = {}, upper = {};
  const EpilogueActivation gate = finish[0].gate;
  for (int64_t c = 0; c < 8; c++) {
    const DepthwiseFinish& f = finish[c < channels ? c : 0];
    bias[c] = f.bias; lower[c] = f.lower; upper[c] = f.upper;
  }
  for (int64_t t = 0; t < taps; t++) weights[t] = vmath::load(w + t * 8);
  // A row's output pixels in near-equal runs of up to eight (partBegin: a 28-wide row as four runs of 7, not
  // 8 + 8 + 8 + 4).
  const int64_t runs = (g.OW + 7) / 8;
  for (int64_t oh = 0; oh < g.OH; oh++) {
    const Vec8* rowBase = padded + oh * g.sh * Wp;
    int64_t ow = 0;
    if (g.KH == 3 && g.KW == 3 && g.dh == 1 && g.dw == 1 && g.sw <= 2)
      for (int64_t run = 0; run < runs; run++) {
        Vec8 sums[8];
        const int64_t n = partBegin(g.OW, runs, run + 1) - ow;
        if (g.sw == 1) run3x3<1>(n, rowBase + ow, Wp, weights, bias, sums);
        else run3x3<2>(n, rowBase + 2 * ow, Wp, weights, bias, sums);
        for (int64_t i = 0; i < n; i++) finishPixel<kInto, Gated>(out, into, oh * g.OW + ow + i, sums[i], lower, upper, round);
        ow += n;
      }
    for (; ow + 4 <= g.OW; ow += 4) {
      Vec8 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
      for (int64_t kh = 0; kh < g.KH; kh++) {
        const Vec8* r = rowBase + kh * g.dh * Wp + ow * g.sw;
        for (int64_t kw = 0; kw < g.KW; kw++) {
          const Vec8 wt = weights[kh * g.KW + kw];
          const Vec8* p = r + kw * g.dw;
          a0 += wt * p[0]; a1 += wt * p[g.sw]; a2 += wt * p[2 * g.sw]; a3 += wt * p[3 * g.sw];
        }
      }
      finishPixel<kInto, Gated>(out, into, oh * g.OW + ow, a0, lower, upper, round);
      finishPixel<kInto, Gated>(out, into, oh * g.OW + ow + 1, a1, lower, upper, round);
      finishPixel<kInto, Gated>(out, into, oh * g.OW + ow + 2, a2, lower, upper, round);
      finishPixel<kInto, Gated>(out, into, oh * g.OW + ow + 3, a3, lower, upper, round);
    }
    for (; ow < g.OW; ow++) {
      Vec8 a = bias;
      for (int64_t kh = 0; kh < g.KH; kh++)
        for (int64_t kw = 0; kw < g.KW; kw++) a += weights[kh * g.KW + kw] * rowBase[kh * g.dh * Wp + ow * g.sw + kw * g.dw];
      finishPixel<kInto, Gated>(out, into, oh * g.OW + ow, a, lower, upper, round);
    }
    if (Gated) gateRow<kInto>(out, into, oh * g.OW, g.OW, gate, round);
  }
  if (kInto != Into::kScratch) return;  // each vector stored as it was finished
  const int64_t outPixels = g.OH * g.OW;
  int64_t p = 0;
  // The planes in locals: the stores (byte copies, which may alias anything) made the compiler reload y's fields
  // before each one.
  float* const yf = y.f;
  uint16_t* const yh = y.h;
  const int64_t stride = y.pixels;
  if (channels == 8 && yf)
    for (; p + 8 <= outPixels; p += 8) {
      Vec8 rows[8];
      channelRows(out + p, rows);
#pragma GCC unroll 8
      for (int c = 0; c < 8; c++) vmath::store(yf + c * stride + p, rows[c]);
    }
  if (channels == 8 && yh)
    for (; p + 8 <= outPixels; p += 8) {
      Vec8 rows[8];
      channelRows(out + p, rows);
#pragma GCC unroll 8
      for (int c = 0; c < 8; c++) vmath::narrow8(rows[c], y.type, yh + c * stride + p);
    }
  for (int64_t c = 0; c < channels; c++)
    for (int64_t q = p; q < outPixels; q++) {
      if (y.h) y.h[c * y.pixels + q] = toHalfBits(out[q][c], y.type);
      else y.f[c * y.pixels + q] = out[q][c];
    }
}

NETDEF_CLONES
void computeEight(int64_t channels, const float* w, const DepthwiseGeometry& g, const DepthwiseFinish* finish, ActivationFn::Round round,
                  const DepthwisePlanes<float>& y, Vec8* scratch) {
  const bool gated = finish[0].gate.type != ActivationFn::Type::kNone;
  if (!y.blocked && gated) computeEightInto<Into::kScratch, true>(channels, w, g, finish, round, y, scratch);
  else if (!y.blocked) computeEightInto<Into::kScratch, false>(channels, w, g, finish, round, y, scratch);
  else if (y.h && gated) computeEightInto<Into::kBlocked16, true>(channels, w, g, finish, round, y, scratch);
  else if (y.h) computeEightInto<Into::kBlocked16, false>(channels, w, g, finish, round, y, scratch);
  else if (gated) computeEightInto<Into::kBlocked, true>(channels, w, g, finish, round, y, scratch);
  else computeEightInto<Into::kBlocked, false>(channels, w, g, finish, round, y, scratch);
}

// Output rows per band: a plane is interleaved, computed and split a band of rows at a time, so the padded input
// and the sums of a band (about 128 KiB) stay in L2; whole planes of 112 × 112 × 8 floats (0.8 MB for input and
// output) spilled to L3 between the three passes.
int64_t bandRows(const DepthwiseGeometry& g) {
  const int64_t perRow = (g.sh * g.paddedColumns() + g.OW) * static_cast<int64_t>(sizeof(Vec8));
  return std::max<int64_t>(1, std::min<int64_t>(g.OH, (128 << 10) / std::max<int64_t>(1, perRow)));
}

// Output rows [first, first + rows) of g, as a geometry of their own (the input plane is the same; its rows are
// found through a shifted leading padding, which may go negative).
DepthwiseGeometry band(const DepthwiseGeometry& g, int64_t first, int64_t rows) {
  DepthwiseGeometry b = g;
  b.OH = rows;
  b.padTop = g.padTop - first * g.sh;
  return b;
}

}  // namespace

std::vector<float> interleaveDepthwiseWeights(const std::vector<float>& weights, int64_t channels, int64_t taps) {
  std::vector<float> interleaved(static_cast<size_t>((channels + 7) / 8 * taps * 8), 0.0f);
  for (int64_t c = 0; c < channels; c++)
    for (int64_t t = 0; t < taps; t++) interleaved[((c / 8) * taps + t) * 8 + c % 8] = weights[c * taps + t];
  return interleaved;
}

Vec8* depthwiseScratch(const DepthwiseGeometry& whole) {
  static thread_local std::vector<float> scratch;  // vectors of 8 floats, aligned to 32 bytes below
  const DepthwiseGeometry g = band(whole, 0, bandRows(whole));
  const int64_t vectors = g.KH * g.KW + g.paddedRows() * g.paddedColumns() + g.OH * g.OW;
  scratch.resize(static_cast<size_t>(8 * vectors + 8));
  return reinterpret_cast<Vec8*>((reinterpret_cast<uintptr_t>(scratch.data()) + 31) & ~uintptr_t{31});
}

void depthwiseEight(const DepthwisePlanes<const float>& x, int64_t channels, const float* w, const DepthwiseGeometry& g, const DepthwiseFinish* finish,
                    ActivationFn::Round round, const DepthwisePlanes<float>& y, Vec8* scratch, int64_t firstRow, int64_t rowCount) {
  const int64_t rows = bandRows(g), end = rowCount < 0 ? g.OH : firstRow + rowCount;
  for (int64_t first = firstRow; first < end; first += rows) {
    const DepthwiseGeometry b = band(g, first, std::min(rows, end - first));
    DepthwisePlanes<float> yb = y;
    if (yb.f) yb.f += (first - firstRow) * g.OW * (y.blocked ? 8 : 1);
    if (yb.h) yb.h += (first - firstRow) * g.OW * (y.blocked ? 8 : 1);
    interleaveEight(x, channels, b, scratch + g.KH * g.KW);
    computeEight(channels, w, b, finish, round, yb, scratch);
  }
}

}  // namespace netdef
