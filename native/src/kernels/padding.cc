#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class Padding : public Kernel {
 public:
  explicit Padding(const OpDesc& op)
      : Kernel(op), pre_(op.params.integers(op.name, "pre")), post_(op.params.integers(op.name, "post")), value_(op.params.number(op.name, "value")) {
    if (pre_.size() != post_.size()) bad("pre and post lengths differ");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Shape s = in.at(0);
    if (pre_.size() > s.size()) fail("pads more dimensions than input " + formatShape(s) + " has");
    const size_t first = s.size() - pre_.size();
    for (size_t i = 0; i < pre_.size(); i++) {
      s[first + i] += pre_[i] + post_[i];
      if (s[first + i] < 1) fail("padding empties a dimension of " + formatShape(in[0]));
    }
    return {s};
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) pad<int64_t>(*in[0], *out[0], static_cast<int64_t>(value_));
    else pad<float>(*in[0], *out[0], static_cast<float>(value_));
  }

 private:
  template <class T>
  void pad(const Buffer& x, Buffer& y, T value) const {
    const Shape &is = x.shape, &os = y.shape;
    const size_t rank = os.size(), first = rank - pre_.size();
    auto ist = stridesOf(is);
    std::vector<int64_t> idx(rank, 0);
    const T* from = valuesAs<T>(x);
    T* to = valuesAs<T>(y);
    const int64_t total = volume(os);
    for (int64_t e = 0; e < total; e++) {
      int64_t off = 0;
      bool inside = true;
      for (size_t d = 0; d < rank && inside; d++) {
        const int64_t src = idx[d] - (d >= first ? pre_[d - first] : 0);
        if (src < 0 || src >= is[d]) inside = false;
        else off += src * ist[d];
      }
      to[e] = inside ? from[off] : value;
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < os[d]) break; idx[d] = 0; }
    }
  }

  std::vector<int64_t> pre_, post_;
  double value_;
};

}  // namespace

std::unique_ptr<Kernel> makePadding(const OpDesc& op) { return std::make_unique<Padding>(op); }

}  // namespace netdef
