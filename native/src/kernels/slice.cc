#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class Slice : public Kernel {
 public:
  explicit Slice(const OpDesc& op)
      : Kernel(op), start_(op.params.integers(op.name, "start")), size_(op.params.integers(op.name, "size")), stride_(op.params.integers(op.name, "stride")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (start_.size() != s.size() || size_.size() != s.size() || stride_.size() != s.size()) fail("slice rank differs from input " + formatShape(s));
    for (size_t i = 0; i < s.size(); i++) {
      if (start_[i] < 0 || size_[i] < 1 || stride_[i] < 1 || start_[i] + (size_[i] - 1) * stride_[i] >= s[i]) fail("slice window leaves input " + formatShape(s) + " in dimension " + std::to_string(i));
    }
    return {size_};
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) slice<int64_t>(*in[0], *out[0]);
    else slice<float>(*in[0], *out[0]);
  }

 private:
  template <class T>
  void slice(const Buffer& x, Buffer& y) const {
    auto st = stridesOf(x.shape);
    const size_t rank = st.size();
    std::vector<int64_t> idx(rank, 0);
    const int64_t total = volume(size_);
    const T* from = valuesAs<T>(x);
    T* to = valuesAs<T>(y);
    for (int64_t e = 0; e < total; e++) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; d++) off += (start_[d] + idx[d] * stride_[d]) * st[d];
      to[e] = from[off];
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < size_[d]) break; idx[d] = 0; }
    }
  }

  std::vector<int64_t> start_, size_, stride_;
};

}  // namespace

std::unique_ptr<Kernel> makeSlice(const OpDesc& op) { return std::make_unique<Slice>(op); }

}  // namespace netdef
