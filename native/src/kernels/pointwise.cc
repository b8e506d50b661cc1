#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "kernels/vector_math.h"
#include "thread_pool.h"

namespace netdef {

ActivationFn ActivationFn::parse(const std::string& name, double alpha, double beta) {
  static const std::pair<const char*, Type> types[] = {
      {"relu", Type::kRelu}, {"sigmoid", Type::kSigmoid}, {"tanh", Type::kTanh}, {"leaky_relu", Type::kLeakyRelu},
      {"elu", Type::kElu}, {"selu", Type::kSelu}, {"softsign", Type::kSoftsign}, {"softplus", Type::kSoftplus},
      {"clip", Type::kClip}, {"hard_sigmoid", Type::kHardSigmoid}, {"scaled_tanh", Type::kScaledTanh},
      {"thresholded_relu", Type::kThresholdedRelu}, {"gelu_erf", Type::kGeluErf}, {"gelu_tanh", Type::kGeluTanh},
      {"mish", Type::kMish}};  // mish: the builder's fusion of softplus → tanh → product with the input
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

}  // namespace

std::vector<float> optionalBias(const OpDesc& op, int64_t channels) {
  if (!op.hasWeight("bias")) return {};
  const std::vector<float>& bias = op.weight("bias");
  if (static_cast<int64_t>(bias.size()) != channels) throw PlanError(op.name + " (" + op.kind + "): bias has " + std::to_string(bias.size()) + " values for " + std::to_string(channels) + " outputs");
  return bias;
}

namespace {

// The activations built on exp, eight elements at a time (vector_math.h); returns how many elements it handled:
// all of them for those activations, none for the others (left to the scalar loop). No lambdas here: one not
// inlined would be baseline code taking its vector argument by another convention than this AVX clone passes it.
NETDEF_CLONES
int64_t applyVectorised(ActivationFn::Type type, float a, float b, float* x, int64_t n) {
  using Type = ActivationFn::Type;
  // ReLU, clip and leaky ReLU: the scalar loops below vectorise as they are.
  if (!vmath::vectorised(type) || type == Type::kRelu || type == Type::kClip || type == Type::kLeakyRelu) return 0;
  for (int64_t i = 0; i < n; i += 8) {
    // The last partial vector goes through a zero-padded copy: every element takes the same polynomial, so a
    // value's activation does not depend on where it falls in a buffer (fused epilogue rows vs a whole tensor).
    const int64_t count = std::min<int64_t>(8, n - i);
    Vec8 v = {};
    if (count == 8) __builtin_memcpy(&v, x + i, sizeof(Vec8));  // a fixed size: one load, not a memcpy call
    else std::memcpy(&v, x + i, count * sizeof(float));
    v = vmath::activate(type, a, b, v);
    if (count == 8) __builtin_memcpy(x + i, &v, sizeof(Vec8));
    else std::memcpy(x + i, &v, count * sizeof(float));
  }
  return n;
}

}  // namespace

void ActivationFn::apply(float* x, int64_t n) const {
  applyActivation(x, n);
  if (round != Round::kNone) roundAll(round, x, n);
}

void ActivationFn::applyActivation(float* x, int64_t n) const {
  // The exp family and Mish: applyVectorised computed every element (vmath::activate). The rest here.
  if (applyVectorised(type, alpha, beta, x, n) == n) return;
  const float a = alpha, b = beta;
  switch (type) {
    case Type::kRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? 0.0f : x[i]; return;  // NaN stays NaN, as in PyTorch
    case Type::kLeakyRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : a * x[i]; return;
    case Type::kSoftsign: for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + std::fabs(x[i])); return;
    case Type::kClip: for (int64_t i = 0; i < n; i++) x[i] = std::min(std::max(x[i], a), b); return;
    case Type::kHardSigmoid: for (int64_t i = 0; i < n; i++) x[i] = std::max(0.0f, std::min(1.0f, a * x[i] + b)); return;
    case Type::kThresholdedRelu: for (int64_t i = 0; i < n; i++) x[i] = x[i] > a ? x[i] : 0.0f; return;
    case Type::kGeluErf: for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f)); return;
    default: return;  // none
  }
}

namespace {

// Broadcast shape of several shapes (numpy rules), or an ExecutionError from the kernel.
Shape broadcast(const std::vector<Shape>& shapes, const std::function<void(const std::string&)>& fail) {
  size_t rank = 0;
  for (auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (auto& s : shapes) {
    for (size_t i = 0; i < s.size(); i++) {
      int64_t& o = out[rank - s.size() + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o == 1) o = s[i];
      else {
        std::string all;
        for (auto& t : shapes) all += formatShape(t) + " ";
        fail("shapes do not broadcast: " + all);
      }
    }
  }
  return out;
}

// Element offsets into an input of shape `in` for each output element of shape `out` (broadcast source indices).
void broadcastOffsets(const Shape& in, const Shape& out, std::vector<int64_t>& offsets) {
  const size_t rank = out.size();
  Shape padded(rank - in.size(), 1);
  padded.insert(padded.end(), in.begin(), in.end());
  auto st = stridesOf(padded);
  for (size_t i = 0; i < rank; i++) if (padded[i] == 1) st[i] = 0;
  const int64_t total = volume(out);
  offsets.resize(total);
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t e = 0; e < total; e++) {
    offsets[e] = off;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < out[d]) break;
      off -= st[d] * out[d];
      idx[d] = 0;
    }
  }
}

class Activation : public Kernel {
 public:
  explicit Activation(const OpDesc& op)
      : Kernel(op), fn_(ActivationFn::parse(op.params.string(op.name, "type"), op.params.number(op.name, "alpha"), op.params.number(op.name, "beta"))) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override { return {in.at(0)}; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    out[0]->data = in[0]->data;
    // Transcendental activations cost tens of ns an element: split large tensors into chunks across the cores.
    const int64_t n = static_cast<int64_t>(out[0]->data.size()), chunk = 8192;
    float* y = out[0]->data.data();
    parallelFor((n + chunk - 1) / chunk, [&](int64_t c) { const int64_t start = c * chunk; fn_.apply(y + start, std::min(chunk, n - start)); }, n > 2 * chunk);
  }

 private:
  ActivationFn fn_;
};

float roundHalfEven(float v) { return std::nearbyint(v); }  // the default rounding mode is to nearest, ties to even

class Unary : public Kernel {
 public:
  explicit Unary(const OpDesc& op)
      : Kernel(op), fn_(lookup(op.params.string(op.name, "op"))), integerFn_(integerLookup(op.params.string(op.name, "op"))) {
    if (!fn_) bad("unary op '" + op.params.string(op.name, "op") + "'");
  }
  static float (*lookup(const std::string& op))(float) {
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
    parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) y[i] = fn_(x[i]); }, n > 65536);
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
  int64_t (*integerFn_)(int64_t);
};

// Binary ops and the ternary select share the broadcasting walk.
class Broadcasting : public Kernel {
 public:
  using Kernel::Kernel;
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    return {broadcast(in, [this](const std::string& m) { fail(m); })};
  }
};

class ElementWise : public Broadcasting {
 public:
  explicit ElementWise(const OpDesc& op) : Broadcasting(op), fn_(lookup(op.params.string(op.name, "op"))) {
    if (!fn_) bad("element-wise op '" + op.params.string(op.name, "op") + "'");
    integerLookup(op.params.string(op.name, "op"));
  }
  // Integer arithmetic wraps (computed in unsigned 64 bits, then wrapped to the output's width). Division truncates
  // toward zero (C++, onnxruntime; TensorRT's kDIV on integers), floor_div rounds down (PyTorch's //); a division by
  // zero gives 0 rather than a crash. pow by squaring; a negative exponent gives 1/aⁿ truncated (0 unless |a| is 1).
  void integerLookup(const std::string& op) {
    using U = uint64_t;
    static const std::pair<const char*, int64_t (*)(int64_t, int64_t)> arithmetic[] = {
        {"sum", [](int64_t a, int64_t b) { return static_cast<int64_t>(U(a) + U(b)); }},
        {"sub", [](int64_t a, int64_t b) { return static_cast<int64_t>(U(a) - U(b)); }},
        {"prod", [](int64_t a, int64_t b) { return static_cast<int64_t>(U(a) * U(b)); }},
        {"max", [](int64_t a, int64_t b) { return std::max(a, b); }}, {"min", [](int64_t a, int64_t b) { return std::min(a, b); }},
        {"div", [](int64_t a, int64_t b) { return b == 0 ? 0 : b == -1 ? static_cast<int64_t>(0 - U(a)) : a / b; }},
        {"floor_div", [](int64_t a, int64_t b) {
           if (b == 0) return int64_t{0};
           if (b == -1) return static_cast<int64_t>(0 - U(a));
           const int64_t q = a / b;
           return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
         }},
        {"pow", [](int64_t a, int64_t b) {
           if (b < 0) return a == 1 ? int64_t{1} : a == -1 ? (b % 2 ? int64_t{-1} : int64_t{1}) : int64_t{0};
           U result = 1, base = U(a);
           for (U e = U(b); e; e >>= 1, base *= base) if (e & 1) result *= base;
           return static_cast<int64_t>(result);
         }}};
    static const std::pair<const char*, float (*)(int64_t, int64_t)> comparisons[] = {
        {"equal", [](int64_t a, int64_t b) { return a == b ? 1.0f : 0.0f; }},
        {"greater", [](int64_t a, int64_t b) { return a > b ? 1.0f : 0.0f; }},
        {"less", [](int64_t a, int64_t b) { return a < b ? 1.0f : 0.0f; }}};
    for (auto& [n, f] : arithmetic) if (op == n) integerFn_ = f;
    for (auto& [n, f] : comparisons) if (op == n) integerComparison_ = f;
  }
  static float (*lookup(const std::string& op))(float, float) {
    static const std::pair<const char*, float (*)(float, float)> ops[] = {
        {"sum", [](float a, float b) { return a + b; }}, {"prod", [](float a, float b) { return a * b; }},
        {"max", [](float a, float b) { return std::isnan(a) || a > b ? a : b; }},
        {"min", [](float a, float b) { return std::isnan(a) || a < b ? a : b; }},
        {"sub", [](float a, float b) { return a - b; }}, {"div", [](float a, float b) { return a / b; }},
        {"pow", [](float a, float b) { return std::pow(a, b); }},
        {"floor_div", [](float a, float b) { return std::floor(a / b); }},
        {"and", [](float a, float b) { return (a != 0 && b != 0) ? 1.0f : 0.0f; }},
        {"or", [](float a, float b) { return (a != 0 || b != 0) ? 1.0f : 0.0f; }},
        {"xor", [](float a, float b) { return ((a != 0) != (b != 0)) ? 1.0f : 0.0f; }},
        {"equal", [](float a, float b) { return a == b ? 1.0f : 0.0f; }},
        {"greater", [](float a, float b) { return a > b ? 1.0f : 0.0f; }},
        {"less", [](float a, float b) { return a < b ? 1.0f : 0.0f; }}};
    for (auto& [n, f] : ops) if (op == n) return f;
    return nullptr;
  }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Buffer &a = *in[0], &b = *in[1];
    if (isInteger(a.storage) != isInteger(b.storage)) fail("inputs of integer and floating-point types");
    if (!isInteger(a.storage)) return combine<float>(a, b, valuesAs<float>(*out[0]), fn_);
    const Storage storage = out[0]->storage;
    if (isInteger(storage) && integerFn_) {
      const auto fn = integerFn_;
      combine<int64_t>(a, b, out[0]->integers(), [fn, storage](int64_t x, int64_t y) { return wrapInteger(fn(x, y), storage); });
    } else if (!isInteger(storage) && integerComparison_) {
      combine<int64_t>(a, b, valuesAs<float>(*out[0]), integerComparison_);
    } else {
      fail("this op is not defined on integers");
    }
  }

 private:
  template <class T, class Y, class Fn>
  void combine(const Buffer& x0, const Buffer& x1, Y* y, Fn fn) const {
    const T* a = valuesAs<T>(x0);
    const T* b = valuesAs<T>(x1);
    const Shape out = broadcast({x0.shape, x1.shape}, [this](const std::string& m) { fail(m); });
    const int64_t n = volume(out);
    if (x0.shape == x1.shape) {
      parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) y[i] = fn(a[i], b[i]); }, n > 65536);
      return;
    }
    std::vector<int64_t> oa, ob;
    broadcastOffsets(x0.shape, out, oa);
    broadcastOffsets(x1.shape, out, ob);
    parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) y[i] = fn(a[oa[i]], b[ob[i]]); }, n > 65536);
  }

  float (*fn_)(float, float);
  int64_t (*integerFn_)(int64_t, int64_t) = nullptr;      // arithmetic on integers
  float (*integerComparison_)(int64_t, int64_t) = nullptr;  // comparisons of integers, giving bool
};

class Select : public Broadcasting {
 public:
  using Broadcasting::Broadcasting;
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    std::vector<int64_t> oc, oa, ob;
    broadcastOffsets(in[0]->shape, out[0]->shape, oc);
    broadcastOffsets(in[1]->shape, out[0]->shape, oa);
    broadcastOffsets(in[2]->shape, out[0]->shape, ob);
    if (isInteger(out[0]->storage)) choose<int64_t>(in, *out[0], oc, oa, ob);
    else choose<float>(in, *out[0], oc, oa, ob);
  }
  bool computesIntegers() const override { return true; }

 private:
  template <class T>
  static void choose(const std::vector<const Buffer*>& in, Buffer& out, const std::vector<int64_t>& oc, const std::vector<int64_t>& oa, const std::vector<int64_t>& ob) {
    const float* condition = in[0]->data.data();
    const T *a = valuesAs<T>(*in[1]), *b = valuesAs<T>(*in[2]);
    T* y = valuesAs<T>(out);
    for (size_t i = 0; i < oc.size(); i++) y[i] = condition[oc[i]] != 0 ? a[oa[i]] : b[ob[i]];
  }
};

// (x · scale + shift) ^ power, per tensor, channel (on channelAxis) or element (per item of the batch).
class Scale : public Kernel {
 public:
  explicit Scale(const OpDesc& op)
      : Kernel(op), mode_(op.params.string(op.name, "mode")), axis_(op.params.integer(op.name, "channelAxis")) {
    for (const char* role : {"shift", "scale", "power"}) if (op.hasWeight(role)) values_[role] = op.weight(role);
    if (mode_ != "uniform" && mode_ != "channel" && mode_ != "elementwise") bad("scale mode '" + mode_ + "'");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    const int64_t need = mode_ == "uniform" ? 1 : mode_ == "channel" ? (axis_ < static_cast<int64_t>(s.size()) ? s[axis_] : -1) : volume(s) / std::max<int64_t>(1, s.empty() ? 1 : s[0]);
    for (auto& [role, v] : values_) {
      if (static_cast<int64_t>(v.size()) != need) fail(role + " has " + std::to_string(v.size()) + " values; input " + formatShape(s) + " in " + mode_ + " mode needs " + std::to_string(need));
    }
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    const int64_t n = volume(s);
    int64_t inner = 1, extent = 1;
    if (mode_ == "channel") {
      extent = s[axis_];
      for (size_t i = axis_ + 1; i < s.size(); i++) inner *= s[i];
    } else if (mode_ == "elementwise") {
      extent = n / std::max<int64_t>(1, s[0]);
    }
    const auto find = [this](const char* role) { auto it = values_.find(role); return it == values_.end() ? nullptr : it->second.data(); };
    const float *sc = find("scale"), *sh = find("shift"), *pw = find("power");
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    const bool uniform = mode_ == "uniform", channel = mode_ == "channel";  // decided once, not per element
    parallelRanges(n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const int64_t c = uniform ? 0 : channel ? (i / inner) % extent : i % extent;
        float v = x[i];
        if (sc) v *= sc[c];
        if (sh) v += sh[c];
        if (pw) v = std::pow(v, pw[c]);
        y[i] = v;
      }
    }, n > 65536);
  }

 private:
  std::string mode_;
  int64_t axis_;
  std::map<std::string, std::vector<float>> values_;
};

class ParametricReLU : public Kernel {
 public:
  explicit ParametricReLU(const OpDesc& op) : Kernel(op), slope_(op.weight("slope")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (slope_.size() != 1 && (s.size() < 2 || static_cast<int64_t>(slope_.size()) != s[1])) fail(std::to_string(slope_.size()) + " slopes do not fit input " + formatShape(s));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    int64_t inner = 1;
    for (size_t i = 2; i < s.size(); i++) inner *= s[i];
    const int64_t channels = s.size() > 1 ? s[1] : 1;
    for (size_t i = 0; i < in[0]->data.size(); i++) {
      const float v = in[0]->data[i];
      const float a = slope_.size() == 1 ? slope_[0] : slope_[(i / inner) % channels];
      out[0]->data[i] = v >= 0 ? v : a * v;
    }
  }

 private:
  std::vector<float> slope_;
};

// Conversions: to integer types truncate toward zero; floats out of the target's range saturate (NaN gives 0),
// integers wrap to the target's width as C++ and PyTorch do; to bool, nonzero is true.
class Cast : public Kernel {
 public:
  explicit Cast(const OpDesc& op) : Kernel(op), to_(op.params.string(op.name, "to")), convert_(converter(to_)) {
    if (!convert_ && to_ != "int32" && to_ != "int64") bad("cast to '" + to_ + "'");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override { return {in.at(0)}; }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Buffer& x = *in[0];
    Buffer& y = *out[0];
    const int64_t n = volume(x.shape);
    const Storage to = y.storage;
    auto each = [n](auto&& convert) {
      parallelRanges(n, 16384, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) convert(i); }, n > 65536);
    };
    if (isInteger(x.storage) && isInteger(to)) {
      each([&](int64_t i) { y.integers()[i] = wrapInteger(x.integers()[i], to); });
    } else if (isInteger(to)) {
      const double low = to == Storage::kInt32 ? -2147483648.0 : -9223372036854775808.0, high = -low;
      each([&](int64_t i) {
        const double v = std::trunc(static_cast<double>(x.data[i]));
        y.integers()[i] = v != v ? 0 : v <= low ? static_cast<int64_t>(low) : v >= high ? (to == Storage::kInt32 ? INT32_MAX : INT64_MAX) : static_cast<int64_t>(v);
      });
    } else if (isInteger(x.storage)) {
      const std::string& type = to_;
      if (type == "int8") each([&](int64_t i) { y.data[i] = static_cast<float>(static_cast<int8_t>(static_cast<uint8_t>(x.integers()[i]))); });
      else if (type == "uint8") each([&](int64_t i) { y.data[i] = static_cast<float>(static_cast<uint8_t>(x.integers()[i])); });
      else each([&](int64_t i) { y.data[i] = convert_(static_cast<float>(x.integers()[i])); });
    } else {
      each([&](int64_t i) { y.data[i] = convert_(x.data[i]); });
    }
  }
  // Chosen once per layer: the conversion of a float runs per element.
  static float (*converter(const std::string& to))(float) {
    if (to == "bool") return [](float v) { return v != 0 ? 1.0f : 0.0f; };
    if (to == "int8") return [](float v) { return std::isnan(v) ? 0.0f : std::trunc(std::min(127.0f, std::max(-128.0f, v))); };
    if (to == "uint8") return [](float v) { return std::isnan(v) ? 0.0f : std::trunc(std::min(255.0f, std::max(0.0f, v))); };
    if (to == "float16") return roundToFloat16;
    if (to == "bfloat16") return roundToBfloat16;
    if (to == "float32") return [](float v) { return v; };
    return nullptr;
  }

 private:
  std::string to_;
  float (*convert_)(float);
};

// Q/DQ with a per-tensor or per-channel scale.

class QuantizeBase : public Kernel {
 public:
  QuantizeBase(const OpDesc& op, bool quantize)
      : Kernel(op), quantize_(quantize), scale_(op.weight("scale")), axis_(op.params.has("axis") ? op.params.integer(op.name, "axis") : -1) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    const int64_t need = axis_ < 0 ? 1 : (axis_ < static_cast<int64_t>(s.size()) ? s[axis_] : -1);
    if (static_cast<int64_t>(scale_.size()) != need) fail(std::to_string(scale_.size()) + " scales do not fit input " + formatShape(s));
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    int64_t inner = 1;
    if (axis_ >= 0) for (size_t i = axis_ + 1; i < s.size(); i++) inner *= s[i];
    const int64_t extent = axis_ >= 0 ? s[axis_] : 1;
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    parallelRanges(static_cast<int64_t>(in[0]->data.size()), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const float sc = scale_[axis_ < 0 ? 0 : (i / inner) % extent];
        y[i] = quantize_ ? quantizeToInt8(x[i], sc) : x[i] * sc;
      }
    }, in[0]->data.size() > 65536);
  }

 private:
  bool quantize_;
  std::vector<float> scale_;
  int64_t axis_;
};

class Identity : public Kernel {
 public:
  using Kernel::Kernel;
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override { return {in.at(0)}; }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (in[0]->storage != out[0]->storage) fail("input and output types differ");
    out[0]->data = in[0]->data;
  }
};

// A chain of element-wise layers fused by the builder: steps "activation:<type>", "unary:<op>", "cast:<dtype>" and
// "elementWise:<op>:valueLeft|valueRight" (the next extra input on the other side), separated by '|'. Each chunk of
// elements goes through every step while in L1, so the chain costs one pass over memory.
class PointwiseChain : public Kernel {
 public:
  explicit PointwiseChain(const OpDesc& op) : Kernel(op) {
    const std::string& text = op.params.string(op.name, "steps");
    const std::vector<double>& alpha = op.params.list(op.name, "alpha");
    const std::vector<double>& beta = op.params.list(op.name, "beta");
    size_t operand = 1;
    for (size_t start = 0; start <= text.size();) {
      const size_t end = std::min(text.find('|', start), text.size());
      const std::vector<std::string> parts = split(text.substr(start, end - start));
      const size_t index = steps_.size();
      if (index >= alpha.size() || index >= beta.size()) bad("fewer alpha/beta values than steps");
      Step step;
      if (parts.size() == 2 && parts[0] == "activation") {
        step.activation = ActivationFn::parse(parts[1], alpha[index], beta[index]);
      } else if (parts.size() == 2 && parts[0] == "unary") {
        step.unary = Unary::lookup(parts[1]);
      } else if (parts.size() == 2 && parts[0] == "cast") {
        step.unary = Cast::converter(parts[1]);
        step.castTo = parts[1];
      } else if (parts.size() == 1 && (parts[0] == "quantize" || parts[0] == "dequantize")) {
        step.scale = static_cast<float>(alpha[index]);
        step.quantize = parts[0] == "quantize";
        step.dequantize = !step.quantize;
      } else if (parts.size() == 3 && parts[0] == "elementWise" && (parts[2] == "valueLeft" || parts[2] == "valueRight")) {
        step.binary = ElementWise::lookup(parts[1]);
        step.arithmetic = parts[1] == "sum" ? '+' : parts[1] == "prod" ? '*' : parts[1] == "sub" ? '-' : 0;
        step.valueLeft = parts[2] == "valueLeft";
        step.operand = operand++;
      } else {
        bad("chain step '" + text.substr(start, end - start) + "'");
      }
      if (parts[0] != "activation" && !step.unary && !step.binary && !step.quantize && !step.dequantize) bad("chain step '" + text.substr(start, end - start) + "'");
      steps_.push_back(step);
      start = end + 1;
    }
    if (operand != op.inputs.size()) bad("the chain's steps use " + std::to_string(operand) + " inputs, the layer has " + std::to_string(op.inputs.size()));
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    for (size_t i = 1; i < in.size(); i++) {
      if (in[i] != in[0]) fail("input " + std::to_string(i) + " has shape " + formatShape(in[i]) + ", the chain's value " + formatShape(in[0]));
    }
    return {in.at(0)};
  }
  // Reads and writes 16-bit storage, chunk by chunk through float32; its output is of the 16-bit type a chain ends
  // by rounding to (the builder's round trips: cast to bfloat16 or float16, then to float32).
  bool takes16BitStorage() const override { return true; }
  Storage writes16BitValues() const override {
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
      if (step->castTo == "float32") continue;
      return step->castTo == "bfloat16" ? Storage::kBfloat16 : step->castTo == "float16" ? Storage::kFloat16 : Storage::kFloat32;
    }
    return Storage::kFloat32;
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = volume(out[0]->shape);
    Buffer& y = *out[0];
    parallelRanges(n, kChunk, [&](int64_t begin, int64_t end) {
      const int64_t count = end - begin;
      // The chunk's values in float32: in the output itself, or in this thread's chunk when it is held in 16 bits.
      alignas(32) static thread_local float chunk[kChunk], operand[kChunk];
      float* v = y.storage == Storage::kFloat32 ? y.data.data() + begin : chunk;
      const float* first = floatChunk(*in[0], begin, count, v);
      if (first != v) std::copy(first, first + count, v);
      for (const Step& step : steps_) {
        if (step.binary) {
          const float* other = floatChunk(*in[step.operand], begin, count, operand);
          // The arithmetic ops inline (vectorised); the rest through their function.
          if (step.arithmetic == '+') for (int64_t i = 0; i < count; i++) v[i] += other[i];
          else if (step.arithmetic == '*') for (int64_t i = 0; i < count; i++) v[i] *= other[i];
          else if (step.arithmetic == '-' && step.valueLeft) for (int64_t i = 0; i < count; i++) v[i] -= other[i];
          else if (step.arithmetic == '-') for (int64_t i = 0; i < count; i++) v[i] = other[i] - v[i];
          else if (step.valueLeft) for (int64_t i = 0; i < count; i++) v[i] = step.binary(v[i], other[i]);
          else for (int64_t i = 0; i < count; i++) v[i] = step.binary(other[i], v[i]);
        } else if (step.quantize) {
          for (int64_t i = 0; i < count; i++) v[i] = quantizeToInt8(v[i], step.scale);
        } else if (step.dequantize) {
          for (int64_t i = 0; i < count; i++) v[i] *= step.scale;
        } else if (step.unary) {
          for (int64_t i = 0; i < count; i++) v[i] = step.unary(v[i]);
        } else {
          step.activation.apply(v, count);
        }
      }
      if (y.storage != Storage::kFloat32) narrowToHalves(v, y.halves() + begin, count, y.storage);
    }, n > 2 * kChunk);
  }

 private:
  static constexpr int64_t kChunk = 4096;  // 16 KiB: the chunk stays in L1 through every step
  // Values [begin, begin + count) of a buffer as float32: where they lie, or widened into `scratch`.
  static const float* floatChunk(const Buffer& b, int64_t begin, int64_t count, float* scratch) {
    if (b.storage == Storage::kFloat32) return b.data.data() + begin;
    widenHalves(b.halves() + begin, scratch, count, b.storage);
    return scratch;
  }
  struct Step {
    ActivationFn activation;
    float (*unary)(float) = nullptr;
    float (*binary)(float, float) = nullptr;
    char arithmetic = 0;  // '+', '*' or '-' for the binary ops run inline, decided once here
    bool valueLeft = true;
    bool quantize = false, dequantize = false;
    float scale = 1;
    size_t operand = 0;
    std::string castTo;  // a cast's type
  };
  static std::vector<std::string> split(const std::string& step) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t colon = step.find(':', start);
      parts.push_back(step.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) return parts;
      start = colon + 1;
    }
  }
  std::vector<Step> steps_;
};

}  // namespace

std::unique_ptr<Kernel> makeActivation(const OpDesc& op) { return std::make_unique<Activation>(op); }
std::unique_ptr<Kernel> makeUnary(const OpDesc& op) { return std::make_unique<Unary>(op); }
std::unique_ptr<Kernel> makeElementWise(const OpDesc& op) { return std::make_unique<ElementWise>(op); }
std::unique_ptr<Kernel> makeScale(const OpDesc& op) { return std::make_unique<Scale>(op); }
std::unique_ptr<Kernel> makeSelect(const OpDesc& op) { return std::make_unique<Select>(op); }
std::unique_ptr<Kernel> makeParametricReLU(const OpDesc& op) { return std::make_unique<ParametricReLU>(op); }
std::unique_ptr<Kernel> makeCast(const OpDesc& op) { return std::make_unique<Cast>(op); }
std::unique_ptr<Kernel> makePointwiseChain(const OpDesc& op) { return std::make_unique<PointwiseChain>(op); }
std::unique_ptr<Kernel> makeQuantize(const OpDesc& op) { return std::make_unique<QuantizeBase>(op, true); }
std::unique_ptr<Kernel> makeDequantize(const OpDesc& op) { return std::make_unique<QuantizeBase>(op, false); }
std::unique_ptr<Kernel> makeIdentity(const OpDesc& op) { return std::make_unique<Identity>(op); }

}  // namespace netdef
