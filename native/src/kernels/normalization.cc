#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// One row of a layer normalisation, 8 values a step: the mean, then the variance around it (two passes, each lane
// summing in float32, the lanes added in double), then (x − mean)·1/√(var + ε), scaled and shifted per element.
NETDEF_CLONES void layerNormRow(const float* x, float* y, int64_t n, const float* scale, const float* bias, double epsilon) {
  const int64_t whole = n / 8 * 8;
  Vec8 lanes{};
  for (int64_t c = 0; c < whole; c += 8) lanes += vmath::load(x + c);
  double sum = 0;
  for (int j = 0; j < 8; j++) sum += lanes[j];
  for (int64_t c = whole; c < n; c++) sum += x[c];
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  lanes = Vec8{};
  for (int64_t c = 0; c < whole; c += 8) { const Vec8 d = vmath::load(x + c) - mean; lanes += d * d; }
  double squares = 0;
  for (int j = 0; j < 8; j++) squares += lanes[j];
  for (int64_t c = whole; c < n; c++) squares += (x[c] - mean) * (x[c] - mean);
  const float inverse = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(n) + epsilon));
  for (int64_t c = 0; c < whole; c += 8) {
    Vec8 v = (vmath::load(x + c) - mean) * inverse;
    if (scale) v = v * vmath::load(scale + c) + vmath::load(bias + c);
    vmath::store(y + c, v);
  }
  for (int64_t c = whole; c < n; c++) y[c] = scale ? (x[c] - mean) * inverse * scale[c] + bias[c] : (x[c] - mean) * inverse;
}

// The mean of n values and 1/√(variance + ε), in double partial sums as vectors, the variance around the mean (two
// passes): instance and group normalisation's statistics (summed one double at a time, with an index division per
// value in the affine, an instance normalisation of 64 × 56 × 56 took 2.7× onnxruntime's time).
NETDEF_CLONES void momentsOf(const float* x, int64_t n, double epsilon, double& mean, double& inverse) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; i++) sum += x[i];
  mean = sum / static_cast<double>(n);
  double squares = 0;
#pragma omp simd reduction(+ : squares)
  for (int64_t i = 0; i < n; i++) { const double d = x[i] - mean; squares += d * d; }
  inverse = 1.0 / std::sqrt(squares / static_cast<double>(n) + epsilon);
}

// y = (x − mean) · inverse over n values of one channel (then its scale and bias).
NETDEF_CLONES void normalizeRun(const float* x, float* y, int64_t n, double mean, double inverse) {
  for (int64_t i = 0; i < n; i++) y[i] = static_cast<float>((x[i] - mean) * inverse);
}
NETDEF_CLONES void normalizeAffineRun(const float* x, float* y, int64_t n, double mean, double inverse, float scale, float bias) {
  for (int64_t i = 0; i < n; i++) y[i] = static_cast<float>((x[i] - mean) * inverse) * scale + bias;
}

// Layer / instance / group normalisation: statistics over `axes` (group: each group of channels with the spatial
// axes), then scale and bias per normalised element (layer) or per channel (instance, group).
class Normalization : public Kernel {
 public:
  explicit Normalization(const OpDesc& op)
      : Kernel(op), type_(op.params.string(op.name, "type")), layer_(type_ == "layer"), axes_(op.params.integers(op.name, "axes")),
        groups_(op.params.integer(op.name, "groups")), epsilon_(op.params.number(op.name, "epsilon")) {
    if (op.hasWeight("scale")) { scale_ = op.weight("scale"); bias_ = op.weight("bias"); }
    if (scale_.size() != bias_.size()) bad("scale has " + std::to_string(scale_.size()) + " values, bias " + std::to_string(bias_.size()));
    if (groups_ < 1) bad("groups must be at least 1");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    for (auto a : axes_) if (a < 0 || a >= static_cast<int64_t>(s.size())) fail("axis out of range for " + formatShape(s));
    if (type_ != "layer" && (s.size() < 2 || s[1] % groups_)) fail(std::to_string(groups_) + " groups do not divide the channels of " + formatShape(s));
    // The affine's values: one per normalised element (layer) or per channel (instance, group).
    int64_t per = 1;
    if (type_ == "layer") for (auto a : axes_) per *= s[a];
    else per = s[1];
    if (!scale_.empty() && static_cast<int64_t>(scale_.size()) != per) fail("scale and bias have " + std::to_string(scale_.size()) + " values; input " + formatShape(s) + " needs " + std::to_string(per));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    if (layer_) {
      int64_t cols = 1;
      for (auto a : axes_) cols *= s[a];  // the trailing axes
      const int64_t rows = volume(s) / cols;
      const float* scale = scale_.empty() ? nullptr : scale_.data();
      const float* bias = scale_.empty() ? nullptr : bias_.data();
      parallelItems(rows, 3 * cols, [&](int64_t r) { layerNormRow(x + r * cols, y + r * cols, cols, scale, bias, epsilon_); }, rows * cols > 16384);
      return;
    }
    const int64_t rows = s[0] * groups_, cols = volume(s) / rows;
    const int64_t perGroup = s[1] / groups_, spatial = cols / perGroup;
    parallelItems(rows, 3 * cols, [&](int64_t r) {
      double mean, inverse;
      momentsOf(x + r * cols, cols, epsilon_, mean, inverse);
      for (int64_t c = 0; c < perGroup; c++) {
        const int64_t p = (r % groups_) * perGroup + c, at = r * cols + c * spatial;
        if (scale_.empty()) normalizeRun(x + at, y + at, spatial, mean, inverse);
        else normalizeAffineRun(x + at, y + at, spatial, mean, inverse, scale_[p], bias_[p]);
      }
    }, rows * cols > 65536);
  }

 private:
  std::string type_;
  bool layer_;
  std::vector<int64_t> axes_;
  int64_t groups_;
  double epsilon_;
  std::vector<float> scale_, bias_;
};

}  // namespace

std::unique_ptr<Kernel> makeNormalization(const OpDesc& op) { return std::make_unique<Normalization>(op); }

}  // namespace netdef
