#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/softmax_row.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Batched matrix product with broadcast batch dimensions, transposes and vectors.
class MatrixMultiply : public Kernel {
 public:
  explicit MatrixMultiply(const OpDesc& op)
      : Kernel(op), opA_(op.params.string(op.name, "opA")), opB_(op.params.string(op.name, "opB")),
        alpha_(op.params.has("alpha") ? static_cast<float>(op.params.number(op.name, "alpha")) : 1.0f),
        softMax_(op.params.has("softMax") && op.params.number(op.name, "softMax") != 0) {}

  struct Layout { Shape batch; int64_t m, k, n; };

  Layout layout(const Shape& a, const Shape& b) const {
    const bool va = opA_ == "vector", vb = opB_ == "vector";
    const size_t ra = va ? 1 : 2, rb = vb ? 1 : 2;
    if (a.size() < ra || b.size() < rb) fail("inputs " + formatShape(a) + " and " + formatShape(b) + " have too few dimensions");
    int64_t m = va ? 1 : (opA_ == "transpose" ? a[a.size() - 1] : a[a.size() - 2]);
    int64_t ka = va ? a.back() : (opA_ == "transpose" ? a[a.size() - 2] : a.back());
    int64_t kb = vb ? b.back() : (opB_ == "transpose" ? b.back() : b[b.size() - 2]);
    int64_t n = vb ? 1 : (opB_ == "transpose" ? b[b.size() - 2] : b.back());
    if (ka != kb) fail("inner dimensions differ: " + formatShape(a) + " × " + formatShape(b));
    Shape ba(a.begin(), a.end() - ra), bb(b.begin(), b.end() - rb);
    if (ba.size() != bb.size()) fail("batch ranks differ: " + formatShape(a) + " × " + formatShape(b));
    Shape batch;
    for (size_t i = 0; i < ba.size(); i++) {
      if (ba[i] != bb[i] && ba[i] != 1 && bb[i] != 1) fail("batch dimensions do not broadcast: " + formatShape(a) + " × " + formatShape(b));
      batch.push_back(std::max(ba[i], bb[i]));
    }
    return {batch, m, ka, n};
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Layout l = layout(in.at(0), in.at(1));
    Shape s = l.batch;
    if (opA_ != "vector") s.push_back(l.m);
    if (opB_ != "vector") s.push_back(l.n);
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape &a = in[0]->shape, &b = in[1]->shape;
    Layout l = layout(a, b);
    // One B for every product (x · W on [batch, tokens, features]) and A's rows consecutive: one GEMM over all of
    // them, B packed once and the rows split between the threads (a ViT's q, k and v projections: 8 products of 197
    // rows took twice onnxruntime's time).
    if (volume(l.batch) > 1 && volume(Shape(b.begin(), b.end() - (opB_ == "vector" ? 1 : 2))) == 1 && opA_ == "none") {
      l.m *= volume(l.batch);
      l.batch.assign(l.batch.size(), 1);
    }
    const int64_t batches = volume(l.batch), rank = static_cast<int64_t>(l.batch.size());
    // Rows [r0, r1) of product t of the batch: its operands' offsets found from its index (a dimension of extent 1
    // does not advance).
    const auto product = [&](int64_t t, int64_t r0, int64_t r1) {
      int64_t offA = 0, offB = 0;
      for (int64_t d = rank - 1, rest = t, ma = 1, mb = 1; d >= 0; d--) {
        const int64_t i = rest % l.batch[d];
        rest /= l.batch[d];
        if (a[d] != 1) offA += i * ma;
        if (b[d] != 1) offB += i * mb;
        ma *= a[d];
        mb *= b[d];
      }
      const float* pa = in[0]->data.data() + offA * l.m * l.k;
      const float* pb = in[1]->data.data() + offB * l.k * l.n;
      static thread_local std::vector<float> aT;
      if (opA_ == "transpose") {  // materialise Aᵀ [m, k]
        aT.resize(l.m * l.k);
        for (int64_t i = 0; i < l.k; i++) for (int64_t j = 0; j < l.m; j++) aT[j * l.k + i] = pa[i * l.m + j];
        pa = aT.data();
      }
      // B as [k, n] (none, vector) or [n, k] (transpose).
      float* c = out[0]->data.data() + t * l.m * l.n + r0 * l.n;
      pa += r0 * l.k;
      sgemm(r1 - r0, l.n, l.k, pa, l.k, pb, opB_ == "transpose" ? l.k : l.n, opB_ == "transpose", c, l.n, false);
      if (insideParallelLoop()) finishRows(c, 0, r1 - r0, l.n);
      else parallelRanges(r1 - r0, 8, [&](int64_t begin, int64_t end) { finishRows(c, begin, end, l.n); }, (r1 - r0) * l.n > 16384);
    };
    // Many products (attention's heads: [B, heads, T, T] × [B, heads, T, d]) one per thread at a time, each GEMM and
    // its softmax on its thread alone; a few (a ViT's 3 heads at batch 1) in bands of at least 32 rows, so that
    // there are twice the threads (a band's GEMM on its thread, B packed for each band: splitting the GEMM itself
    // between threads made a ViT's attention take twice onnxruntime's time, one product after another; 3 heads on 2
    // threads left one thread idle a third of the time). One product, or large ones, each GEMM on all the threads.
    const int64_t work = l.m * l.n * l.k, wanted = (2 * poolThreads() + batches - 1) / batches;
    const int64_t bands = opA_ == "none" && batches > 1 ? std::max<int64_t>(1, std::min(wanted, l.m / 32)) : 1;
    if (work >= (1 << 24) || batches * bands < 2 * poolThreads()) {
      for (int64_t t = 0; t < batches; t++) product(t, 0, l.m);
      return;
    }
    parallelItems(batches * bands, work / bands, [&](int64_t item) {
      const int64_t t = item / bands, band = item % bands;
      product(t, partBegin(l.m, bands, band), partBegin(l.m, bands, band + 1));
    });
  }

 private:
  // The fused scaling and row softmax of rows [begin, end) of one product, while it is in cache.
  void finishRows(float* c, int64_t begin, int64_t end, int64_t n) const {
    if (alpha_ != 1.0f) for (int64_t i = begin * n; i < end * n; i++) c[i] *= alpha_;
    if (softMax_) for (int64_t r = begin; r < end; r++) softmaxRow(c + r * n, c + r * n, n, false);
  }

  std::string opA_, opB_;
  float alpha_;
  bool softMax_;
};

}  // namespace

std::unique_ptr<Kernel> makeMatrixMultiply(const OpDesc& op) { return std::make_unique<MatrixMultiply>(op); }

}  // namespace netdef
