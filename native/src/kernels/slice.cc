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
  // Where the plan's dimension was dynamic, a negative start counts from the end and a negative size takes the
  // elements through index extent + size (layers/slice.ts, SliceResolved).
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Shape first, count;
    window(in.at(0), first, count);
    return {count};
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) slice<int64_t>(*in[0], *out[0]);
    else slice<float>(*in[0], *out[0]);
  }

 private:
  void window(const Shape& s, Shape& first, Shape& count) const {
    if (start_.size() != s.size() || size_.size() != s.size() || stride_.size() != s.size()) fail("slice rank differs from input " + formatShape(s));
    first.resize(s.size());
    count.resize(s.size());
    for (size_t i = 0; i < s.size(); i++) {
      first[i] = start_[i] < 0 ? start_[i] + s[i] : start_[i];
      count[i] = size_[i] > 0 ? size_[i] : (stride_[i] >= 1 ? floorDiv(s[i] + size_[i] - first[i], stride_[i]) + 1 : 0);
      if (first[i] < 0 || first[i] >= s[i] || count[i] < 1 || stride_[i] < 1 || first[i] + (count[i] - 1) * stride_[i] >= s[i]) {
        fail("the window (start " + std::to_string(start_[i]) + ", size " + std::to_string(size_[i]) + ", stride " + std::to_string(stride_[i]) + ") leaves input " + formatShape(s) +
             " in dimension " + std::to_string(i));
      }
    }
  }
  static int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

  template <class T>
  void slice(const Buffer& x, Buffer& y) const {
    Shape first, count;
    window(x.shape, first, count);
    auto st = stridesOf(x.shape);
    const size_t rank = st.size();
    if (rank == 0) { *valuesAs<T>(y) = *valuesAs<T>(x); return; }
    // Row by row along the last dimension (one copy where its stride is 1), the outer index advanced per row.
    const int64_t rowLength = count[rank - 1], step = stride_[rank - 1], rows = volume(count) / rowLength;
    std::vector<int64_t> idx(rank - 1, 0);
    const T* from = valuesAs<T>(x);
    T* to = valuesAs<T>(y);
    for (int64_t r = 0; r < rows; r++, to += rowLength) {
      int64_t off = first[rank - 1];
      for (size_t d = 0; d + 1 < rank; d++) off += (first[d] + idx[d] * stride_[d]) * st[d];
      if (step == 1) std::memcpy(to, from + off, sizeof(T) * rowLength);
      else for (int64_t i = 0; i < rowLength; i++) to[i] = from[off + i * step];
      for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; d--) { if (++idx[d] < count[d]) break; idx[d] = 0; }
    }
  }

  std::vector<int64_t> start_, size_, stride_;
};

}  // namespace

std::unique_ptr<Kernel> makeSlice(const OpDesc& op) { return std::make_unique<Slice>(op); }

}  // namespace netdef
