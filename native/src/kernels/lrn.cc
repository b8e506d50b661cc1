#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// sums[i] += x[i]² over n values.
NETDEF_CLONES void addSquares(const float* x, int64_t n, float* sums) {
  for (int64_t i = 0; i < n; i++) sums[i] += x[i] * x[i];
}

// y = x · (k + scale · sum)^(−β); β = 0.75 (AlexNet's and GoogLeNet's) and 0.5 by square roots, as vectors.
NETDEF_CLONES void normalizePlane(const float* x, const float* sums, int64_t n, float k, float scale, float beta, float* y) {
  if (beta == 0.75f) {
    for (int64_t i = 0; i < n; i++) {
      const float base = k + scale * sums[i], root = std::sqrt(base);
      y[i] = x[i] / (root * std::sqrt(root));
    }
  } else if (beta == 0.5f) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / std::sqrt(k + scale * sums[i]);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * std::pow(k + scale * sums[i], -beta);
  }
}

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
  // One output channel's plane at a time, planes split between threads: its window's squares summed as vectors,
  // then the scaling (value by value in double with std::pow, on one thread, an LRN over 96 × 55 × 55 took 6.8 ms).
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    int64_t outer, channels, inner;
    around(in[0]->shape, 1, outer, channels, inner);
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    const int64_t before = (window_ - 1) / 2, after = window_ / 2;
    const float k = static_cast<float>(k_), scale = static_cast<float>(alpha_ / static_cast<double>(window_)), beta = static_cast<float>(beta_);
    parallelItems(outer * channels, inner * window_, [&](int64_t item) {
      const int64_t o = item / channels, c = item % channels;
      static thread_local std::vector<float> sums;
      sums.assign(static_cast<size_t>(inner), 0.0f);
      for (int64_t cc = std::max<int64_t>(0, c - before); cc <= std::min(channels - 1, c + after); cc++) addSquares(x + (o * channels + cc) * inner, inner, sums.data());
      const int64_t at = item * inner;
      normalizePlane(x + at, sums.data(), inner, k, scale, beta, y + at);
    }, outer * channels * inner * window_ > 65536);
  }

 private:
  int64_t window_;
  double alpha_, beta_, k_;
};

}  // namespace

std::unique_ptr<Kernel> makeLRN(const OpDesc& op) { return std::make_unique<LRN>(op); }

}  // namespace netdef
