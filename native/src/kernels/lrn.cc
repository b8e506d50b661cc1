#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

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

std::unique_ptr<Kernel> makeLRN(const OpDesc& op) { return std::make_unique<LRN>(op); }

}  // namespace netdef
