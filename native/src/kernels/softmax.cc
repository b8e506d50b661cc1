#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

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

}  // namespace

std::unique_ptr<Kernel> makeSoftMax(const OpDesc& op) { return std::make_unique<SoftMax>(op); }

}  // namespace netdef
