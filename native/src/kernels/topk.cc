#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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
  // Each row's k best by a partial sort (a heap of k) of its values copied together: a full stable sort of every row
  // took 4.3 ms for the top 5 of 64 rows of 1,000. Ties and NaN are ordered by the comparison itself (the lower index
  // first; NaN first for the largest, last for the smallest, as PyTorch), so the result is the stable sort's.
  template <class T>
  void topK(const Buffer& input, Buffer& values, int64_t* indices) const {
    int64_t outer, extent, inner;
    around(input.shape, axis_, outer, extent, inner);
    const bool largest = max_;
    const auto before = [largest](T va, int64_t a, T vb, int64_t b) {
      const bool nanA = va != va, nanB = vb != vb;  // NaN only in floats
      if (nanA || nanB) return nanA && nanB ? a < b : largest ? nanA : nanB;
      if (va != vb) return largest ? va > vb : va < vb;
      return a < b;
    };
    parallelItems(outer * inner, extent * 8, [&](int64_t t) {
      const int64_t o = t / inner, i = t % inner;
      const T* x = valuesAs<T>(input) + o * extent * inner + i;
      thread_local std::vector<std::pair<T, int64_t>> row;
      row.resize(static_cast<size_t>(extent));
      for (int64_t j = 0; j < extent; j++) row[j] = {x[j * inner], j};
      std::partial_sort(row.begin(), row.begin() + k_, row.end(), [&](const auto& a, const auto& b) { return before(a.first, a.second, b.first, b.second); });
      for (int64_t r = 0; r < k_; r++) {
        const int64_t at = o * k_ * inner + r * inner + i;
        valuesAs<T>(values)[at] = row[r].first;
        indices[at] = row[r].second;
      }
    }, outer * inner * extent > 16384);
  }

  bool max_;
  int64_t k_, axis_;
};

}  // namespace

std::unique_ptr<Kernel> makeTopK(const OpDesc& op) { return std::make_unique<TopK>(op); }

}  // namespace netdef
