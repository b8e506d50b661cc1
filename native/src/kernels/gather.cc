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
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (!isInteger(in[1]->storage)) fail("indices must be int32 or int64");
    if (isInteger(in[0]->storage)) gather<int64_t>(in, out);
    else gather<float>(in, out);
  }

 private:
  template <class T>
  void gather(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const {
    int64_t outer, extent, inner;
    around(in[0]->shape, axis_, outer, extent, inner);
    const int64_t count = volume(in[1]->shape);
    const int64_t* indices = in[1]->integers();
    for (int64_t j = 0; j < count; j++) {
      // Negative indices count from the end, as TensorRT and PyTorch.
      if (indices[j] < -extent || indices[j] >= extent) fail("index " + std::to_string(indices[j]) + " is outside axis " + std::to_string(axis_) + " of extent " + std::to_string(extent));
    }
    const T* x = valuesAs<T>(*in[0]);
    T* y = valuesAs<T>(*out[0]);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < count; j++) {
        const int64_t index = indices[j] < 0 ? indices[j] + extent : indices[j];
        std::copy_n(x + (o * extent + index) * inner, inner, y + (o * count + j) * inner);
      }
  }

  int64_t axis_;
};

}  // namespace

std::unique_ptr<Kernel> makeGather(const OpDesc& op) { return std::make_unique<Gather>(op); }

}  // namespace netdef
