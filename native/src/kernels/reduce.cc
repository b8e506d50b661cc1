#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "thread_pool.h"

namespace netdef {

namespace {

enum class ReduceOp { kSum, kAvg, kProd, kMax, kMin };

// The sum of a contiguous run in double, as vectors of double partial sums (four scalar sums in flight took 0.18 ms
// for the means of 2,048 planes of 14×14, 5× onnxruntime's time).
NETDEF_CLONES double sumOf(const float* x, int64_t count) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t e = 0; e < count; e++) sum += x[e];
  return sum;
}

// acc[i] combined with row[i] for i < n, as Reduce::combine does one value: rows of a reduced axis that is not the
// last combined as vectors.
NETDEF_CLONES void combineRow(ReduceOp op, const float* row, int64_t n, double* acc) {
  switch (op) {
    case ReduceOp::kSum: case ReduceOp::kAvg: for (int64_t i = 0; i < n; i++) acc[i] += row[i]; return;
    case ReduceOp::kProd: for (int64_t i = 0; i < n; i++) acc[i] *= row[i]; return;
    case ReduceOp::kMax: for (int64_t i = 0; i < n; i++) { const double v = row[i]; acc[i] = (v > acc[i] || v != v) ? v : acc[i]; } return;
    case ReduceOp::kMin: for (int64_t i = 0; i < n; i++) { const double v = row[i]; acc[i] = (v < acc[i] || v != v) ? v : acc[i]; } return;
  }
}

class Reduce : public Kernel {
 public:
  explicit Reduce(const OpDesc& op)
      : Kernel(op), axes_(op.params.integers(op.name, "axes")), keepDims_(op.params.number(op.name, "keepDims") != 0) {
    const std::string name = op.params.string(op.name, "op");
    if (name == "sum") op_ = ReduceOp::kSum;
    else if (name == "avg") op_ = ReduceOp::kAvg;
    else if (name == "prod") op_ = ReduceOp::kProd;
    else if (name == "max") op_ = ReduceOp::kMax;
    else if (name == "min") op_ = ReduceOp::kMin;
    else bad("reduce op '" + name + "'");
    std::sort(axes_.begin(), axes_.end());
    if (std::adjacent_find(axes_.begin(), axes_.end()) != axes_.end() || axes_.empty()) bad("axes must be distinct and not empty");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    for (auto a : axes_) if (a < 0 || a >= static_cast<int64_t>(s.size())) fail("axis " + std::to_string(a) + " out of range for " + formatShape(s));
    Shape out;
    for (size_t d = 0; d < s.size(); d++) {
      if (!reduced(d)) out.push_back(s[d]);
      else if (keepDims_) out.push_back(1);
    }
    return {out};
  }
  // Reads 16-bit storage (widening the input once); its outputs are float32.
  bool takes16BitStorage() const override { return true; }
  // Global pooling over the two spatial axes reads a channel-blocked input (the engine blocks only 4-d tensors).
  bool readsBlocked(size_t) const override { return axes_ == std::vector<int64_t>{2, 3}; }

  bool computesIntegers() const override { return true; }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) return reduceIntegers(*in[0], *out[0]);
    const Shape& s = in[0]->shape;
    static thread_local Floats widened;
    const float* x = floatValues(*in[0], widened);
    if (in[0]->layout == Layout::kBlocked8) {  // [N, C/8, H·W, 8]: each output a walk 8 values apart
      const int64_t blocks = s[0] * s[1] / 8, pixels = s[2] * s[3];
      float* y = out[0]->data.data();
      parallelItems(blocks, 8 * pixels, [&](int64_t b) {
        const float* xb = x + b * 8 * pixels;
        if (op_ == Op::kSum || op_ == Op::kAvg) {  // the 8 lanes' double sums side by side
          double sums[8] = {};
          for (int64_t p = 0; p < pixels; p++)
            for (int lane = 0; lane < 8; lane++) sums[lane] += xb[p * 8 + lane];
          for (int lane = 0; lane < 8; lane++) y[b * 8 + lane] = finish(sums[lane], pixels);
          return;
        }
        for (int64_t lane = 0; lane < 8; lane++) y[b * 8 + lane] = finish(walk(xb + lane, pixels, 8), pixels);
      }, volume(s) > (1 << 15));
      return;
    }
    float* y = out[0]->data.data();
    const int64_t outCount = static_cast<int64_t>(out[0]->data.size());
    const int64_t count = outCount ? volume(s) / outCount : 0;
    // Reduced axes in one run (global pooling's [2, 3], a single axis): outer × extent × inner, each output a
    // strided walk. Otherwise each input element finds its output by index arithmetic.
    if (axes_.back() - axes_.front() + 1 == static_cast<int64_t>(axes_.size())) {
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < axes_.front(); d++) outer *= s[d];
      for (size_t d = axes_.back() + 1; d < s.size(); d++) inner *= s[d];
      if (inner == 1) {
        parallelItems(outer, count, [&](int64_t o) {
          const float* xo = x + o * count;
          y[o] = finish(op_ == Op::kSum || op_ == Op::kAvg ? sumOf(xo, count) : walk(xo, count, 1), count);
        }, volume(s) > (1 << 15));
        return;
      }
      // Rows of `inner` values combined into as many accumulators, in chunks the threads share (a walk per output,
      // `inner` values apart, took a sum over 256 channels of 56×56 2.6× onnxruntime's time on one thread).
      constexpr int64_t kChunk = 512;
      const int64_t chunks = (inner + kChunk - 1) / kChunk;
      parallelItems(outer * chunks, count * std::min(inner, kChunk), [&](int64_t item) {
        const int64_t o = item / chunks, i0 = item % chunks * kChunk, n = std::min(kChunk, inner - i0);
        double acc[kChunk];
        std::fill(acc, acc + n, initial());
        for (int64_t e = 0; e < count; e++) combineRow(op_, x + (o * count + e) * inner + i0, n, acc);
        for (int64_t i = 0; i < n; i++) y[o * inner + i0 + i] = finish(acc[i], count);
      }, volume(s) > (1 << 15));
      return;
    }
    const size_t rank = s.size();
    Shape kept(rank);
    for (size_t d = 0; d < rank; d++) kept[d] = reduced(d) ? 1 : s[d];
    const auto keptStrides = stridesOf(kept);
    std::vector<double> acc(outCount, initial());
    std::vector<int64_t> idx(rank, 0);
    for (int64_t k = 0, total = volume(s); k < total; k++) {
      const float v = x[k];
      int64_t o = 0;
      for (size_t d = 0; d < rank; d++) if (kept[d] != 1) o += idx[d] * keptStrides[d];
      acc[o] = combine(acc[o], v);
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < s[d]) break; idx[d] = 0; }
    }
    for (int64_t o = 0; o < outCount; o++) y[o] = finish(acc[o], count);
  }

 private:
  using Op = ReduceOp;
  // Integers in int64, sums and products wrapping (as the int32 result then does), the average truncated toward zero.
  void reduceIntegers(const Buffer& x, Buffer& y) const {
    const Shape& s = x.shape;
    const int64_t outCount = volume(y.shape), count = outCount ? volume(s) / outCount : 0;
    const size_t rank = s.size();
    Shape kept(rank);
    for (size_t d = 0; d < rank; d++) kept[d] = reduced(d) ? 1 : s[d];
    const auto keptStrides = stridesOf(kept);
    const uint64_t start = op_ == Op::kProd ? 1 : op_ == Op::kMax ? static_cast<uint64_t>(INT64_MIN) : op_ == Op::kMin ? static_cast<uint64_t>(INT64_MAX) : 0;
    std::vector<uint64_t> acc(static_cast<size_t>(outCount), start);
    std::vector<int64_t> idx(rank, 0);
    const int64_t* values = x.integers();
    for (int64_t k = 0, total = volume(s); k < total; k++) {
      int64_t o = 0;
      for (size_t d = 0; d < rank; d++) if (kept[d] != 1) o += idx[d] * keptStrides[d];
      const int64_t v = values[k];
      uint64_t& a = acc[o];
      switch (op_) {
        case Op::kSum: case Op::kAvg: a += static_cast<uint64_t>(v); break;
        case Op::kProd: a *= static_cast<uint64_t>(v); break;
        case Op::kMax: a = static_cast<uint64_t>(std::max(static_cast<int64_t>(a), v)); break;
        case Op::kMin: a = static_cast<uint64_t>(std::min(static_cast<int64_t>(a), v)); break;
      }
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < s[d]) break; idx[d] = 0; }
    }
    for (int64_t o = 0; o < outCount; o++) {
      const int64_t a = static_cast<int64_t>(acc[o]);
      y.integers()[o] = wrapInteger(op_ == Op::kAvg && count ? a / count : a, y.storage);
    }
  }
  bool reduced(size_t d) const { return std::binary_search(axes_.begin(), axes_.end(), static_cast<int64_t>(d)); }
  double initial() const { return op_ == Op::kProd ? 1.0 : op_ == Op::kMax ? -INFINITY : op_ == Op::kMin ? INFINITY : 0.0; }
  // Sums accumulate in double: a float running sum over a large axis loses the small terms.
  double combine(double a, float v) const {
    switch (op_) {
      case Op::kSum: case Op::kAvg: return a + v;
      case Op::kProd: return a * v;
      case Op::kMax: return (v > a || std::isnan(v)) ? v : a;
      case Op::kMin: return (v < a || std::isnan(v)) ? v : a;
    }
    return a;
  }
  // The combination of `count` values `stride` apart.
  double walk(const float* x, int64_t count, int64_t stride) const {
    double a = initial();
    for (int64_t e = 0; e < count; e++) a = combine(a, x[e * stride]);
    return a;
  }
  float finish(double a, int64_t count) const { return static_cast<float>(op_ == Op::kAvg ? a / static_cast<double>(count) : a); }

  Op op_ = Op::kSum;
  std::vector<int64_t> axes_;
  bool keepDims_;
};

}  // namespace

std::unique_ptr<Kernel> makeReduce(const OpDesc& op) { return std::make_unique<Reduce>(op); }

}  // namespace netdef
