#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// y = x permuted: output dim i is input dim perm[i]. Walked as rows (BroadcastRows: output dimensions coalesced where
// the input runs on across them), each row one copy where the innermost output dimension is the input's (a channel
// shuffle, attention's heads), else a strided gather; the rows shared among the cores.
template <class T>
void permute(const T* x, const Shape& in, const std::vector<int64_t>& perm, T* y) {
  const size_t rank = in.size();
  Shape out(rank);
  const auto inStrides = stridesOf(in);
  std::vector<int64_t> st(rank);
  for (size_t i = 0; i < rank; i++) out[i] = in[perm[i]], st[i] = inStrides[perm[i]];
  const BroadcastRows<1> rows(out, {st});
  const int64_t inner = rows.inner(), step = rows.innerStride()[0], total = volume(out);
  parallelRanges(rows.rows(), std::max<int64_t>(1, 16384 / inner), [&](int64_t begin, int64_t end) {
    rows.forRows(begin, end, [&](int64_t r, const std::array<int64_t, 1>& at) {
      T* to = y + r * inner;
      if (step == 1) std::memcpy(to, x + at[0], static_cast<size_t>(inner) * sizeof(T));
      else for (int64_t i = 0; i < inner; i++) to[i] = x[at[0] + i * step];
    });
  }, total > 65536);
}

bool isIdentity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); i++) if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

class Shuffle : public Kernel {
 public:
  explicit Shuffle(const OpDesc& op)
      : Kernel(op), first_(op.params.integers(op.name, "firstTranspose")), second_(op.params.integers(op.name, "secondTranspose")),
        hasReshape_(op.params.has("reshape")) {
    if (hasReshape_) reshape_ = op.params.integers(op.name, "reshape");
    if (op.params.has("dimsFrom")) dimsFrom_ = op.params.integers(op.name, "dimsFrom");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Shape s = transposed(in.at(0), first_, "firstTranspose");
    if (hasReshape_) {
      Shape r;
      int64_t known = 1, inferred = -1;
      const Shape sizes = sizesFrom(reshape_, dimsFrom_, in, [this](const std::string& m) { fail(m); });
      for (size_t i = 0; i < sizes.size(); i++) {
        int64_t d = sizes[i];
        if (d == 0) {
          if (i >= s.size()) fail("reshape copies dimension " + std::to_string(i) + " of " + formatShape(s));
          d = s[i];
        }
        if (d == -1) inferred = static_cast<int64_t>(i);
        else known *= d;
        r.push_back(d);
      }
      const int64_t total = volume(s);
      if (inferred >= 0) {
        if (known == 0 || total % known) fail("cannot reshape " + formatShape(s) + " to " + formatShape(sizes));
        r[inferred] = total / known;
      } else if (known != total) {
        fail("cannot reshape " + formatShape(s) + " (" + std::to_string(total) + " elements) to " + formatShape(r));
      }
      s = r;
    }
    return {transposed(s, second_, "secondTranspose")};
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(in[0]->storage)) shuffle<int64_t>(*in[0], *out[0]);
    else shuffle<float>(*in[0], *out[0]);
  }

 private:
  template <class T>
  void shuffle(const Buffer& x, Buffer& y) const {
    // The reshape between the transposes moves no data in row-major order.
    const int64_t count = volume(x.shape);
    std::vector<T> tmp;
    const T* src = valuesAs<T>(x);
    if (!isIdentity(first_)) {
      tmp.resize(static_cast<size_t>(count));
      permute(src, x.shape, first_, tmp.data());
      src = tmp.data();
    }
    if (isIdentity(second_)) {  // a reshape: one copy, shared among the cores
      T* to = valuesAs<T>(y);
      parallelRanges(count, 32768, [&](int64_t begin, int64_t end) { std::memcpy(to + begin, src + begin, static_cast<size_t>(end - begin) * sizeof(T)); }, count > 65536);
      return;
    }
    Shape beforeSecond(second_.size());
    for (size_t i = 0; i < second_.size(); i++) beforeSecond[second_[i]] = y.shape[i];
    permute(src, beforeSecond, second_, valuesAs<T>(y));
  }
 private:
  Shape transposed(const Shape& s, const std::vector<int64_t>& perm, const char* which) const {
    if (perm.size() != s.size()) fail(std::string(which) + " of " + std::to_string(perm.size()) + " axes for a rank-" + std::to_string(s.size()) + " tensor");
    Shape r(s.size());
    for (size_t i = 0; i < s.size(); i++) {
      if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(s.size())) fail(std::string(which) + " is not a permutation");
      r[i] = s[perm[i]];
    }
    return r;
  }
  std::vector<int64_t> first_, second_, reshape_, dimsFrom_;
  bool hasReshape_;
};

}  // namespace

std::unique_ptr<Kernel> makeShuffle(const OpDesc& op) { return std::make_unique<Shuffle>(op); }

}  // namespace netdef
