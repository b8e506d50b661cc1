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
  explicit ElementWise(const OpDesc& op) : Broadcasting(op), fn_(elementWiseFunction(op.params.string(op.name, "op"))) {
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
