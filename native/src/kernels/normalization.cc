#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// outer × extent × inner view of a shape around one axis.
// Softmax, and log-softmax (the builder's fusion of softMax → unary log, exact where log(softmax) underflows).
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
    parallelItems(outer * inner, 8 * extent, [&](int64_t t) {  // an exponential and a few steps per value
      const int64_t o = t / inner, i = t % inner, base = o * extent * inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < extent; k++) mx = std::max(mx, x[base + k * inner]);
      double sum = 0;
      for (int64_t k = 0; k < extent; k++) sum += std::exp(static_cast<double>(x[base + k * inner] - mx));
      if (log_) {
        const float lse = static_cast<float>(std::log(sum));
        for (int64_t k = 0; k < extent; k++) y[base + k * inner] = x[base + k * inner] - mx - lse;
      } else {
        for (int64_t k = 0; k < extent; k++) y[base + k * inner] = static_cast<float>(std::exp(static_cast<double>(x[base + k * inner] - mx)) / sum);
      }
    }, outer * inner * extent > 65536);
  }

 private:
  int64_t axis_;
  bool log_;
};

class Reduce : public Kernel {
 public:
  explicit Reduce(const OpDesc& op)
      : Kernel(op), axes_(op.params.integers(op.name, "axes")), keepDims_(op.params.number(op.name, "keepDims") != 0) {
    const std::string name = op.params.string(op.name, "op");
    if (name == "sum") op_ = Op::kSum;
    else if (name == "avg") op_ = Op::kAvg;
    else if (name == "prod") op_ = Op::kProd;
    else if (name == "max") op_ = Op::kMax;
    else if (name == "min") op_ = Op::kMin;
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

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
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
      parallelItems(outer, count * inner, [&](int64_t o) {
        for (int64_t i = 0; i < inner; i++) {
          const float* xi = x + o * count * inner + i;
          y[o * inner + i] = finish(inner == 1 && (op_ == Op::kSum || op_ == Op::kAvg) ? sumOf(xi, count) : walk(xi, count, inner), count);
        }
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
  enum class Op { kSum, kAvg, kProd, kMax, kMin };
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
  // The sum of a contiguous run in four interleaved double sums: four additions in flight instead of one chain.
  static double sumOf(const float* x, int64_t count) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t e = 0;
    for (; e + 4 <= count; e += 4) { a0 += x[e]; a1 += x[e + 1]; a2 += x[e + 2]; a3 += x[e + 3]; }
    for (; e < count; e++) a0 += x[e];
    return (a0 + a1) + (a2 + a3);
  }
  float finish(double a, int64_t count) const { return static_cast<float>(op_ == Op::kAvg ? a / static_cast<double>(count) : a); }

  Op op_ = Op::kSum;
  std::vector<int64_t> axes_;
  bool keepDims_;
};

// Sorted top-k values and their indices; ties keep the lower index first (stable), as PyTorch on CPU.
class TopK : public Kernel {
 public:
  explicit TopK(const OpDesc& op)
      : Kernel(op), max_(op.params.string(op.name, "op") == "max"), k_(op.params.integer(op.name, "k")), axis_(op.params.integer(op.name, "axis")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Shape s = in.at(0);
    if (axis_ < 0 || axis_ >= static_cast<int64_t>(s.size()) || k_ > s[axis_]) fail("k = " + std::to_string(k_) + " does not fit input " + formatShape(s));
    s[axis_] = k_;
    return {s, s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    int64_t outer, extent, inner;
    around(in[0]->shape, axis_, outer, extent, inner);
    std::vector<int64_t> order(extent);
    for (int64_t t = 0; t < outer * inner; t++) {
      const int64_t o = t / inner, i = t % inner;
      const float* x = in[0]->data.data() + o * extent * inner + i;
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const float va = x[a * inner], vb = x[b * inner];
        if (std::isnan(va) || std::isnan(vb)) return std::isnan(va) && !std::isnan(vb) && max_;
        return max_ ? va > vb : va < vb;
      });
      for (int64_t r = 0; r < k_; r++) {
        const int64_t at = o * k_ * inner + r * inner + i;
        out[0]->data[at] = x[order[r] * inner];
        out[1]->data[at] = static_cast<float>(order[r]);
      }
    }
  }

 private:
  bool max_;
  int64_t k_, axis_;
};

// Layer / instance / group normalisation: statistics over `axes` (group: each group of channels with the spatial
// axes), then scale and bias per normalised element (layer) or per channel (instance, group).
class Normalization : public Kernel {
 public:
  explicit Normalization(const OpDesc& op)
      : Kernel(op), type_(op.params.string(op.name, "type")), axes_(op.params.integers(op.name, "axes")),
        groups_(op.params.integer(op.name, "groups")), epsilon_(op.params.number(op.name, "epsilon")) {
    if (op.hasWeight("scale")) { scale_ = op.weight("scale"); bias_ = op.weight("bias"); }
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    for (auto a : axes_) if (a < 0 || a >= static_cast<int64_t>(s.size())) fail("axis out of range for " + formatShape(s));
    if (type_ != "layer" && (s.size() < 2 || s[1] % groups_)) fail(std::to_string(groups_) + " groups do not divide the channels of " + formatShape(s));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    int64_t rows, cols;
    if (type_ == "layer") {
      cols = 1;
      for (auto a : axes_) cols *= s[a];  // the trailing axes
      rows = volume(s) / cols;
    } else {
      rows = s[0] * groups_;
      cols = volume(s) / rows;
    }
    const int64_t channels = type_ == "layer" ? 0 : s[1];
    const int64_t spatial = type_ == "layer" ? 0 : cols / (channels / groups_);
    parallelItems(rows, 3 * cols, [&](int64_t r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      double mean = 0, var = 0;
      for (int64_t c = 0; c < cols; c++) mean += xr[c];
      mean /= cols;
      for (int64_t c = 0; c < cols; c++) var += (xr[c] - mean) * (xr[c] - mean);
      var /= cols;
      const double inv = 1.0 / std::sqrt(var + epsilon_);
      for (int64_t c = 0; c < cols; c++) {
        float v = static_cast<float>((xr[c] - mean) * inv);
        if (!scale_.empty()) {
          const int64_t p = type_ == "layer" ? c : ((r % groups_) * (channels / groups_) + c / spatial);
          v = v * scale_[p] + bias_[p];
        }
        yr[c] = v;
      }
    }, rows * cols > 65536);
  }

 private:
  std::string type_;
  std::vector<int64_t> axes_;
  int64_t groups_;
  double epsilon_;
  std::vector<float> scale_, bias_;
};

// b_c = a_c · (k + α/n · Σ_{c' in window} a_{c'}²)^(−β), PyTorch's LocalResponseNorm.
class LRN : public Kernel {
 public:
  explicit LRN(const OpDesc& op)
      : Kernel(op), window_(op.params.integer(op.name, "window")), alpha_(op.params.number(op.name, "alpha")),
        beta_(op.params.number(op.name, "beta")), k_(op.params.number(op.name, "k")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    if (in.at(0).size() < 3) fail("input " + formatShape(in[0]) + " has no channel and spatial axes");
    return {in[0]};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    int64_t outer, channels, inner;
    around(in[0]->shape, 1, outer, channels, inner);
    const float* x = in[0]->data.data();
    const int64_t before = (window_ - 1) / 2, after = window_ / 2;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < inner; i++) {
          double sum = 0;
          for (int64_t cc = std::max<int64_t>(0, c - before); cc <= std::min(channels - 1, c + after); cc++) {
            const double v = x[(o * channels + cc) * inner + i];
            sum += v * v;
          }
          const int64_t at = (o * channels + c) * inner + i;
          out[0]->data[at] = static_cast<float>(x[at] * std::pow(k_ + alpha_ / window_ * sum, -beta_));
        }
  }

 private:
  int64_t window_;
  double alpha_, beta_, k_;
};

}  // namespace

std::unique_ptr<Kernel> makeSoftMax(const OpDesc& op) { return std::make_unique<SoftMax>(op); }
std::unique_ptr<Kernel> makeReduce(const OpDesc& op) { return std::make_unique<Reduce>(op); }
std::unique_ptr<Kernel> makeTopK(const OpDesc& op) { return std::make_unique<TopK>(op); }
std::unique_ptr<Kernel> makeNormalization(const OpDesc& op) { return std::make_unique<Normalization>(op); }
std::unique_ptr<Kernel> makeLRN(const OpDesc& op) { return std::make_unique<LRN>(op); }

}  // namespace netdef
