#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/int8_gemm.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef {

ActivationFn ActivationFn::parse(const std::string& name, double alpha, double beta) {
  static const std::pair<const char*, Type> types[] = {
      {"relu", Type::kRelu}, {"sigmoid", Type::kSigmoid}, {"tanh", Type::kTanh}, {"leaky_relu", Type::kLeakyRelu},
      {"elu", Type::kElu}, {"selu", Type::kSelu}, {"softsign", Type::kSoftsign}, {"softplus", Type::kSoftplus},
      {"clip", Type::kClip}, {"hard_sigmoid", Type::kHardSigmoid}, {"scaled_tanh", Type::kScaledTanh},
      {"thresholded_relu", Type::kThresholdedRelu}, {"gelu_erf", Type::kGeluErf}, {"gelu_tanh", Type::kGeluTanh},
      {"mish", Type::kMish}, {"silu", Type::kSilu}, {"hardswish", Type::kHardSwish}};
  for (auto& [n, t] : types) {
    if (name == n) return ActivationFn{t, static_cast<float>(alpha), static_cast<float>(beta)};
  }
  throw PlanError("activation type '" + name + "' is not known");
}

ActivationFn ActivationFn::fused(const OpDesc& op) {
  ActivationFn fn;
  if (op.params.strings.count("activation")) {
    fn = parse(op.params.string(op.name, "activation"), op.params.number(op.name, "activationAlpha"), op.params.number(op.name, "activationBeta"));
  }
  if (op.params.strings.count("roundTo")) {
    const std::string& to = op.params.string(op.name, "roundTo");
    if (to == "float16") fn.round = Round::kFloat16;
    else if (to == "bfloat16") fn.round = Round::kBfloat16;
    else throw PlanError(op.name + ": cannot round to '" + to + "'");
  }
  if (op.params.has("outputScale")) {
    // Only the INT8 kernels finish through apply(); the float ones round in registers and know no grid.
    if (!op.params.has("inputScale")) throw PlanError(op.name + ": outputScale (an INT8 grid for the output) needs an INT8 layer (an inputScale)");
    if (fn.round != Round::kNone) throw PlanError(op.name + ": outputScale and roundTo both round the output");
    fn.grid = static_cast<float>(op.params.number(op.name, "outputScale"));
    if (!(fn.grid > 0) || !std::isfinite(fn.grid)) throw PlanError(op.name + ": outputScale must be a positive finite number, got " + std::to_string(fn.grid));
  }
  return fn;
}

// Bit arithmetic on the float's representation, so that loops over it vectorise.
float roundToBfloat16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  const uint32_t rounded = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;  // nearest even on the dropped 16 bits
  float r;
  std::memcpy(&r, &rounded, 4);
  return v != v ? v : r;
}

bool allBfloat16Values(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { uint32_t bits; std::memcpy(&bits, &v, 4); return (bits & 0xffffu) == 0; });
}

float roundToFloat16(float v) {
  const float a = std::fabs(v);
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  const uint32_t rounded = (bits + 0xfff + ((bits >> 13) & 1)) & 0xffffe000u;  // 10 mantissa bits, nearest even
  float normal;
  std::memcpy(&normal, &rounded, 4);
  const float subnormal = std::nearbyint(v * 16777216.0f) * (1.0f / 16777216.0f);  // below 2^-14: steps of 2^-24
  const float r = a < 6.103515625e-05f ? subnormal : normal;
  return !(a < 65520.0f) ? (v != v ? v : std::copysign(INFINITY, v)) : r;
}

namespace {

// The fused rounding of a stored reduced-precision activation, eight lanes at a time (the same bits as the scalar
// roundings: a call per value cost resnet18's bfloat16 Winograd layers a tenth of their time).
NETDEF_CLONES
void roundAll(ActivationFn::Round round, float* x, int64_t n) {
  if (round == ActivationFn::Round::kNone) return;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmath::store(x + i, vmath::round(round, vmath::load(x + i)));
  for (; i < n; i++) x[i] = round == ActivationFn::Round::kFloat16 ? roundToFloat16(x[i]) : roundToBfloat16(x[i]);
}

// quantizeToInt8 then the dequantizing product on each value: the bits of the quantize and dequantize layers.
NETDEF_CLONES
void roundToGrid(float scale, float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = quantizeToInt8(x[i], scale) * scale;
}

}  // namespace

namespace {

// V's values at x, loaded 8 at a time: the kernels stage a tile in 8-value stores, and a 16-value load of two of them
// cannot take its data from the store buffer (it waits for both to reach the cache: a third of the epilogue's time).
template <class V>
__attribute__((always_inline)) inline V loadHalves(const float* x) {
  Vec8 lo, hi;
  __builtin_memcpy(&lo, x, sizeof(Vec8));  // a fixed size: one load, not a memcpy call
  if constexpr (sizeof(V) == sizeof(Vec8)) return lo;
  else {
    __builtin_memcpy(&hi, x + 8, sizeof(Vec8));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
}

// activate<T> over n values in V-sized vectors, the activation a template argument: each vector's steps overlap the
// next one's (dispatched per vector, SiLU's exponential ran at its latency). The last partial vector goes through a
// zero-padded copy: every element takes the same polynomial, so a value's activation does not depend on where it
// falls in a buffer (fused epilogue tiles vs a whole tensor), nor on the vector width.
template <ActivationFn::Type T, class V>
__attribute__((always_inline)) inline void activateEach(float a, float b, float* x, int64_t n) {
  constexpr int64_t lanes = sizeof(V) / sizeof(float);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    V v = loadHalves<V>(x + i);
    v = vmath::activate(T, a, b, v);
    __builtin_memcpy(x + i, &v, sizeof(V));
  }
  if (i == n) return;
  V v = {};
  std::memcpy(&v, x + i, (n - i) * sizeof(float));
  v = vmath::activate(T, a, b, v);
  std::memcpy(x + i, &v, (n - i) * sizeof(float));
}

// The activations vmath::activate computes (vector_math.h); returns how many elements it handled:
// all of them for those activations, none for the others (left to the scalar loops). No lambdas here: one not
// inlined would be baseline code taking its vector argument by another convention than this clone passes it.
template <class V>
__attribute__((always_inline)) inline int64_t activateAll(ActivationFn::Type type, float a, float b, float* x, int64_t n) {
  using Type = ActivationFn::Type;
  switch (type) {
    case Type::kSigmoid: activateEach<Type::kSigmoid, V>(a, b, x, n); return n;
    case Type::kTanh: activateEach<Type::kTanh, V>(a, b, x, n); return n;
    case Type::kScaledTanh: activateEach<Type::kScaledTanh, V>(a, b, x, n); return n;
    case Type::kSoftplus: activateEach<Type::kSoftplus, V>(a, b, x, n); return n;
    case Type::kElu: activateEach<Type::kElu, V>(a, b, x, n); return n;
    case Type::kSelu: activateEach<Type::kSelu, V>(a, b, x, n); return n;
    case Type::kGeluTanh: activateEach<Type::kGeluTanh, V>(a, b, x, n); return n;
    case Type::kGeluErf: activateEach<Type::kGeluErf, V>(a, b, x, n); return n;
    case Type::kMish: activateEach<Type::kMish, V>(a, b, x, n); return n;
    case Type::kSilu: activateEach<Type::kSilu, V>(a, b, x, n); return n;
    case Type::kHardSwish: activateEach<Type::kHardSwish, V>(a, b, x, n); return n;
    // Branchless selects: the scalar leaky ReLU compiled to a branch per value, mispredicted on mixed signs (3.4 ms
    // for 800,000 values).
    case Type::kRelu: activateEach<Type::kRelu, V>(a, b, x, n); return n;
    case Type::kClip: activateEach<Type::kClip, V>(a, b, x, n); return n;
    case Type::kLeakyRelu: activateEach<Type::kLeakyRelu, V>(a, b, x, n); return n;
    default: return 0;
  }
}

NETDEF_CLONES
int64_t applyNarrow(ActivationFn::Type type, float a, float b, float* x, int64_t n) { return activateAll<Vec8>(type, a, b, x, n); }

#if defined(__x86_64__)
// 16 values a vector where the CPU has AVX-512: Zen 4 and 5 and Xeons compute them at the 8-value rate, so twice as fast.
NETDEF_WIDE int64_t applyWide(ActivationFn::Type type, float a, float b, float* x, int64_t n) { return activateAll<Vec16>(type, a, b, x, n); }
#endif

int64_t applyVectorised(ActivationFn::Type type, float a, float b, float* x, int64_t n) {
#if defined(__x86_64__)
  if (wideTiles()) return applyWide(type, a, b, x, n);
#endif
  return applyNarrow(type, a, b, x, n);
}

}  // namespace

void EpilogueActivation::apply(float* x, int64_t n) const {
  if (applyVectorised(type, alpha, beta, x, n) != n) ActivationFn{type, alpha, beta}.apply(x, n);
}

void ActivationFn::apply(float* x, int64_t n) const {
  applyActivation(x, n);
  if (round != Round::kNone) roundAll(round, x, n);
  if (grid > 0) roundToGrid(grid, x, n);
}

void ActivationFn::applyActivation(float* x, int64_t n) const {
  // The exp family, GELU and Mish: applyVectorised computed every element (vmath::activate). The rest here.
  if (applyVectorised(type, alpha, beta, x, n) == n) return;
  const float a = alpha, b = beta;
  switch (type) {
    case Type::kRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? 0.0f : x[i]; return;  // NaN stays NaN, as in PyTorch
    case Type::kLeakyRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : a * x[i]; return;
    case Type::kSoftsign: for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + std::fabs(x[i])); return;
    case Type::kClip: for (int64_t i = 0; i < n; i++) x[i] = std::min(std::max(x[i], a), b); return;
    case Type::kHardSigmoid: for (int64_t i = 0; i < n; i++) x[i] = std::max(0.0f, std::min(1.0f, a * x[i] + b)); return;
    case Type::kThresholdedRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] > a ? x[i] : 0.0f; return;
    default: return;  // none
  }
}

}  // namespace netdef
