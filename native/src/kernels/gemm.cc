#include <algorithm>
#include <cstring>

#include "kernels/kernel.h"

namespace netdef {

namespace {

// The inner loops, compiled for AVX-512, AVX2+FMA and baseline x86-64; the loader picks by CPU at run time.
#if defined(__x86_64__) && !defined(NETDEF_NO_MULTIVERSION)
#define NETDEF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NETDEF_CLONES
#endif

// C rows [i0, i0+rows) × cols [j0, j1) += A · B[K,N], four rows at a time so each B row is loaded once per 4.
NETDEF_CLONES
void tileNN(int64_t rows, int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
            float* C, int64_t ldc) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    float* c0 = C + i * ldc; float* c1 = c0 + ldc; float* c2 = c1 + ldc; float* c3 = c2 + ldc;
    const float* a = A + i * lda;
    for (int64_t k = 0; k < K; k++) {
      const float a0 = a[k], a1 = a[lda + k], a2 = a[2 * lda + k], a3 = a[3 * lda + k];
      const float* b = B + k * ldb;
      for (int64_t j = j0; j < j1; j++) {
        const float bj = b[j];
        c0[j] += a0 * bj; c1[j] += a1 * bj; c2[j] += a2 * bj; c3[j] += a3 * bj;
      }
    }
  }
  for (; i < rows; i++) {
    float* c = C + i * ldc;
    const float* a = A + i * lda;
    for (int64_t k = 0; k < K; k++) {
      const float ak = a[k];
      const float* b = B + k * ldb;
      for (int64_t j = j0; j < j1; j++) c[j] += ak * b[j];
    }
  }
}

// C[i, j] += dot(A row i, B row j): B given as [N, K].
NETDEF_CLONES
void tileNT(int64_t rows, int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
            float* C, int64_t ldc) {
  for (int64_t i = 0; i < rows; i++) {
    const float* a = A + i * lda;
    for (int64_t j = j0; j < j1; j++) {
      const float* b = B + j * ldb;
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        s0 += a[k] * b[k]; s1 += a[k + 1] * b[k + 1]; s2 += a[k + 2] * b[k + 2]; s3 += a[k + 3] * b[k + 3];
        s4 += a[k + 4] * b[k + 4]; s5 += a[k + 5] * b[k + 5]; s6 += a[k + 6] * b[k + 6]; s7 += a[k + 7] * b[k + 7];
      }
      float s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
      for (; k < K; k++) s += a[k] * b[k];
      C[i * ldc + j] += s;
    }
  }
}

}  // namespace

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB,
           float* C, int64_t ldc, bool accumulate) {
  if (!accumulate) {
    for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
  }
  if (M == 0 || N == 0 || K == 0) return;
  // Tiles of rows × columns small enough for the C tile and a B panel to stay in cache; K is split for the
  // non-transposed case so that a B panel (kBlock × colBlock) fits in L2.
  const int64_t rowBlock = transB ? 4 : 16;
  const int64_t colBlock = transB ? 64 : 256;
  const int64_t kBlock = transB ? K : 256;
  const int64_t rowTiles = (M + rowBlock - 1) / rowBlock;
  const int64_t colTiles = (N + colBlock - 1) / colBlock;
  const int64_t tiles = rowTiles * colTiles;
#pragma omp parallel for schedule(dynamic, 1) if (M * N * K > 32768)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t i0 = (t / colTiles) * rowBlock, rows = std::min(rowBlock, M - i0);
    const int64_t j0 = (t % colTiles) * colBlock, j1 = std::min(N, j0 + colBlock);
    for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
      const int64_t kn = std::min(kBlock, K - k0);
      if (transB) tileNT(rows, j0, j1, kn, A + i0 * lda + k0, lda, B + k0, ldb, C + i0 * ldc, ldc);
      else tileNN(rows, j0, j1, kn, A + i0 * lda + k0, lda, B + k0 * ldb, ldb, C + i0 * ldc, ldc);
    }
  }
}

namespace {

// Dense layer: y[N, O] = x[N, K] · W[O, K]ᵀ + b.
class FullyConnected : public Kernel {
 public:
  explicit FullyConnected(const OpDesc& op)
      : Kernel(op), out_(op.params.integer(op.name, "outFeatures")), in_(op.params.integer(op.name, "inFeatures")),
        weight_(op.weight("kernel")) {
    if (static_cast<int64_t>(weight_.size()) != out_ * in_) bad("kernel has " + std::to_string(weight_.size()) + " values");
    if (op.hasWeight("bias")) {
      bias_ = op.weight("bias");
      if (static_cast<int64_t>(bias_.size()) != out_) bad("bias has " + std::to_string(bias_.size()) + " values");
    }
    if (op.params.strings.count("activation")) {
      activation_ = ActivationFn::parse(op.params.string(op.name, "activation"), op.params.number(op.name, "activationAlpha"), op.params.number(op.name, "activationBeta"));
    }
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (s.empty() || volume(s) / std::max<int64_t>(s[0], 1) != in_) fail("input " + formatShape(s) + " does not flatten to " + std::to_string(in_) + " features");
    return {{s[0], out_}};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = in[0]->shape[0];
    float* y = out[0]->data.data();
    if (!bias_.empty()) {
      for (int64_t i = 0; i < n; i++) std::memcpy(y + i * out_, bias_.data(), out_ * sizeof(float));
    }
    sgemm(n, out_, in_, in[0]->data.data(), in_, weight_.data(), in_, true, y, out_, !bias_.empty());
    activation_.apply(y, n * out_);
  }

 private:
  int64_t out_, in_;
  std::vector<float> weight_, bias_;
  ActivationFn activation_;
};

// Batched matrix product with broadcast batch dimensions, transposes and vectors.
class MatrixMultiply : public Kernel {
 public:
  explicit MatrixMultiply(const OpDesc& op) : Kernel(op), opA_(op.params.string(op.name, "opA")), opB_(op.params.string(op.name, "opB")) {}

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
    const int64_t batches = volume(l.batch);
    const size_t rank = l.batch.size();
    std::vector<int64_t> idx(rank, 0);
    std::vector<float> aT, bT;
    for (int64_t t = 0; t < batches; t++) {
      int64_t offA = 0, offB = 0, strideA = l.m * l.k, strideB = l.k * l.n;
      // Batch offsets with broadcasting: a dimension of extent 1 does not advance.
      for (int64_t d = static_cast<int64_t>(rank) - 1, ma = 1, mb = 1; d >= 0; d--) {
        const int64_t ea = a[d], eb = b[d];
        if (ea != 1) offA += idx[d] * ma;
        if (eb != 1) offB += idx[d] * mb;
        ma *= ea; mb *= eb;
      }
      const float* pa = in[0]->data.data() + offA * strideA;
      const float* pb = in[1]->data.data() + offB * strideB;
      if (opA_ == "transpose") {  // materialise Aᵀ [m, k]
        aT.resize(l.m * l.k);
        for (int64_t i = 0; i < l.k; i++) for (int64_t j = 0; j < l.m; j++) aT[j * l.k + i] = pa[i * l.m + j];
        pa = aT.data();
      }
      float* pc = out[0]->data.data() + t * l.m * l.n;
      // B as [k, n] (none, vector) or [n, k] (transpose).
      sgemm(l.m, l.n, l.k, pa, l.k, pb, opB_ == "transpose" ? l.k : l.n, opB_ == "transpose", pc, l.n, false);
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) { if (++idx[d] < l.batch[d]) break; idx[d] = 0; }
    }
  }

 private:
  std::string opA_, opB_;
};

}  // namespace

std::unique_ptr<Kernel> makeFullyConnected(const OpDesc& op) { return std::make_unique<FullyConnected>(op); }
std::unique_ptr<Kernel> makeMatrixMultiply(const OpDesc& op) { return std::make_unique<MatrixMultiply>(op); }

}  // namespace netdef
