#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class Gather : public Kernel {
 public:
  explicit Gather(const OpDesc& op) : Kernel(op), axis_(op.params.integer(op.name, "axis")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape &d = in.at(0), &i = in.at(1);
    if (axis_ < 0 || axis_ >= static_cast<int64_t>(d.size())) fail("axis out of range for " + formatShape(d));
    Shape out(d.begin(), d.begin() + axis_);
    out.insert(out.end(), i.begin(), i.end());
    out.insert(out.end(), d.begin() + axis_ + 1, d.end());
    return {out};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    int64_t outer, extent, inner;
    around(in[0]->shape, axis_, outer, extent, inner);
    const int64_t count = static_cast<int64_t>(in[1]->data.size());
    for (int64_t j = 0; j < count; j++) {
      int64_t index = static_cast<int64_t>(in[1]->data[j]);
      if (index < 0) index += extent;  // negative indices count from the end, as TensorRT and PyTorch
      if (index < 0 || index >= extent) fail("index " + std::to_string(static_cast<int64_t>(in[1]->data[j])) + " is outside axis " + std::to_string(axis_) + " of extent " + std::to_string(extent));
    }
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < count; j++) {
        int64_t index = static_cast<int64_t>(in[1]->data[j]);
        if (index < 0) index += extent;
        std::copy_n(in[0]->data.begin() + (o * extent + index) * inner, inner, out[0]->data.begin() + (o * count + j) * inner);
      }
  }

 private:
  int64_t axis_;
};

}  // namespace

std::unique_ptr<Kernel> makeGather(const OpDesc& op) { return std::make_unique<Gather>(op); }

}  // namespace netdef
