#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/pointwise_ops.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

namespace {

float roundHalfEven(float v) { return std::nearbyint(v); }  // the default rounding mode is to nearest, ties to even

class Unary : public Kernel {
 public:
  explicit Unary(const OpDesc& op)
      : Kernel(op), fn_(unaryFunction(op.params.string(op.name, "op"))), vector_(vectorUnary(op.params.string(op.name, "op"))),
        integerFn_(integerLookup(op.params.string(op.name, "op"))) {
    if (!fn_) bad("unary op '" + op.params.string(op.name, "op") + "'");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override { return {in.at(0)}; }
  bool computesIntegers() const override { return integerFn_ != nullptr; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = volume(in[0]->shape);
    if (isInteger(in[0]->storage)) {
      const int64_t* x = in[0]->integers();
      int64_t* y = out[0]->integers();
      const Storage storage = out[0]->storage;
      parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) y[i] = wrapInteger(integerFn_(x[i]), storage); }, n > 65536);
      return;
    }
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { applyUnary(vector_, fn_, x + begin, y + begin, end - begin); }, n > 65536);
  }

 private:
  // The ops defined on integers (in wrapping arithmetic: |INT_MIN| and −INT_MIN are INT_MIN, as in C++ and PyTorch).
  static int64_t (*integerLookup(const std::string& op))(int64_t) {
    if (op == "abs") return [](int64_t v) { return v < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(v)) : v; };
    if (op == "neg") return [](int64_t v) { return static_cast<int64_t>(0 - static_cast<uint64_t>(v)); };
    if (op == "sign") return [](int64_t v) { return static_cast<int64_t>((v > 0) - (v < 0)); };
    return nullptr;
  }
  float (*fn_)(float);
  VectorUnary vector_;
  int64_t (*integerFn_)(int64_t);
};

// exp or erf over n values by vectors of V, the last partial one through a zero-padded copy (every value takes the
// same polynomial, wherever it falls, and 8 or 16 lanes give the same bits).
template <VectorUnary Op, class V>
__attribute__((always_inline)) inline V polynomial(V v) {
  if constexpr (Op == VectorUnary::kExp) return vmath::exp(v);
  else return vmath::erf(v);
}
template <VectorUnary Op, class V>
__attribute__((always_inline)) inline void polynomialEach(const float* x, float* y, int64_t n) {
  constexpr int64_t lanes = sizeof(V) / sizeof(float);
  int64_t i = 0;
  V v;
  for (; i + lanes <= n; i += lanes) {
    __builtin_memcpy(&v, x + i, sizeof(V));
    v = polynomial<Op, V>(v);
    __builtin_memcpy(y + i, &v, sizeof(V));
  }
  if (i == n) return;
  v = V{};
  std::memcpy(&v, x + i, (n - i) * sizeof(float));
  v = polynomial<Op, V>(v);
  std::memcpy(y + i, &v, (n - i) * sizeof(float));
}

#if defined(__x86_64__)
// 16 lanes where the CPU has AVX-512 (twice the values an instruction).
NETDEF_WIDE void polynomialWide(VectorUnary op, const float* x, float* y, int64_t n) {
  if (op == VectorUnary::kExp) polynomialEach<VectorUnary::kExp, Vec16>(x, y, n);
  else polynomialEach<VectorUnary::kErf, Vec16>(x, y, n);
}
#endif

NETDEF_CLONES
void applyVector(VectorUnary op, const float* x, float* y, int64_t n) {
  switch (op) {
    case VectorUnary::kExp: polynomialEach<VectorUnary::kExp, Vec8>(x, y, n); return;
    case VectorUnary::kErf: polynomialEach<VectorUnary::kErf, Vec8>(x, y, n); return;
    case VectorUnary::kSqrt: for (int64_t i = 0; i < n; i++) y[i] = std::sqrt(x[i]); return;
    case VectorUnary::kAbs: for (int64_t i = 0; i < n; i++) y[i] = std::fabs(x[i]); return;
    case VectorUnary::kNeg: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; return;
    case VectorUnary::kRecip: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; return;
    case VectorUnary::kFloor: for (int64_t i = 0; i < n; i++) y[i] = std::floor(x[i]); return;
    case VectorUnary::kCeil: for (int64_t i = 0; i < n; i++) y[i] = std::ceil(x[i]); return;
    case VectorUnary::kNone: return;
  }
}

}  // namespace

VectorUnary vectorUnary(const std::string& op) {
  static const std::pair<const char*, VectorUnary> ops[] = {
      {"exp", VectorUnary::kExp}, {"erf", VectorUnary::kErf}, {"sqrt", VectorUnary::kSqrt}, {"abs", VectorUnary::kAbs},
      {"neg", VectorUnary::kNeg}, {"recip", VectorUnary::kRecip}, {"floor", VectorUnary::kFloor}, {"ceil", VectorUnary::kCeil}};
  for (auto& [n, v] : ops) if (op == n) return v;
  return VectorUnary::kNone;
}

void applyUnary(VectorUnary vector, UnaryFn fn, const float* x, float* y, int64_t n) {
#if defined(__x86_64__)
  if ((vector == VectorUnary::kExp || vector == VectorUnary::kErf) && wideTiles()) return polynomialWide(vector, x, y, n);
#endif
  if (vector != VectorUnary::kNone) return applyVector(vector, x, y, n);
  for (int64_t i = 0; i < n; i++) y[i] = fn(x[i]);
}

std::unique_ptr<Kernel> makeUnary(const OpDesc& op) { return std::make_unique<Unary>(op); }

UnaryFn unaryFunction(const std::string& op) {
  static const std::pair<const char*, float (*)(float)> ops[] = {
      {"exp", [](float v) { return std::exp(v); }}, {"log", [](float v) { return std::log(v); }},
      {"sqrt", [](float v) { return std::sqrt(v); }}, {"recip", [](float v) { return 1.0f / v; }},
      {"abs", [](float v) { return std::fabs(v); }}, {"neg", [](float v) { return -v; }},
      {"sin", [](float v) { return std::sin(v); }}, {"cos", [](float v) { return std::cos(v); }},
      {"tan", [](float v) { return std::tan(v); }}, {"sinh", [](float v) { return std::sinh(v); }},
      {"cosh", [](float v) { return std::cosh(v); }}, {"asin", [](float v) { return std::asin(v); }},
      {"acos", [](float v) { return std::acos(v); }}, {"atan", [](float v) { return std::atan(v); }},
      {"asinh", [](float v) { return std::asinh(v); }}, {"acosh", [](float v) { return std::acosh(v); }},
      {"atanh", [](float v) { return std::atanh(v); }}, {"ceil", [](float v) { return std::ceil(v); }},
      {"floor", [](float v) { return std::floor(v); }}, {"erf", [](float v) { return std::erf(v); }},
      {"not", [](float v) { return v != 0 ? 0.0f : 1.0f; }},
      {"sign", [](float v) { return v > 0 ? 1.0f : v < 0 ? -1.0f : v; }},
      {"round", roundHalfEven},
      {"isinf", [](float v) { return std::isinf(v) ? 1.0f : 0.0f; }},
      {"isnan", [](float v) { return std::isnan(v) ? 1.0f : 0.0f; }}};
  for (auto& [n, f] : ops) if (op == n) return f;
  return nullptr;
}

}  // namespace netdef
