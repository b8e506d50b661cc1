#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Dense layer: y[N, O] = x[N, K] · W[O, K]ᵀ + b.
class FullyConnected : public Kernel {
 public:
  explicit FullyConnected(const OpDesc& op)
      : Kernel(op), out_(op.params.integer(op.name, "outFeatures")), in_(op.params.integer(op.name, "inFeatures")),
        weight_(op.weight("kernel")) {
    if (static_cast<int64_t>(weight_.size()) != out_ * in_) bad("kernel has " + std::to_string(weight_.size()) + " values");
    bias_ = optionalBias(op, out_);
    activation_ = ActivationFn::fused(op);
    compactWeights();
    packPanels();
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    std::string problem;
    Shape out = denseOutput(in.at(0), in_, out_, problem);
    if (!problem.empty()) fail(problem);
    return {out};
  }
  // Reads 16-bit storage (widening the input once); its outputs are float32.
  bool takes16BitStorage() const override { return true; }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = in[0]->shape[0];
    static thread_local Floats widened;
    const float* x = floatValues(*in[0], widened);
    float* y = out[0]->data.data();
    if (!bias_.empty()) {
      for (int64_t i = 0; i < n; i++) std::memcpy(y + i * out_, bias_.data(), out_ * sizeof(float));
    }
#if defined(__x86_64__)
    if (!weight16_.empty() && n <= 2) {
      gemvRows16(n, out_, in_, x, in_, weight16_.data(), bfloat16_, y, out_, !bias_.empty());
      activation_.apply(y, n * out_);
      return;
    }
#endif
    if (n <= kGemvRows || panels_.empty()) {
      sgemm(n, out_, in_, x, in_, weight_.data(), in_, true, y, out_, !bias_.empty());
      activation_.apply(y, n * out_);
      return;
    }
    // The weights' panels as prepacked, the activation applied to each tile as it is finished.
    GemmEpilogue epilogue;
    epilogue.activation = activation_;
    sgemmPackedB(n, out_, in_, x, in_, [&](int64_t k0, int64_t, int64_t j0, int64_t, float*) { return panels_.data() + (j0 / kGemmPanel * in_ + k0) * kGemmPanel; },
                 y, out_, !bias_.empty(), 256, nullptr, &epilogue);
  }

 private:
  // Weights that are all exactly bfloat16 or float16 values (a reduced-precision network's) are also kept in that
  // type for batch 1 and 2, where a dense layer is bound by reading them; F16C converts them back on the fly. The
  // conversion is exact, so results do not change.
  void compactWeights() {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c") || weight_.empty()) return;
    if (allBfloat16Values(weight_)) {
      bfloat16_ = true;
      for (float v : weight_) { uint32_t bits; std::memcpy(&bits, &v, 4); weight16_.push_back(static_cast<uint16_t>(bits >> 16)); }
      return;
    }
    if (!std::all_of(weight_.begin(), weight_.end(), [](float v) { return std::isfinite(v) && roundToFloat16(v) == v; })) return;
    for (float v : weight_) weight16_.push_back(toHalfBits(v, Storage::kFloat16));
#endif
  }

  // Wᵀ in the GEMM's panels of B (16 output features, all of K, k-major; zero past the last feature), packed once:
  // packing them on every run took a transformer's dense layers a fifth of their time. Up to 64 MiB of weights (a
  // second copy: the matrix-vector path of small batches reads the rows as they are); larger layers pack per run.
  void packPanels() {
    if (out_ * in_ > (int64_t{16} << 20)) return;
    const int64_t panels = (out_ + kGemmPanel - 1) / kGemmPanel;
    panels_.assign(static_cast<size_t>(panels * in_ * kGemmPanel), 0.0f);
    for (int64_t o = 0; o < out_; o++)
      for (int64_t k = 0; k < in_; k++) panels_[static_cast<size_t>(((o / kGemmPanel) * in_ + k) * kGemmPanel + o % kGemmPanel)] = weight_[static_cast<size_t>(o * in_ + k)];
  }

  int64_t out_, in_;
  std::vector<float> weight_, bias_, panels_;
  std::vector<uint16_t> weight16_;  // the 16-bit copy, when exact
  bool bfloat16_ = false;
  ActivationFn activation_;
};

}  // namespace

std::unique_ptr<Kernel> makeFullyConnected(const OpDesc& op) {
  if (op.params.has("inputScale")) return makeInt8Dense(op);
  return std::make_unique<FullyConnected>(op);
}

}  // namespace netdef
