#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/shapes.h"
#include "kernels/softmax_row.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

// n ≤ 8 values at p, the other lanes `fill`.
inline Vec8 loadPart(const float* p, int64_t n, float fill) {
  Vec8 v = vmath::splat(fill);
  for (int64_t i = 0; i < n; i++) v[i] = p[i];
  return v;
}

// Softmax of 8 rows side by side (`lanes` ≤ 8 of them real), each `extent` values `stride` apart, lane j's row starting
// j values after the first: the 8 lanes of each load are the rows' values at one position. exp is vmath's (vectorised,
// float32), the sum float32 in each lane: a row of any length costs about two loads, an exponential and a store a value.
NETDEF_CLONES void softmaxAcross(const float* x, float* y, int64_t extent, int64_t stride, int64_t lanes, bool log) {
  const auto at = [&](const float* p, int64_t k) { return lanes == 8 ? vmath::load(p + k * stride) : loadPart(p + k * stride, lanes, 0.0f); };
  const auto put = [&](float* p, int64_t k, Vec8 v) { vmath::storeFirst(p + k * stride, v, lanes); };
  Vec8 mx = vmath::splat(kMinusInfinity), sum{};
  for (int64_t k = 0; k < extent; k++) { const Vec8 v = at(x, k); mx = v > mx ? v : mx; }
  for (int64_t k = 0; k < extent; k++) {
    const Vec8 e = vmath::expNormal(at(x, k) - mx);
    if (!log) put(y, k, e);
    sum += e;
  }
  if (log) {
    Vec8 lse;
    for (int j = 0; j < 8; j++) lse[j] = std::log(sum[j]);
    for (int64_t k = 0; k < extent; k++) put(y, k, at(x, k) - mx - lse);
    return;
  }
  const Vec8 inverse = 1.0f / sum;
  for (int64_t k = 0; k < extent; k++) put(y, k, at(y, k) * inverse);
}

// Softmax, and log-softmax (the builder's fusion of softMax → unary log, exact where log(softmax) underflows), over
// any axis: rows along the last axis one at a time, along another axis 8 of them side by side.
class SoftMax : public Kernel {
 public:
  explicit SoftMax(const OpDesc& op) : Kernel(op), axis_(op.params.integer(op.name, "axis")), log_(op.kind == "logSoftMax") {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    if (axis_ < 0 || axis_ >= static_cast<int64_t>(in.at(0).size())) fail("axis out of range for " + formatShape(in[0]));
    return {in[0]};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    int64_t outer, extent, inner;
    around(in[0]->shape, axis_, outer, extent, inner);
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    const bool parallel = outer * inner * extent > 16384;
    if (inner == 1) {
      parallelItems(outer, 4 * extent, [&](int64_t o) { softmaxRow(x + o * extent, y + o * extent, extent, log_); }, parallel);
      return;
    }
    const int64_t groups = (inner + 7) / 8;
    parallelItems(outer * groups, 32 * extent, [&](int64_t t) {
      const int64_t o = t / groups, i = t % groups * 8, at = o * extent * inner + i;
      softmaxAcross(x + at, y + at, extent, inner, std::min<int64_t>(8, inner - i), log_);
    }, parallel);
  }

 private:
  int64_t axis_;
  bool log_;
};

}  // namespace

// Softmax of one contiguous row, 8 values a step: the max and the sum in 8 lanes, then across them.
NETDEF_CLONES void softmaxRow(const float* x, float* y, int64_t extent, bool log) {
  const int64_t whole = extent / 8 * 8, rest = extent - whole;
  Vec8 lanes = vmath::splat(kMinusInfinity);
  for (int64_t k = 0; k < whole; k += 8) { const Vec8 v = vmath::load(x + k); lanes = v > lanes ? v : lanes; }
  if (rest) { const Vec8 v = loadPart(x + whole, rest, kMinusInfinity); lanes = v > lanes ? v : lanes; }
  float mx = kMinusInfinity;
  for (int j = 0; j < 8; j++) mx = std::max(mx, lanes[j]);
  Vec8 sums{};
  for (int64_t k = 0; k < whole; k += 8) {
    const Vec8 e = vmath::expNormal(vmath::load(x + k) - mx);
    if (!log) vmath::store(y + k, e);
    sums += e;
  }
  if (rest) {  // the padding lanes are −∞: e^−∞ = 0
    const Vec8 e = vmath::expNormal(loadPart(x + whole, rest, kMinusInfinity) - mx);
    if (!log) vmath::storeFirst(y + whole, e, rest);
    sums += e;
  }
  float sum = 0;
  for (int j = 0; j < 8; j++) sum += sums[j];
  if (log) {
    const float lse = std::log(sum);
    for (int64_t k = 0; k < whole; k += 8) vmath::store(y + k, (vmath::load(x + k) - mx) - lse);
    for (int64_t k = whole; k < extent; k++) y[k] = (x[k] - mx) - lse;
    return;
  }
  const float inverse = 1.0f / sum;
  for (int64_t k = 0; k < whole; k += 8) vmath::store(y + k, vmath::load(y + k) * inverse);
  for (int64_t k = whole; k < extent; k++) y[k] *= inverse;
}

std::unique_ptr<Kernel> makeSoftMax(const OpDesc& op) { return std::make_unique<SoftMax>(op); }

}  // namespace netdef
