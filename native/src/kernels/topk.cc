#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

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
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (!isInteger(out[1]->storage)) fail("indices must be int32");
    if (isInteger(in[0]->storage)) topK<int64_t>(*in[0], *out[0], out[1]->integers());
    else topK<float>(*in[0], *out[0], out[1]->integers());
  }

 private:
  template <class T>
  void topK(const Buffer& input, Buffer& values, int64_t* indices) const {
    int64_t outer, extent, inner;
    around(input.shape, axis_, outer, extent, inner);
    std::vector<int64_t> order(extent);
    for (int64_t t = 0; t < outer * inner; t++) {
      const int64_t o = t / inner, i = t % inner;
      const T* x = valuesAs<T>(input) + o * extent * inner + i;
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const T va = x[a * inner], vb = x[b * inner];
        if (va != va || vb != vb) return va != va && vb == vb && max_;  // NaN (floats only) ranks highest
        return max_ ? va > vb : va < vb;
      });
      for (int64_t r = 0; r < k_; r++) {
        const int64_t at = o * k_ * inner + r * inner + i;
        valuesAs<T>(values)[at] = x[order[r] * inner];
        indices[at] = order[r];
      }
    }
  }

  bool max_;
  int64_t k_, axis_;
};

}  // namespace

std::unique_ptr<Kernel> makeTopK(const OpDesc& op) { return std::make_unique<TopK>(op); }

}  // namespace netdef
