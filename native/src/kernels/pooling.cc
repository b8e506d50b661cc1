#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include <limits>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"
#include "kernels/window.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// (v > m or v is NaN) ? v : m, lane by lane — max that propagates NaN, as PyTorch's max pooling does.
template <class V>
__attribute__((always_inline)) inline V pickLanes(V m, V v) { return (v > m) | (v != v) ? v : m; }

// pick on one value, in a vector register: as a branch it was mispredicted on half of the values of a random map
// (a vector loop's remainder, a plane 27 wide: most of the values). It keeps GCC from vectorising a loop of picks:
// vector loops call pickLanes.
typedef float Vec4 __attribute__((vector_size(16)));
__attribute__((always_inline)) inline float pick(float m, float v) { return pickLanes(Vec4{m}, Vec4{v})[0]; }

// Output rows [0, OH) of one plane's 2-d max pooling, y[oh·OW + ow], in one call (a call per row's step made a
// [256, 27, 27] plane stack take 1.4 ms at batch 8): each output row's window rows combined column by column, 8
// columns a step, into `padded` (every column a window reaches, −∞ outside the input, 16 floats of slack), then its
// windows: at stride 2 eight outputs at a time, each tap's inputs the even lanes of 16 loaded floats.
NETDEF_CLONES
void maxPlane(const float* x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t padTop, int64_t padLeft,
              float* padded, float* y) {
  const int64_t paddedWidth = (OW - 1) * sw + kw, reached = std::max<int64_t>(0, std::min(W, paddedWidth - padLeft));
  float* const columns = padded + padLeft;
  for (int64_t oh = 0; oh < OH; oh++) {
    const int64_t top = oh * sh - padTop, h0 = std::max<int64_t>(top, 0), h1 = std::min(top + kh, H);
    if (h0 >= h1) {
      std::fill(columns, columns + reached, -__builtin_inff());
    } else if (h1 - h0 == 3) {
      const float *r0 = x + h0 * W, *r1 = r0 + W, *r2 = r1 + W;
      int64_t w = 0;
      for (; w + 8 <= reached; w += 8) vmath::store(columns + w, pickLanes(pickLanes(vmath::load(r0 + w), vmath::load(r1 + w)), vmath::load(r2 + w)));
      for (; w < reached; w++) columns[w] = pick(pick(r0[w], r1[w]), r2[w]);
    } else {
      std::copy(x + h0 * W, x + h0 * W + reached, columns);
      for (int64_t h = h0 + 1; h < h1; h++) {
        const float* r = x + h * W;
        int64_t w = 0;
        for (; w + 8 <= reached; w += 8) vmath::store(columns + w, pickLanes(vmath::load(columns + w), vmath::load(r + w)));
        for (; w < reached; w++) columns[w] = pick(columns[w], r[w]);
      }
    }
    float* const yr = y + oh * OW;
    int64_t ow = 0;
    if (sw == 2) {
      for (; ow + 8 <= OW; ow += 8) {
        Vec8 best = -Vec8{} - __builtin_inff();
        for (int64_t j = 0; j < kw; j++) {
          Vec8 lo, hi;
          __builtin_memcpy(&lo, padded + 2 * ow + j, sizeof(Vec8));
          __builtin_memcpy(&hi, padded + 2 * ow + j + 8, sizeof(Vec8));
          best = pickLanes(best, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
        }
        __builtin_memcpy(yr + ow, &best, sizeof(Vec8));
      }
    } else if (sw == 1 && kw == 3) {
      for (; ow + 8 <= OW; ow += 8)
        vmath::store(yr + ow, pickLanes(pickLanes(vmath::load(padded + ow), vmath::load(padded + ow + 1)), vmath::load(padded + ow + 2)));
    }
    for (; ow < OW; ow++) {
      const float* window = padded + ow * sw;
      float best = window[0];
      for (int64_t j = 1; j < kw; j++) best = pick(best, window[j]);
      yr[ow] = best;
    }
  }
}

// The commonest window, 2×2 stride 2 inside the input, eight or four outputs at a time (LeNet's two poolings on one
// thread: 3.1 and 2.6 µs scalar, 1.4 and 0.9 so). Eight outputs: the maxima of two rows' 16 values, then of their
// even lanes against their odd ones.
__attribute__((always_inline)) inline Vec8 maxOf2x2(const float* r0, const float* r1) {
  Vec8 a0, a1, b0, b1;
  __builtin_memcpy(&a0, r0, sizeof(Vec8));
  __builtin_memcpy(&a1, r0 + 8, sizeof(Vec8));
  __builtin_memcpy(&b0, r1, sizeof(Vec8));
  __builtin_memcpy(&b1, r1 + 8, sizeof(Vec8));
  const Vec8 lo = pickLanes(a0, b0), hi = pickLanes(a1, b1);
  return pickLanes(__builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14), __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15));
}

// The same for four outputs (LeNet's rows of 12 and 4).
__attribute__((always_inline)) inline Vec4 maxOf2x2Four(const float* r0, const float* r1) {
  Vec4 a0, a1, b0, b1;
  __builtin_memcpy(&a0, r0, sizeof(Vec4));
  __builtin_memcpy(&a1, r0 + 4, sizeof(Vec4));
  __builtin_memcpy(&b0, r1, sizeof(Vec4));
  __builtin_memcpy(&b1, r1 + 4, sizeof(Vec4));
  const Vec4 lo = pickLanes(a0, b0), hi = pickLanes(a1, b1);
  return pickLanes(__builtin_shufflevector(lo, hi, 0, 2, 4, 6), __builtin_shufflevector(lo, hi, 1, 3, 5, 7));
}

NETDEF_CLONES
void maxPool2x2(const float* x, int64_t W, float* y, int64_t OH, int64_t OW) {
  for (int64_t oh = 0; oh < OH; oh++) {
    const float* r0 = x + 2 * oh * W;
    const float* r1 = r0 + W;
    float* yr = y + oh * OW;
    int64_t ow = 0;
    for (; ow + 8 <= OW; ow += 8) {
      const Vec8 m = maxOf2x2(r0 + 2 * ow, r1 + 2 * ow);
      __builtin_memcpy(yr + ow, &m, sizeof(Vec8));
    }
    if (ow + 4 <= OW) {
      const Vec4 m = maxOf2x2Four(r0 + 2 * ow, r1 + 2 * ow);
      __builtin_memcpy(yr + ow, &m, sizeof(Vec4));
      ow += 4;
    }
    for (; ow < OW; ow++) yr[ow] = pick(pick(pick(r0[2 * ow], r0[2 * ow + 1]), r1[2 * ow]), r1[2 * ow + 1]);
  }
}

// Output rows [oh0, oh1) of one block (8 channels) of a 2-d max pooling over a blocked input: the block's [H][W][8]
// at x (float32, or 16-bit storage of `xType`); into y / y16 as [OH][OW][8] (blocked) or, planar, 8 planes `yPlane`
// floats apart. Separable, as the planar kernel: each output row's window rows first, a row at a time, into a row of
// vectors with −∞ in the padding, then each output pixel the maximum of its window's columns there. Window by window
// (9 taps a pixel, each pick waiting on the last, and the bounds of each) a 3×3/2 pooling took 1.4 ms at batch 8
// where this takes 0.9. KH × KW fixed (0: the window's own) unroll the picks.
struct BlockWindow { int64_t H, W, OW, kh, kw, sh, sw, padTop, padLeft; };

template <class T> __attribute__((always_inline)) inline Vec8 blockAt(const T* p, Storage type) {
  if constexpr (std::is_same_v<T, float>) return vmath::load(p);
  else return vmath::widen8(p, type);
}

template <int KH, int KW, class T>
__attribute__((always_inline)) inline void maxBlockRowsOf(const T* x, Storage xType, const BlockWindow& g, int64_t oh0, int64_t oh1, float* y, uint16_t* y16,
                                                         Storage yType, int64_t yPlane) {
  const Vec8 lowest = -Vec8{} - __builtin_inff();
  const int64_t paddedWidth = (g.OW - 1) * g.sw + g.kw;  // every column a window reaches, from −padLeft
  const int64_t reached = std::max<int64_t>(0, std::min(g.W, paddedWidth - g.padLeft));  // input columns a window reaches
  // Floats, not Vec8s: a vector's allocation need not be aligned to 32 bytes.
  static thread_local std::vector<float> padded;
  padded.resize(static_cast<size_t>(8 * paddedWidth));
  for (int64_t w = 0; w < paddedWidth; w++) vmath::store(padded.data() + 8 * w, lowest);
  float* const columns = padded.data() + 8 * g.padLeft;
  const auto row = [&](int64_t h) { return x + h * g.W * 8; };
  for (int64_t oh = oh0; oh < oh1; oh++) {
    const int64_t top = oh * g.sh - g.padTop, h0 = std::max<int64_t>(0, top), h1 = std::min(g.H, top + g.kh);
    if (KH == 3 && h0 == top && h1 == top + 3) {
      const T *r0 = row(h0), *r1 = row(h0 + 1), *r2 = row(h0 + 2);
      for (int64_t w = 0; w < reached; w++)
        vmath::store(columns + 8 * w, pickLanes(pickLanes(blockAt(r0 + 8 * w, xType), blockAt(r1 + 8 * w, xType)), blockAt(r2 + 8 * w, xType)));
    } else if (KH == 2 && h0 == top && h1 == top + 2) {
      const T *r0 = row(h0), *r1 = row(h0 + 1);
      for (int64_t w = 0; w < reached; w++) vmath::store(columns + 8 * w, pickLanes(blockAt(r0 + 8 * w, xType), blockAt(r1 + 8 * w, xType)));
    } else {
      for (int64_t w = 0; w < reached; w++) vmath::store(columns + 8 * w, h0 < h1 ? blockAt(row(h0) + 8 * w, xType) : lowest);
      for (int64_t h = h0 + 1; h < h1; h++)
        for (int64_t w = 0; w < reached; w++) vmath::store(columns + 8 * w, pickLanes(vmath::load(columns + 8 * w), blockAt(row(h) + 8 * w, xType)));
    }
    // The rows the next output row adds, on their way while this one's columns are taken.
    for (int64_t h = h1; h < std::min(g.H, h1 + g.sh); h++)
      for (int64_t b = 0; b < reached * 8 * static_cast<int64_t>(sizeof(T)); b += 64) __builtin_prefetch(reinterpret_cast<const char*>(row(h)) + b);
    for (int64_t ow = 0; ow < g.OW; ow++) {
      const float* window = padded.data() + 8 * ow * g.sw;
      Vec8 best = vmath::load(window);
      const int64_t taps = KW ? KW : g.kw;
#pragma GCC unroll 4
      for (int64_t j = 1; j < taps; j++) best = pickLanes(best, vmath::load(window + 8 * j));
      const int64_t to = oh * g.OW + ow;
      if (yPlane) {
        for (int j = 0; j < 8; j++) {
          if (y) y[j * yPlane + to] = best[j];
          else y16[j * yPlane + to] = toHalfBits(best[j], yType);
        }
      } else if (y) {
        vmath::store(y + to * 8, best);
      } else {
        vmath::narrow8(best, yType, y16 + to * 8);
      }
    }
  }
}

template <class T>
__attribute__((always_inline)) inline void maxBlockRowsFor(const T* x, Storage xType, const BlockWindow& g, int64_t oh0, int64_t oh1, float* y, uint16_t* y16,
                                                          Storage yType, int64_t yPlane) {
  if (g.kh == 3 && g.kw == 3) return maxBlockRowsOf<3, 3>(x, xType, g, oh0, oh1, y, y16, yType, yPlane);
  if (g.kh == 2 && g.kw == 2) return maxBlockRowsOf<2, 2>(x, xType, g, oh0, oh1, y, y16, yType, yPlane);
  maxBlockRowsOf<0, 0>(x, xType, g, oh0, oh1, y, y16, yType, yPlane);
}

NETDEF_CLONES
void maxBlockRows(const float* x, const uint16_t* x16, Storage xType, const BlockWindow& g, int64_t oh0, int64_t oh1, float* y, uint16_t* y16, Storage yType,
                  int64_t yPlane) {
  if (x) return maxBlockRowsFor(x, xType, g, oh0, oh1, y, y16, yType, yPlane);
  maxBlockRowsFor(x16, xType, g, oh0, oh1, y, y16, yType, yPlane);
}

// sums[w] += row[w] for w < n: a window's input rows summed column by column, as vectors.
NETDEF_CLONES void addRow(const float* row, int64_t n, float* sums) {
  for (int64_t w = 0; w < n; w++) sums[w] += row[w];
}

// Each window sum over its divisor, rows · columns[i] (0 where the window counts no value: the average is then 0), as
// vectors (a division per output took half of a 2×2 average's time).
NETDEF_CLONES void divideRow(float* sums, const float* columns, float rows, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float divisor = rows * columns[i];
    sums[i] = divisor > 0 ? sums[i] / divisor : 0.0f;
  }
}

// The sum of n consecutive floats, in vector partial sums (a global average's whole plane).
NETDEF_CLONES float sumOf(const float* x, int64_t n) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; i++) sum += x[i];
  return sum;
}

// Max / average / blended pooling. Average divisors follow PyTorch: with countIncludePad the window is clipped to
// the padded extent (so ceil-mode overhang past the padding is not counted), otherwise to the input.
class Pooling : public Kernel {
 public:
  explicit Pooling(const OpDesc& op)
      : Kernel(op), w_(Window::read(op)), type_(op.params.string(op.name, "type")),
        countIncludePad_(op.params.number(op.name, "countIncludePad") != 0), blend_(static_cast<float>(op.params.number(op.name, "blendFactor"))) {
    if (type_ != "max" && type_ != "average" && type_ != "max_average_blend") bad("pooling type '" + type_ + "'");
    isMax_ = type_ == "max";
    isAverage_ = type_ == "average";
  }

  // 1-d and 2-d max pooling (the separable path) reads and writes 16-bit storage; max pooling only selects.
  bool takes16BitStorage() const override { return isMax_ && w_.spatial <= 2; }
  bool keeps16BitValues() const override { return isMax_; }
  // 2-d max pooling reads a blocked input, and writes a blocked output from one.
  bool readsBlocked(size_t input) const override { return input == 0 && blockedMax(); }
  bool writesBlocked() const override { return blockedMax(); }
  bool writesBlockedFrom(bool inputBlocked) const override { return inputBlocked && blockedMax(); }

  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (static_cast<int>(s.size()) != w_.spatial + 2) fail("input " + formatShape(s) + " is not of rank " + std::to_string(w_.spatial + 2));
    Shape out = {s[0], s[1]};
    for (int i = 0; i < w_.spatial; i++) {
      int64_t a, b, o;
      w_.resolve(3 - w_.spatial + i, s[2 + i], a, b, o);
      if (o < 1) fail("input " + formatShape(s) + " is smaller than the window");
      out.push_back(o);
    }
    return {out};
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override {
    const Shape& s = in[0]->shape;
    int64_t size[3] = {1, 1, 1}, out[3] = {1, 1, 1}, pad[3], padAfter[3];
    for (int i = 0; i < w_.spatial; i++) {
      size[3 - w_.spatial + i] = s[2 + i];
      out[3 - w_.spatial + i] = outs[0]->shape[2 + i];
    }
    for (int j = 0; j < 3; j++) { int64_t o; w_.resolve(j, size[j], pad[j], padAfter[j], o); }
    const int64_t planes = s[0] * s[1], inPixels = size[0] * size[1] * size[2], outPixels = out[0] * out[1] * out[2];
    const float* x = in[0]->data.data();
    float* y = outs[0]->data.data();
    if (in[0]->layout == Layout::kBlocked8) return maxOfBlocks(*in[0], *outs[0], pad);
    if (isMax_ && size[0] == 1 && w_.kernel[0] == 1) {
      separableMax(*in[0], *outs[0], planes, size, out, pad);
      return;
    }
    if (isAverage_ && size[0] == 1 && w_.kernel[0] == 1) return separableAverage(x, y, planes, size, out, pad, padAfter);
    parallelItems(planes, outPixels * w_.kernel[0] * w_.kernel[1] * w_.kernel[2], [&](int64_t p) {
      const float* xp = x + p * inPixels;
      float* yp = y + p * outPixels;
      for (int64_t od = 0; od < out[0]; od++)
        for (int64_t oh = 0; oh < out[1]; oh++)
          for (int64_t ow = 0; ow < out[2]; ow++) {
            int64_t start[3] = {od * w_.stride[0] - pad[0], oh * w_.stride[1] - pad[1], ow * w_.stride[2] - pad[2]};
            int64_t lo[3], hi[3];
            int64_t padded = 1;
            for (int j = 0; j < 3; j++) {
              const int64_t end = std::min(start[j] + w_.kernel[j], size[j] + padAfter[j]);
              padded *= end - start[j];
              lo[j] = std::max<int64_t>(start[j], 0);
              hi[j] = std::min(end, size[j]);
            }
            float mx = -std::numeric_limits<float>::infinity();
            float sum = 0;
            int64_t valid = 0;
            for (int64_t d = lo[0]; d < hi[0]; d++)
              for (int64_t h = lo[1]; h < hi[1]; h++)
                for (int64_t w = lo[2]; w < hi[2]; w++) {
                  const float v = xp[(d * size[1] + h) * size[2] + w];
                  mx = (v > mx || std::isnan(v)) ? v : mx;
                  sum += v;
                  valid++;
                }
            const float avg = valid ? sum / static_cast<float>(countIncludePad_ ? padded : valid) : 0.0f;
            const float r = isMax_ ? mx : isAverage_ ? avg : (1 - blend_) * mx + blend_ * avg;  // TensorRT's blend
            yp[(od * out[1] + oh) * out[2] + ow] = r;
          }
    }, planes * outPixels > 4096);
  }

 private:
  // 2-d max pooling of windows up to 5×5 taps: the blocked kernel takes each tap's 8 channels from memory, which
  // lost to the planar loops on YOLO's SPP windows (9×9: 0.10 → 0.17 ms, 13×13: 0.09 → 0.43 ms).
  bool blockedMax() const { return isMax_ && w_.spatial == 2 && w_.kernel[1] * w_.kernel[2] <= 25; }

  // 2-d max pooling of a blocked input, block by block, into a blocked or planar output.
  void maxOfBlocks(const Buffer& input, Buffer& output, const int64_t pad[3]) const {
    const Shape &s = input.shape, &o = output.shape;
    const BlockWindow g{s[2], s[3], o[3], w_.kernel[1], w_.kernel[2], w_.stride[1], w_.stride[2], pad[1], pad[2]};
    const int64_t blocks = s[0] * s[1] / 8, inBlock = s[2] * s[3] * 8, outBlock = o[2] * o[3] * 8;
    const bool halfIn = input.storage != Storage::kFloat32, halfOut = output.storage != Storage::kFloat32;
    const int64_t yPlane = output.layout == Layout::kBlocked8 ? 0 : o[2] * o[3];
    parallelItems(blocks, outBlock * g.kh * g.kw, [&](int64_t b) {
      maxBlockRows(halfIn ? nullptr : input.data.data() + b * inBlock, halfIn ? input.halves() + b * inBlock : nullptr, input.storage, g, 0, o[2],
                   halfOut ? nullptr : output.data.data() + b * outBlock, halfOut ? output.halves() + b * outBlock : nullptr, output.storage, yPlane);
    }, blocks * outBlock > 4096);
  }

  // 1-d and 2-d average pooling, each output row's window rows summed column by column (vectors), then each output
  // the sum of its window's columns over its divisor, which factors into the rows and columns it counts: value by
  // value, with a maximum kept beside the sum, a 3×3 average took 7× onnxruntime's time and a global 7×7 one 7×.
  void separableAverage(const float* x, float* y, int64_t planes, const int64_t size[3], const int64_t out[3], const int64_t pad[3], const int64_t padAfter[3]) const {
    const int64_t H = size[1], W = size[2], OH = out[1], OW = out[2];
    const int64_t kh = w_.kernel[1], kw = w_.kernel[2], sh = w_.stride[1], sw = w_.stride[2];
    // The span [lo, hi) of input indices a window starting at `start` covers, and how many it counts as the divisor.
    const auto span = [&](int64_t start, int64_t k, int64_t extent, int64_t after, int64_t& lo, int64_t& hi) {
      const int64_t end = std::min(start + k, extent + after);
      lo = std::max<int64_t>(start, 0);
      hi = std::min(end, extent);
      return countIncludePad_ ? end - start : std::max<int64_t>(0, hi - lo);
    };
    if (OH == 1 && OW == 1 && kh >= H && kw >= W && pad[1] == 0 && pad[2] == 0) {  // global: one sum a plane
      int64_t lo, hi;
      const int64_t divisor = span(0, kh, H, padAfter[1], lo, hi) * span(0, kw, W, padAfter[2], lo, hi);
      parallelItems(planes, H * W, [&](int64_t p) { y[p] = sumOf(x + p * H * W, H * W) / static_cast<float>(divisor); }, planes * H * W > 16384);
      return;
    }
    // Each output column's window [left, right) and the columns it counts (0 where it counts none).
    std::vector<int64_t> left(static_cast<size_t>(OW)), right(static_cast<size_t>(OW));
    std::vector<float> columns(static_cast<size_t>(OW));
    for (int64_t ow = 0; ow < OW; ow++) {
      const int64_t counted = span(ow * sw - pad[2], kw, W, padAfter[2], left[ow], right[ow]);
      columns[ow] = right[ow] > left[ow] ? static_cast<float>(counted) : 0.0f;
    }
    parallelItems(planes, H * W + OH * OW * kw, [&](int64_t p) {
      static thread_local std::vector<float> sums;
      sums.resize(static_cast<size_t>(W));
      const float* xp = x + p * H * W;
      for (int64_t oh = 0; oh < OH; oh++) {
        int64_t top, bottom;
        const int64_t rows = span(oh * sh - pad[1], kh, H, padAfter[1], top, bottom);
        std::fill(sums.begin(), sums.end(), 0.0f);
        for (int64_t h = top; h < bottom; h++) addRow(xp + h * W, W, sums.data());
        float* yr = y + (p * OH + oh) * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
          float sum = 0;
          for (int64_t w = left[ow]; w < right[ow]; w++) sum += sums[w];
          yr[ow] = sum;
        }
        divideRow(yr, columns.data(), bottom > top ? static_cast<float>(rows) : 0.0f, OW);
      }
    }, planes * OH * OW > 4096);
  }

  // 2-d max pooling as a column pass then a row pass: K + K comparisons per output instead of K·K (SPP's 13×13). Per
  // output row, the window's input rows are combined column by column into a row padded with −∞ (widened from
  // 16-bit storage), then each output is the maximum of its window along that row: at stride 2 (ResNet's 3×3/2) the
  // row pass runs on half the rows a row-first order would. Output rows go to 16-bit storage through a float row
  // (the maxima of 16-bit values are values of that type: narrowing them is exact).
  void separableMax(const Buffer& input, Buffer& output, int64_t planes, const int64_t size[3], const int64_t out[3], const int64_t pad[3]) const {
    const int64_t H = size[1], W = size[2], OH = out[1], OW = out[2];
    const int64_t kh = w_.kernel[1], kw = w_.kernel[2], sh = w_.stride[1], sw = w_.stride[2];
    const int64_t paddedWidth = (OW - 1) * sw + kw;  // every column a window reaches, from −pad
    const bool halfIn = input.storage != Storage::kFloat32, halfOut = output.storage != Storage::kFloat32;
    const float* x = input.data.data();
    float* y = output.data.data();
    const uint16_t* x16 = input.halves();
    uint16_t* y16 = output.halves();
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pad[1] == 0 && pad[2] == 0 && 2 * OH <= H && 2 * OW <= W) {
      // 16-bit planes through float ones: LeNet's bfloat16 pooling took 3× its float32 time on the general path.
      parallelItems(planes, 4 * OH * OW, [&](int64_t p) {
        static thread_local std::vector<float> plane, outPlane;
        const float* xp = x + p * H * W;
        if (halfIn) { plane.resize(static_cast<size_t>(H * W)); widenHalves(x16 + p * H * W, plane.data(), H * W, input.storage); xp = plane.data(); }
        if (halfOut) outPlane.resize(static_cast<size_t>(OH * OW));
        float* yp = halfOut ? outPlane.data() : y + p * OH * OW;
        maxPool2x2(xp, W, yp, OH, OW);
        if (halfOut) narrowToHalves(yp, y16 + p * OH * OW, OH * OW, output.storage);
      }, planes * OH * OW > 4096);
      return;
    }
    constexpr float kLowest = -std::numeric_limits<float>::infinity();
    parallelItems(planes, OH * (kh * W + kw * OW), [&](int64_t p) {
      static thread_local std::vector<float> padded, plane, outPlane;
      padded.assign(paddedWidth + 16, kLowest);  // slack for the windows' vector loads; −∞ outside the input stays
      const float* xp = x + p * H * W;
      if (halfIn) {  // widened once, the rows then read as float32 ones are
        plane.resize(static_cast<size_t>(H * W));
        widenHalves(x16 + p * H * W, plane.data(), H * W, input.storage);
        xp = plane.data();
      }
      if (halfOut) outPlane.resize(static_cast<size_t>(OH * OW));
      float* yp = halfOut ? outPlane.data() : y + p * OH * OW;
      maxPlane(xp, H, W, OH, OW, kh, kw, sh, sw, pad[1], pad[2], padded.data(), yp);
      if (halfOut) narrowToHalves(yp, y16 + p * OH * OW, OH * OW, output.storage);
    }, planes * H * OW > 4096);
  }

  Window w_;
  std::string type_;
  bool isMax_ = false, isAverage_ = false;  // decided once: the inner loop runs per output element
  bool countIncludePad_;
  float blend_;
};

}  // namespace

std::unique_ptr<Kernel> makePooling(const OpDesc& op) { return std::make_unique<Pooling>(op); }

}  // namespace netdef
