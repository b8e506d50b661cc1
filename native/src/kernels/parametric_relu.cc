#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class ParametricReLU : public Kernel {
 public:
  explicit ParametricReLU(const OpDesc& op) : Kernel(op), slope_(op.weight("slope")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (slope_.size() != 1 && (s.size() < 2 || static_cast<int64_t>(slope_.size()) != s[1])) fail(std::to_string(slope_.size()) + " slopes do not fit input " + formatShape(s));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    int64_t inner = 1;
    for (size_t i = 2; i < s.size(); i++) inner *= s[i];
    const int64_t channels = s.size() > 1 ? s[1] : 1;
    for (size_t i = 0; i < in[0]->data.size(); i++) {
      const float v = in[0]->data[i];
      const float a = slope_.size() == 1 ? slope_[0] : slope_[(i / inner) % channels];
      out[0]->data[i] = v >= 0 ? v : a * v;
    }
  }

 private:
  std::vector<float> slope_;
};

}  // namespace

std::unique_ptr<Kernel> makeParametricReLU(const OpDesc& op) { return std::make_unique<ParametricReLU>(op); }

}  // namespace netdef
