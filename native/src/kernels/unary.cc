#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

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

// exp or erf over n values by 8-value vectors, the last partial one through a zero-padded copy (every value takes the
// same polynomial, wherever it falls).
template <VectorUnary Op>
__attribute__((always_inline)) inline void polynomialEach(const float* x, float* y, int64_t n) {
  auto f = [](Vec8 v) { return Op == VectorUnary::kExp ? vmath::exp(v) : vmath::erf(v); };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmath::store(y + i, f(vmath::load(x + i)));
  if (i == n) return;
  Vec8 v = {};
  std::memcpy(&v, x + i, (n - i) * sizeof(float));
  v = f(v);
  std::memcpy(y + i, &v, (n - i) * sizeof(float));
}

NETDEF_CLONES
void applyVector(VectorUnary op, const float* x, float* y, int64_t n) {
  switch (op) {
    case VectorUnary::kExp: polynomialEach<VectorUnary::kExp>(x, y, n); return;
    case VectorUnary::kErf: polynomialEach<VectorUnary::kErf>(x, y, n); return;
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
