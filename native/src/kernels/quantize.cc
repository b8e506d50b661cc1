#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Q/DQ with a per-tensor or per-channel scale.

class QuantizeBase : public Kernel {
 public:
  QuantizeBase(const OpDesc& op, bool quantize)
      : Kernel(op), quantize_(quantize), scale_(op.weight("scale")), axis_(op.params.has("axis") ? op.params.integer(op.name, "axis") : -1) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    const int64_t need = axis_ < 0 ? 1 : (axis_ < static_cast<int64_t>(s.size()) ? s[axis_] : -1);
    if (static_cast<int64_t>(scale_.size()) != need) fail(std::to_string(scale_.size()) + " scales do not fit input " + formatShape(s));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    int64_t inner = 1;
    if (axis_ >= 0) for (size_t i = axis_ + 1; i < s.size(); i++) inner *= s[i];
    const int64_t extent = axis_ >= 0 ? s[axis_] : 1;
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    // Runs of values under one scale (the whole range for a per-tensor one), each a vectorised loop.
    parallelRanges(static_cast<int64_t>(in[0]->data.size()), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin, next; i < end; i = next) {
        next = axis_ < 0 ? end : std::min(end, (i / inner + 1) * inner);
        const float sc = scale_[axis_ < 0 ? 0 : (i / inner) % extent];
        if (quantize_) quantizeValues(x + i, y + i, next - i, sc);
        else for (int64_t j = i; j < next; j++) y[j] = x[j] * sc;
      }
    }, in[0]->data.size() > 65536);
  }

 private:
  bool quantize_;
  std::vector<float> scale_;
  int64_t axis_;
};

}  // namespace

std::unique_ptr<Kernel> makeQuantize(const OpDesc& op) { return std::make_unique<QuantizeBase>(op, true); }
std::unique_ptr<Kernel> makeDequantize(const OpDesc& op) { return std::make_unique<QuantizeBase>(op, false); }

}  // namespace netdef
