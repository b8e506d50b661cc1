#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/pointwise_ops.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class ElementWise : public Broadcasting {
 public:
  explicit ElementWise(const OpDesc& op)
      : Broadcasting(op), opName_(op.params.string(op.name, "op")), fn_(elementWiseFunction(opName_)) {
    if (!fn_) bad("element-wise op '" + opName_ + "'");
    integerLookup(opName_);
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
  bool computesIntegers() const override { return true; }

  // Channel-blocked where every input either has the output's 4-d shape (laid out as the output) or holds one value
  // per image and channel ([N|1, C|1, 1, 1], the same bytes in either layout): a squeeze-excitation scale, a bias.
  void declareShapes(const std::vector<Shape>& in, const std::vector<Shape>& out) override {
    const Shape& y = out.at(0);
    blockable_ = y.size() == 4;
    full_.clear();
    for (size_t k = 0; k < in.size(); k++) {
      const Shape& x = in[k];
      if (x == y) full_.push_back(k);
      else if (!(x.size() == 4 && x[2] == 1 && x[3] == 1 && (x[1] == 1 || x[1] == y[1]) && (x[0] == 1 || x[0] == y[0]))) blockable_ = false;
    }
    if (full_.empty()) blockable_ = false;
  }
  bool scalesChannels(size_t& full, size_t& scale) const override {
    if (opName_ != "prod" || !blockable_ || full_.size() != 1) return false;
    full = full_[0];
    scale = 1 - full;
    return true;
  }
  bool readsBlocked(size_t) const override { return blockable_; }
  bool writesBlocked() const override { return blockable_; }
  std::vector<size_t> blockedLike() const override { return blockable_ ? full_ : std::vector<size_t>{}; }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Buffer &a = *in[0], &b = *in[1];
    if (isInteger(a.storage) != isInteger(b.storage)) fail("inputs of integer and floating-point types");
    if (!isInteger(a.storage)) return combineFloats(a, b, *out[0]);
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
  // The common arithmetic as inline lambdas, so that the row loops vectorise; the rest through the function pointer.
  void combineFloats(const Buffer& a, const Buffer& b, Buffer& y) const {
    const std::string& op = opName_;
    if (op == "sum") return combineLaidOut(a, b, y, [](float u, float v) { return u + v; });
    if (op == "prod") return combineLaidOut(a, b, y, [](float u, float v) { return u * v; });
    if (op == "sub") return combineLaidOut(a, b, y, [](float u, float v) { return u - v; });
    if (op == "div") return combineLaidOut(a, b, y, [](float u, float v) { return u / v; });
    if (op == "max") return combineLaidOut(a, b, y, [](float u, float v) { return u != u || u > v ? u : v; });
    if (op == "min") return combineLaidOut(a, b, y, [](float u, float v) { return u != u || u < v ? u : v; });
    combineLaidOut(a, b, y, fn_);
  }

  template <class Fn>
  void combineLaidOut(const Buffer& a, const Buffer& b, Buffer& y, const Fn& fn) const {
    if (y.layout == Layout::kBlocked8) combineBlocked(a, b, y, fn);
    else combine<float>(a, b, valuesAs<float>(y), fn);
  }

  // A blocked output [N, C/8, H·W, 8]: per block of 8 channels, a full input runs on with the output, an input of
  // one value per image and channel gives 8 lanes held across the block's pixels.
  template <class Fn>
  void combineBlocked(const Buffer& x0, const Buffer& x1, Buffer& yb, const Fn& fn) const {
    const Shape& s = yb.shape;
    const int64_t groups = s[1] / 8, span = 8 * s[2] * s[3];
    const float *a = valuesAs<float>(x0), *b = valuesAs<float>(x1);
    float* y = valuesAs<float>(yb);
    const bool fullA = x0.shape == s, fullB = x1.shape == s;
    const auto lanes = [groups](const Buffer& x, const float* v, int64_t block, float* out) {
      const int64_t image = x.shape[0] == 1 ? 0 : block / groups, channel = (block % groups) * 8;
      for (int l = 0; l < 8; l++) out[l] = v[image * x.shape[1] + (x.shape[1] == 1 ? 0 : channel + l)];
    };
    parallelItems(s[0] * groups, span, [&](int64_t block) {
      const int64_t at = block * span;
      float la[8], lb[8];
      if (!fullA) lanes(x0, a, block, la);
      if (!fullB) lanes(x1, b, block, lb);
      if (fullA && fullB) {
        for (int64_t i = 0; i < span; i++) y[at + i] = fn(a[at + i], b[at + i]);
      } else if (fullA) {
        for (int64_t i = 0; i < span; i += 8)
          for (int l = 0; l < 8; l++) y[at + i + l] = fn(a[at + i + l], lb[l]);
      } else {
        for (int64_t i = 0; i < span; i += 8)
          for (int l = 0; l < 8; l++) y[at + i + l] = fn(la[l], b[at + i + l]);
      }
    }, volume(s) > 65536);
  }

  // One row: both inputs running, or one of them (or both) held at one value.
  template <class T, class Y, class Fn>
  static void row(const T* a, int64_t sa, const T* b, int64_t sb, Y* y, int64_t n, const Fn& fn) {
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; i++) y[i] = fn(a[i], b[i]);
    } else if (sa == 1 && sb == 0) {
      const T v = *b;
      for (int64_t i = 0; i < n; i++) y[i] = fn(a[i], v);
    } else if (sa == 0 && sb == 1) {
      const T u = *a;
      for (int64_t i = 0; i < n; i++) y[i] = fn(u, b[i]);
    } else {
      for (int64_t i = 0; i < n; i++) y[i] = fn(a[i * sa], b[i * sb]);
    }
  }

  template <class T, class Y, class Fn>
  void combine(const Buffer& x0, const Buffer& x1, Y* y, Fn fn) const {
    const T* a = valuesAs<T>(x0);
    const T* b = valuesAs<T>(x1);
    const Shape out = broadcast({x0.shape, x1.shape}, [this](const std::string& m) { fail(m); });
    const BroadcastRows<2> rows({&x0.shape, &x1.shape}, out);
    const int64_t inner = rows.inner(), n = rows.rows() * inner;
    const auto [sa, sb] = rows.innerStride();
    parallelRanges(rows.rows(), std::max<int64_t>(1, 16384 / inner), [&](int64_t begin, int64_t end) {
      rows.forRows(begin, end, [&](int64_t r, const std::array<int64_t, 2>& at) { row(a + at[0], sa, b + at[1], sb, y + r * inner, inner, fn); });
    }, n > 65536);
  }

  std::string opName_;
  bool blockable_ = false;
  std::vector<size_t> full_;  // inputs of the output's shape
  float (*fn_)(float, float);
  int64_t (*integerFn_)(int64_t, int64_t) = nullptr;      // arithmetic on integers
  float (*integerComparison_)(int64_t, int64_t) = nullptr;  // comparisons of integers, giving bool
};

}  // namespace

std::unique_ptr<Kernel> makeElementWise(const OpDesc& op) { return std::make_unique<ElementWise>(op); }

BinaryFn elementWiseFunction(const std::string& op) {
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

}  // namespace netdef
