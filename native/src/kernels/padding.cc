#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

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
  // Row by row of the last axis: a row whose outer indices fall in the padding is all `value`; the others are
  // `value`, a copy of the input row's kept span, `value` (element by element, with the indices' arithmetic for each,
  // the layer ran at 6 ns a value).
  template <class T>
  void pad(const Buffer& x, Buffer& y, T value) const {
    const Shape &is = x.shape, &os = y.shape;
    const int64_t rank = static_cast<int64_t>(os.size()), first = rank - static_cast<int64_t>(pre_.size());
    const T* from = valuesAs<T>(x);
    T* to = valuesAs<T>(y);
    if (rank == 0) { to[0] = from[0]; return; }
    const auto ist = stridesOf(is);
    const auto before = [&](int64_t d) { return d >= first ? pre_[d - first] : 0; };
    const int64_t width = os[rank - 1], lead = before(rank - 1), rows = volume(os) / width;
    const int64_t keptBegin = std::clamp<int64_t>(lead, 0, width), keptEnd = std::clamp<int64_t>(is[rank - 1] + lead, keptBegin, width);
    parallelRanges(rows, 256, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; r++) {
        T* row = to + r * width;
        int64_t offset = 0, rest = r;
        bool inside = true;
        for (int64_t d = rank - 2; d >= 0; d--) {
          const int64_t source = rest % os[d] - before(d);
          rest /= os[d];
          inside = inside && source >= 0 && source < is[d];
          offset += source * ist[d];
        }
        if (!inside) { std::fill(row, row + width, value); continue; }
        std::fill(row, row + keptBegin, value);
        std::copy(from + offset + keptBegin - lead, from + offset + keptEnd - lead, row + keptBegin);
        std::fill(row + keptEnd, row + width, value);
      }
    }, volume(os) > 65536);
  }

  std::vector<int64_t> pre_, post_;
  double value_;
};

}  // namespace

std::unique_ptr<Kernel> makePadding(const OpDesc& op) { return std::make_unique<Padding>(op); }

}  // namespace netdef
