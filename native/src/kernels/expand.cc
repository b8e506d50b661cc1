#include <cstring>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// PyTorch's expand written out: the input's dimensions of size 1 repeated to the output's, as rows (BroadcastRows)
// each one copy or one value repeated; -1 keeps a dimension, -2 takes an input's dimension at run time.
class Expand : public Kernel {
 public:
  explicit Expand(const OpDesc& op) : Kernel(op), shape_(op.params.integers(op.name, "shape")) {
    if (op.params.has("dimsFrom")) dimsFrom_ = op.params.integers(op.name, "dimsFrom");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (shape_.size() < s.size()) fail("expands rank " + std::to_string(s.size()) + " to " + std::to_string(shape_.size()));
    Shape out = sizesFrom(shape_, dimsFrom_, in, [this](const std::string& m) { fail(m); });
    const size_t lead = out.size() - s.size();
    for (size_t i = 0; i < out.size(); i++) {
      const int64_t from = i >= lead ? s[i - lead] : 1;
      if (out[i] == -1 && i >= lead) out[i] = from;
      if (out[i] < 1 || (from != 1 && from != out[i])) fail("cannot expand input " + formatShape(s) + " to " + formatShape(out) + " (only dimensions of size 1 expand)");
    }
    return {out};
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) expand<int64_t>(*in[0], *out[0]);
    else expand<float>(*in[0], *out[0]);
  }

 private:
  template <class T>
  void expand(const Buffer& x, Buffer& y) const {
    const BroadcastRows<1> rows({&x.shape}, y.shape);
    const int64_t inner = rows.inner(), step = rows.innerStride()[0];
    const T* from = valuesAs<T>(x);
    T* to = valuesAs<T>(y);
    parallelRanges(rows.rows(), std::max<int64_t>(1, 16384 / inner), [&](int64_t begin, int64_t end) {
      rows.forRows(begin, end, [&](int64_t r, const std::array<int64_t, 1>& at) {
        T* row = to + r * inner;
        if (step == 1) std::memcpy(row, from + at[0], static_cast<size_t>(inner) * sizeof(T));
        else std::fill(row, row + inner, from[at[0]]);
      });
    }, volume(y.shape) > 65536);
  }

  std::vector<int64_t> shape_, dimsFrom_;
};

}  // namespace

std::unique_ptr<Kernel> makeExpand(const OpDesc& op) { return std::make_unique<Expand>(op); }

}  // namespace netdef
