#include "kernels/direct_convolution.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/vector_math.h"
#include "thread_pool.h"
#include "kernels/gemm/gemm.h"
#include "kernels/activation_fn.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

constexpr int64_t kLanes = DirectConvolution::kChannels, kPixels = DirectConvolution::kPixels;

// Where one tile's results go and what happens to them on the way: bias, residual, a vectorised activation and the
// rounding to a 16-bit type in registers (vmath, the arithmetic of the element-wise layers); other activations (and
// the rounding after them) are left to the caller, on the stored values.
struct TileOutput {
  float* y;                // channel 0, first pixel of the tile (or y16, in 16-bit storage of y16Type)
  uint16_t* y16;
  Storage y16Type;
  int64_t yStride;         // values between channels
  const float* residual;   // or null (or residual16, in 16-bit storage of residual16Type)
  const uint16_t* residual16;
  Storage residual16Type;
  int64_t residualStride;
  int64_t channels, valid;  // how many of the 16 channels and 6 pixels are real
  ActivationFn::Type type;
  float alpha, beta;
  bool activate;
  ActivationFn::Round round;
};

// One padded row (`phase` · sw values) dealt into sw runs by column phase: padded column sw·i + k to k·phase + i.
// Stride 2 (a stem's) is its own loop, which the compiler vectorises.
NETDEF_CLONES
void splitByPhase(const float* row, float* destination, int64_t sw, int64_t phase) {
  if (sw == 2) {
    float* __restrict even = destination;
    float* __restrict odd = destination + phase;
    for (int64_t i = 0; i < phase; i++) { even[i] = row[2 * i]; odd[i] = row[2 * i + 1]; }
    return;
  }
  for (int64_t k = 0; k < sw; k++)
    for (int64_t i = 0; i < phase; i++) destination[k * phase + i] = row[sw * i + k];
}

// `valid` values of a tile row (`kWidth` wide) from src to dst: a fixed size, one or two moves, when the row is whole.
template <int kWidth, class T>
__attribute__((always_inline)) inline void copyRow(T* dst, const T* src, int64_t valid) {
  if (valid == kWidth) __builtin_memcpy(dst, src, kWidth * sizeof(T));
  else std::memcpy(dst, src, static_cast<size_t>(valid) * sizeof(T));
}

// A tile row of floats into or out of a vector. A whole 6-pixel row moves as 4 + 2 floats in registers: copied
// through a vector on the stack, a 24-byte copy after a 32-byte store (or the reverse) defeats store-to-load
// forwarding, a stall on every row that was the largest cost of tiles with short sums (a 3-channel stem).
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec2 __attribute__((vector_size(8)));
template <int kWidth>
__attribute__((always_inline)) inline Vec8 loadRow(const float* src, int64_t valid) {
  Vec8 v = {};
  if (kWidth == 6 && valid == 6) {
    Vec4 lo;
    Vec2 hi;
    __builtin_memcpy(&lo, src, sizeof(Vec4));
    __builtin_memcpy(&hi, src + 4, sizeof(Vec2));
    const Vec2 zero = {};
    const Vec4 upper = __builtin_shufflevector(hi, zero, 0, 1, 2, 3);
    return __builtin_shufflevector(lo, upper, 0, 1, 2, 3, 4, 5, 6, 7);
  }
  copyRow<kWidth>(reinterpret_cast<float*>(&v), src, valid);
  return v;
}
template <int kWidth>
__attribute__((always_inline)) inline void storeRow(float* dst, Vec8 v, int64_t valid) {
  if (kWidth == 6 && valid == 6) {
    const Vec4 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3);
    const Vec2 hi = __builtin_shufflevector(v, v, 4, 5);
    __builtin_memcpy(dst, &lo, sizeof(Vec4));
    __builtin_memcpy(dst + 4, &hi, sizeof(Vec2));
    return;
  }
  copyRow<kWidth>(dst, reinterpret_cast<const float*>(&v), valid);
}

// A tile's sums, transposed to rows of channel c's pixels (`kWidth` lanes, `out.valid` of them real), finished
// into the output: residual, activation, rounding, store.
template <int kWidth>
__attribute__((always_inline)) inline void finishRows(const Vec8* rows, const TileOutput& out) {
  for (int64_t c = 0; c < out.channels; c++) {
    Vec8 v = rows[c];
    if (out.residual) v += loadRow<kWidth>(out.residual + c * out.residualStride, out.valid);
    if (out.residual16) {
      uint16_t r[8] = {};
      copyRow<kWidth>(r, out.residual16 + c * out.residualStride, out.valid);
      v += vmath::widen8(r, out.residual16Type);
    }
    if (out.activate) v = vmath::activate(out.type, out.alpha, out.beta, v);
    v = vmath::round(out.round, v);
    if (out.y16) {
      uint16_t h[8];
      vmath::narrow8(v, out.y16Type, h);
      copyRow<kWidth>(out.y16 + c * out.yStride, h, out.valid);
      continue;
    }
    storeRow<kWidth>(out.y + c * out.yStride, v, out.valid);
  }
}

// One tile: for 16 output channels (weights `w`, [K][16]) and the 6 output pixels whose windows start at x + base[j],
// bias + Σ_k w[k] · x[base[j] + taps[k]], transposed to channel rows of pixels and finished into the output.
NETDEF_CLONES
void directTile(int64_t K, const int64_t* __restrict taps, const float* __restrict w, const float* x, const int64_t* base, const float* bias, const TileOutput& out) {
  // Byte addresses and byte offsets: each broadcast is then one load from pointer + offset.
  const char* bytes = reinterpret_cast<const char*>(x);
  const char *x0 = bytes + base[0] * 4, *x1 = bytes + base[1] * 4, *x2 = bytes + base[2] * 4, *x3 = bytes + base[3] * 4, *x4 = bytes + base[4] * 4, *x5 = bytes + base[5] * 4;
  Vec8 b0, b1;
  __builtin_memcpy(&b0, bias, sizeof(Vec8));
  __builtin_memcpy(&b1, bias + 8, sizeof(Vec8));
  Vec8 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1;
  for (int64_t k = 0; k < K; k++) {
    const int64_t off = taps[k];
    Vec8 w0, w1;
    __builtin_memcpy(&w0, w + k * kLanes, sizeof(Vec8));
    __builtin_memcpy(&w1, w + k * kLanes + 8, sizeof(Vec8));
    float v; __builtin_memcpy(&v, x0 + off, 4); a00 += v * w0; a01 += v * w1;
    __builtin_memcpy(&v, x1 + off, 4); a10 += v * w0; a11 += v * w1;
    __builtin_memcpy(&v, x2 + off, 4); a20 += v * w0; a21 += v * w1;
    __builtin_memcpy(&v, x3 + off, 4); a30 += v * w0; a31 += v * w1;
    __builtin_memcpy(&v, x4 + off, 4); a40 += v * w0; a41 += v * w1;
    __builtin_memcpy(&v, x5 + off, 4); a50 += v * w0; a51 += v * w1;
  }
  Vec8 rows[16] = {a00, a10, a20, a30, a40, a50, {}, {}, a01, a11, a21, a31, a41, a51, {}, {}};
  vmath::transpose8(*reinterpret_cast<Vec8(*)[8]>(rows));
  vmath::transpose8(*reinterpret_cast<Vec8(*)[8]>(rows + 8));
  finishRows<kPixels>(rows, out);
}

// The same for a last block of at most 8 output channels (LeNet's 50 = 3·16 + 2, MobileNetV2's 24 = 16 + 8):
// 8 channels × 8 pixels, so the lanes past the layer's channels are not computed twice over.
NETDEF_CLONES
void directTileNarrow(int64_t K, const int64_t* __restrict taps, const float* __restrict w, const float* x, const int64_t* base, const float* bias, const TileOutput& out) {
  const char* bytes = reinterpret_cast<const char*>(x);
  const char *x0 = bytes + base[0] * 4, *x1 = bytes + base[1] * 4, *x2 = bytes + base[2] * 4, *x3 = bytes + base[3] * 4;
  const char *x4 = bytes + base[4] * 4, *x5 = bytes + base[5] * 4, *x6 = bytes + base[6] * 4, *x7 = bytes + base[7] * 4;
  Vec8 b;
  __builtin_memcpy(&b, bias, sizeof(Vec8));
  Vec8 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
  for (int64_t k = 0; k < K; k++) {
    const int64_t off = taps[k];
    Vec8 w0;
    __builtin_memcpy(&w0, w + k * kLanes, sizeof(Vec8));
    float v; __builtin_memcpy(&v, x0 + off, 4); a0 += v * w0;
    __builtin_memcpy(&v, x1 + off, 4); a1 += v * w0;
    __builtin_memcpy(&v, x2 + off, 4); a2 += v * w0;
    __builtin_memcpy(&v, x3 + off, 4); a3 += v * w0;
    __builtin_memcpy(&v, x4 + off, 4); a4 += v * w0;
    __builtin_memcpy(&v, x5 + off, 4); a5 += v * w0;
    __builtin_memcpy(&v, x6 + off, 4); a6 += v * w0;
    __builtin_memcpy(&v, x7 + off, 4); a7 += v * w0;
  }
  Vec8 rows[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
  vmath::transpose8(rows);
  finishRows<8>(rows, out);
}

#if defined(__x86_64__)
// directTile in 16-float vectors, for CPUs with AVX-512 (wideTiles(): two FMA units that each take a 16-float
// vector, so 8-float tiles reach half the peak): 16 channels × 8 pixels, one vector a pixel, 8 FMA chains. The same
// FMAs lane by lane as directTile's, so the same bits.
NETDEF_WIDE void directTileWide(int64_t K, const int64_t* __restrict taps, const float* __restrict w, const float* x, const int64_t* base, const float* bias,
                                const TileOutput& out) {
  const char* bytes = reinterpret_cast<const char*>(x);
  const char* xs[8];
  for (int j = 0; j < 8; j++) xs[j] = bytes + base[j] * 4;
  Vec16 b;
  __builtin_memcpy(&b, bias, sizeof(Vec16));
  Vec16 a[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) a[j] = b;
  for (int64_t k = 0; k < K; k++) {
    const int64_t off = taps[k];
    Vec16 wk;
    __builtin_memcpy(&wk, w + k * kLanes, sizeof(Vec16));
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
      float v;
      __builtin_memcpy(&v, xs[j] + off, 4);
      a[j] += v * wk;
    }
  }
  Vec8 rows[16];
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) {
    rows[j] = __builtin_shufflevector(a[j], a[j], 0, 1, 2, 3, 4, 5, 6, 7);
    rows[8 + j] = __builtin_shufflevector(a[j], a[j], 8, 9, 10, 11, 12, 13, 14, 15);
  }
  vmath::transpose8(*reinterpret_cast<Vec8(*)[8]>(rows));
  vmath::transpose8(*reinterpret_cast<Vec8(*)[8]>(rows + 8));
  finishRows<8>(rows, out);
}
#endif

// Whether the tiles finish in registers with this fused activation (none or a vectorised one) and its rounding;
// others run on stored values.
bool finishesInRegisters(const ActivationFn& activation) {
  return activation.type == ActivationFn::Type::kNone || vmath::vectorised(activation.type);
}

// The extent of the padded input that dimension j's windows reach.
int64_t reach(const Window& w, int j, int64_t out) { return (out - 1) * w.stride[j] + (w.kernel[j] - 1) * w.dilation[j] + 1; }

}  // namespace

DirectConvolution::DirectConvolution(const std::vector<float>& weights, int64_t outChannels, int64_t inPerGroup, int64_t groups, const Window& window, bool rows)
    : outChannels_(outChannels), inPerGroup_(inPerGroup), groups_(groups), w_(window), rows_(rows) {
  taps_ = w_.kernel[0] * w_.kernel[1] * w_.kernel[2];
  const int64_t outPerGroup = outChannels_ / groups_, K = inPerGroup_ * taps_;
  if (rows_) {
    for (int64_t g = 0; g < groups_; g++) groupPanels_.push_back(prepackA(outPerGroup, K, weights.data() + g * outPerGroup * K, K));
    return;
  }
  blocksPerGroup_ = (outPerGroup + kLanes - 1) / kLanes;
  packed_.assign(static_cast<size_t>(groups_ * blocksPerGroup_ * K * kLanes), 0.0f);
  for (int64_t g = 0; g < groups_; g++)
    for (int64_t o = 0; o < outPerGroup; o++) {
      float* block = packed_.data() + (g * blocksPerGroup_ + o / kLanes) * K * kLanes;
      const float* src = weights.data() + (g * outPerGroup + o) * K;  // [in channel][taps], in the kernel's order
      for (int64_t k = 0; k < K; k++) block[k * kLanes + o % kLanes] = src[k];
    }
}

void DirectConvolution::run(const ImageIO& image, const int64_t size[3], const int64_t out[3], const int64_t pad[3], const float* biases, const ActivationFn& act) const {
  const int64_t channels = inPerGroup_ * groups_, outPerGroup = outChannels_ / groups_, K = inPerGroup_ * taps_;
  const int64_t pixels = out[0] * out[1] * out[2];
  if (pixels == 0) return;
  // The input, zero-padded to exactly what the windows reach (and widened from 16-bit storage); read in place when
  // no window leaves it and it is float32.
  int64_t padded[3];
  bool inside = image.x != nullptr;
  for (int j = 0; j < 3; j++) {
    padded[j] = reach(w_, j, out[j]);
    inside = inside && pad[j] == 0 && padded[j] <= size[j];
  }
  // (direct_rows reads 16 floats a row wherever its last pixels lie: always a copy, with 16 floats of slack. At width
  // stride s its rows are split by column phase, s runs of `phase` values, so that each tap's 16 pixels lie side
  // by side: padded column s·i + k at k·phase + i.)
  inside = inside && !rows_;
  if (inside) std::copy(size, size + 3, padded);
  const int64_t sw = rows_ ? w_.stride[2] : 1, phase = (padded[2] + sw - 1) / sw, rowLength = sw * phase;
  const int64_t plane = padded[0] * padded[1] * rowLength;
  static thread_local Floats paddedInput;
  const float* source = image.x;
  if (!inside) {
    paddedInput.resize(static_cast<size_t>(channels * plane + 16));
    std::fill(paddedInput.end() - 16, paddedInput.end(), 0.0f);
    float* p = paddedInput.data();  // the caller's buffer: workers see it through `p`
    const int64_t inPlane = size[0] * size[1] * size[2];
    // Row by row: a stem has 3 channels, too few to share between two threads (with the split by phase vectorised,
    // mobilenet_v2's stem 9 % faster at batch 1 in per-layer medians, builds alternating by process).
    const int64_t rowsPerChannel = padded[0] * padded[1];
    parallelItems(channels * rowsPerChannel, rowLength, [&](int64_t item) {
      const int64_t c = item / rowsPerChannel, d = item % rowsPerChannel / padded[1], h = item % padded[1];
      static thread_local Floats line;  // a padded row before its split by phase
      line.resize(static_cast<size_t>(rowLength));
      float* const destination = p + c * plane + (d * padded[1] + h) * rowLength;
      float* row = sw > 1 ? line.data() : destination;
      const int64_t id = d - pad[0], ih = h - pad[1];
      const int64_t lo = std::min(padded[2], pad[2]), hi = id < 0 || id >= size[0] || ih < 0 || ih >= size[1] ? lo : std::max(lo, std::min(padded[2], pad[2] + size[2]));
      std::fill(row, row + lo, 0.0f);
      const int64_t from = c * inPlane + (id * size[1] + ih) * size[2] + (lo - pad[2]);
      if (hi > lo && image.x) std::memcpy(row + lo, image.x + from, static_cast<size_t>(hi - lo) * sizeof(float));
      if (hi > lo && image.x16) widenHalves(image.x16 + from, row + lo, hi - lo, image.x16Type);
      std::fill(row + hi, row + rowLength, 0.0f);
      if (sw > 1) splitByPhase(row, destination, sw, phase);
    }, channels * plane > (1 << 14));
    source = p;
  }
  // Where each (input channel, tap) step reads, in bytes from a window's first element.
  static thread_local std::vector<int64_t> tapList;
  tapList.resize(static_cast<size_t>(K));
  int64_t* taps = tapList.data();
  for (int64_t c = 0, k = 0; c < inPerGroup_; c++)
    for (int64_t kd = 0; kd < w_.kernel[0]; kd++)
      for (int64_t kh = 0; kh < w_.kernel[1]; kh++)
        for (int64_t kw = 0; kw < w_.kernel[2]; kw++, k++)
          taps[k] = static_cast<int64_t>(sizeof(float)) * (c * plane + (kd * w_.dilation[0] * padded[1] + kh * w_.dilation[1]) * rowLength +
                                                           (kw * w_.dilation[2]) % sw * phase + (kw * w_.dilation[2]) / sw);
  if (rows_) return runRows(image, source, padded, rowLength, taps, out, biases, act);
  const bool inRegister = finishesInRegisters(act);
  // Tasks: a block of 16 output channels over a run of tiles (about 8 output rows, so the rows' input stays in L2
  // while the task's weights are reused across it), runs outermost so concurrent tasks share their input.
  const int64_t tiles = (pixels + kPixels - 1) / kPixels;
  const int64_t tilesPerRun = std::max<int64_t>(1, std::min(tiles, (8 * out[2] + kPixels - 1) / kPixels));
  const int64_t runs = (tiles + tilesPerRun - 1) / tilesPerRun, blocks = groups_ * blocksPerGroup_;
  parallelFor(runs * blocks, [&](int64_t task) {
    const int64_t run = task / blocks, block = task % blocks, g = block / blocksPerGroup_;
    const int64_t o0 = (block % blocksPerGroup_) * kLanes, count = std::min(kLanes, outPerGroup - o0);
    const int64_t firstChannel = g * outPerGroup + o0;
    const float* w = packed_.data() + block * K * kLanes;
    const float* xg = source + g * inPerGroup_ * plane;
    alignas(32) float bias[kLanes] = {};
    if (biases) std::copy(biases + firstChannel, biases + firstChannel + count, bias);
    // A 16-bit output whose activation runs on stored values is finished in a float32 staging tile, then narrowed.
    const bool staged = image.y16 && !inRegister;
    alignas(32) float staging[kLanes * 8];
    TileOutput to{nullptr, nullptr, image.y16Type, staged ? 8 : pixels, nullptr, nullptr, image.residual16Type, pixels, count, 0, act.type, act.alpha, act.beta,
                  inRegister && act.type != ActivationFn::Type::kNone, inRegister ? act.round : ActivationFn::Round::kNone};
    // A block of at most 8 channels takes the narrow tile, 8 pixels wide; so do 16 channels in 16-float vectors.
    const bool narrow = count <= 8, wide = !narrow && wideTiles();
    const int64_t width = narrow || wide ? 8 : kPixels;
    int64_t base[8];
    // The next pixel's coordinates, advanced pixel by pixel (a division per pixel would cost as much as a short sum).
    const int64_t first = run * tilesPerRun * kPixels, end = std::min(pixels, first + tilesPerRun * kPixels);
    int64_t od = first / (out[1] * out[2]), oh = (first / out[2]) % out[1], ow = first % out[2];
    for (int64_t p0 = first; p0 < end; p0 += width) {
      to.valid = std::min(width, end - p0);
      for (int64_t j = 0; j < to.valid; j++) {
        base[j] = (od * w_.stride[0] * padded[1] + oh * w_.stride[1]) * padded[2] + ow * w_.stride[2];
        if (++ow == out[2]) { ow = 0; if (++oh == out[1]) { oh = 0; od++; } }
      }
      for (int64_t j = to.valid; j < width; j++) base[j] = base[to.valid - 1];  // a partial tile repeats its last pixel
      const int64_t at = firstChannel * pixels + p0;
      to.y = staged ? staging : image.y ? image.y + at : nullptr;
      to.y16 = image.y16 && !staged ? image.y16 + at : nullptr;
      to.residual = image.residual ? image.residual + at : nullptr;
      to.residual16 = image.residual16 ? image.residual16 + at : nullptr;
      if (narrow) directTileNarrow(K, taps, w, xg, base, bias, to);
#if defined(__x86_64__)
      else if (wide) directTileWide(K, taps, w, xg, base, bias, to);
#endif
      else directTile(K, taps, w, xg, base, bias, to);
      if (staged) {
        act.apply(staging, kLanes * 8);
        for (int64_t c = 0; c < count; c++) narrowToHalves(staging + c * 8, image.y16 + at + c * pixels, to.valid, image.y16Type);
      } else if (!inRegister) {
        for (int64_t c = 0; c < count; c++) act.apply(to.y + c * pixels, to.valid);
      }
    }
  }, runs * blocks > 1 && pixels * K * outChannels_ > (1 << 16));
}

void DirectConvolution::runRows(const ImageIO& image, const float* source, const int64_t padded[3], int64_t rowLength, const int64_t* taps, const int64_t out[3],
                                const float* biases, const ActivationFn& act) const {
  const int64_t outPerGroup = outChannels_ / groups_, K = inPerGroup_ * taps_, pixels = out[0] * out[1] * out[2];
  const int64_t plane = padded[0] * padded[1] * rowLength, rows = out[0] * out[1];
  // Tasks: one output row of one group (its segments of 16 pixels, all the group's channels).
  parallelItems(groups_ * rows, K * out[2] * outPerGroup, [&](int64_t task) {
    const int64_t g = task / rows, row = task % rows, od = row / out[1], oh = row % out[1];
    const int64_t channelsAt = g * outPerGroup * pixels;
    const GemmEpilogue ep = convolutionEpilogue(image, channelsAt, biases ? biases + g * outPerGroup : nullptr, act);
    const float* rowStart = source + g * inPerGroup_ * plane + (od * w_.stride[0] * padded[1] + oh * w_.stride[1]) * rowLength;
    for (int64_t ow = 0; ow < out[2]; ow += 16) {
      const int64_t p0 = row * out[2] + ow;
      sgemmTaps(outPerGroup, std::min<int64_t>(16, out[2] - ow), K, groupPanels_[g].data(), rowStart + ow, taps, image.y ? image.y + channelsAt + p0 : nullptr,
                pixels, p0, &ep);
    }
  }, groups_ * rows > 1);
}

}  // namespace netdef
