#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

constexpr int64_t kChunk = 32;       // bytes per dot-product step; rows are zero-padded to whole chunks
constexpr int64_t kGemvBatch = 4;    // batches up to this run as dot products, larger ones as an INT8 GEMM

// Four dot products of INT8 rows with one INT8 vector, exact in int32: out[r] = Σ_k w[r][k] · x[k].
void dot4Scalar(const int8_t* const* w, const int8_t* x, int64_t bytes, int32_t* out) {
  for (int r = 0; r < 4; r++) {
    int32_t sum = 0;
    for (int64_t k = 0; k < bytes; k++) sum += int32_t{w[r][k]} * int32_t{x[k]};
    out[r] = sum;
  }
}

#if defined(__x86_64__)
// vpmaddubsw multiplies unsigned by signed bytes: |x| against w carrying x's sign (as in the INT8 GEMM; pairs stay
// within int16), then vpmaddwd by ones widens to int32.
__attribute__((target("avx2"))) void dot4Avx2(const int8_t* const* w, const int8_t* x, int64_t bytes, int32_t* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  for (int64_t k = 0; k < bytes; k += kChunk) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k));
    const __m256i magnitude = _mm256_sign_epi8(xv, xv);
    for (int r = 0; r < 4; r++) {
      const __m256i wv = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + k)), xv);
      acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, wv), ones));
    }
  }
  for (int r = 0; r < 4; r++) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[r]);
    out[r] = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
  }
}
#endif

using Dot4 = void (*)(const int8_t* const*, const int8_t*, int64_t, int32_t*);

Dot4 chooseDot4() {
#if defined(__x86_64__)
  if (std::string(int8KernelName()) != "scalar") return dot4Avx2;  // AVX2 at least (VNNI implies it)
#endif
  return dot4Scalar;
}

// A dense layer behind quantize → dequantize, fused by the builder: the input quantized per row, the kernel (on
// per-output-row INT8 grids) multiplied in integers, the int32 sums scaled back with the bias, then the activation.
// Small batches take one dot product per output and batch row (the layer is bound by reading its weights, now a
// quarter of the bytes); larger ones the INT8 GEMM.
class Int8Dense : public Kernel {
 public:
  explicit Int8Dense(const OpDesc& op)
      : Kernel(op), out_(op.params.integer(op.name, "outFeatures")), in_(op.params.integer(op.name, "inFeatures")),
        inputScale_(static_cast<float>(op.params.number(op.name, "inputScale"))) {
    if (!(inputScale_ > 0) || !std::isfinite(inputScale_)) bad("inputScale must be a positive finite number, got " + std::to_string(inputScale_));
    const std::string tactic = op.params.strings.count("tactic") ? op.params.string(op.name, "tactic") : "int8_gemm";
    if (tactic != "int8_gemm") bad("tactic '" + tactic + "' does not take INT8 inputs (int8_gemm does)");
    const std::vector<float>& kernel = op.weight("kernel");
    if (out_ < 1 || in_ < 1 || static_cast<int64_t>(kernel.size()) != out_ * in_) bad("kernel has " + std::to_string(kernel.size()) + " values");
    if (in_ > (int64_t{1} << 16)) bad("an INT8 kernel of " + std::to_string(in_) + " values per output could overflow its int32 sums");
    std::string problem;
    weights_ = Int8Matrix::fromGrid(kernel.data(), out_, in_, problem);
    if (!problem.empty()) bad("kernel " + problem);
    padded_ = (in_ + kChunk - 1) / kChunk * kChunk;
    rows_.assign(static_cast<size_t>(out_ * padded_), 0);
    for (int64_t i = 0; i < out_; i++) {
      for (int64_t k = 0; k < in_; k++) rows_[i * padded_ + k] = static_cast<int8_t>(std::nearbyint(kernel[i * in_ + k] / weights_.step[i]));
      rowScale_.push_back(inputScale_ * weights_.step[i]);
    }
    bias_ = optionalBias(op, out_);
    activation_ = ActivationFn::fused(op);
    dot4_ = chooseDot4();
  }

  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    std::string problem;
    Shape out = denseOutput(in.at(0), in_, out_, problem);
    if (!problem.empty()) fail(problem);
    return {out};
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override {
    const int64_t n = in[0]->shape[0];
    const float* x = in[0]->data.data();
    float* y = outs[0]->data.data();
    // Each batch row quantized as the quantize layer does, zero-padded to whole chunks.
    std::vector<int8_t> quantized(static_cast<size_t>(n * padded_), 0);
    std::atomic<bool> negative{false};
    parallelItems(n, in_, [&](int64_t j) {
      if (quantizeRow(x + j * in_, in_, inputScale_, quantized.data() + j * padded_)) negative.store(true, std::memory_order_relaxed);
    }, n * in_ > (1 << 15));
    if (n <= kGemvBatch) {
      parallelFor((out_ + 63) / 64, [&](int64_t block) {
        for (int64_t i = block * 64; i < std::min(out_, block * 64 + 64); i += 4) {
          const int8_t* rows[4];
          for (int r = 0; r < 4; r++) rows[r] = rows_.data() + std::min(i + r, out_ - 1) * padded_;
          for (int64_t j = 0; j < n; j++) {
            int32_t sums[4];
            dot4_(rows, quantized.data() + j * padded_, padded_, sums);
            for (int64_t r = 0; r < 4 && i + r < out_; r++) y[j * out_ + i + r] = static_cast<float>(sums[r]) * rowScale_[i + r] + (bias_.empty() ? 0.0f : bias_[i + r]);
          }
        }
      }, out_ * padded_ > (1 << 15));
    } else {
      // C = W · Xᵀ as [out, n] (the GEMM's rows are the kernel's), then transposed into y.
      std::vector<float> c(static_cast<size_t>(out_ * n));
      GemmEpilogue epilogue;
      epilogue.bias = bias_.empty() ? nullptr : bias_.data();
      const int8_t* q = quantized.data();
      igemm(weights_, n, [&](int64_t j0, int64_t nr, int8_t* panel) {
        std::memset(panel, 0, static_cast<size_t>(weights_.quads * 4 * kGemmPanel));
        for (int64_t j = 0; j < nr; j++)
          for (int64_t quad = 0; quad < weights_.quads; quad++) std::memcpy(panel + (quad * kGemmPanel + j) * 4, q + (j0 + j) * padded_ + quad * 4, 4);
      }, negative.load(), rowScale_.data(), c.data(), n, epilogue);
      for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < out_; i++) y[j * out_ + i] = c[i * n + j];
    }
    activation_.apply(y, n * out_);
  }

 private:
  int64_t out_, in_;
  float inputScale_;
  Int8Matrix weights_;              // for the GEMM
  int64_t padded_ = kChunk;         // bytes per row of rows_ and of the quantized input
  std::vector<int8_t> rows_;        // the kernel's integers row by row, for the dot products
  std::vector<float> bias_, rowScale_;
  ActivationFn activation_;
  Dot4 dot4_ = dot4Scalar;
};

}  // namespace

std::unique_ptr<Kernel> makeInt8Dense(const OpDesc& op) { return std::make_unique<Int8Dense>(op); }

}  // namespace netdef
