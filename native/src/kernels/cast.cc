#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/kernel.h"
#include "kernels/pointwise_ops.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Conversions: to integer types truncate toward zero; floats out of the target's range saturate (NaN gives 0),
// integers wrap to the target's width as C++ and PyTorch do; to bool, nonzero is true.
class Cast : public Kernel {
 public:
  explicit Cast(const OpDesc& op) : Kernel(op), to_(op.params.string(op.name, "to")), convert_(castFunction(to_)) {
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

 private:
  std::string to_;
  float (*convert_)(float);
};

}  // namespace

std::unique_ptr<Kernel> makeCast(const OpDesc& op) { return std::make_unique<Cast>(op); }

UnaryFn castFunction(const std::string& to) {
  if (to == "bool") return [](float v) { return v != 0 ? 1.0f : 0.0f; };
  if (to == "int8") return [](float v) { return std::isnan(v) ? 0.0f : std::trunc(std::min(127.0f, std::max(-128.0f, v))); };
  if (to == "uint8") return [](float v) { return std::isnan(v) ? 0.0f : std::trunc(std::min(255.0f, std::max(0.0f, v))); };
  if (to == "float16") return roundToFloat16;
  if (to == "bfloat16") return roundToBfloat16;
  if (to == "float32") return [](float v) { return v; };
  return nullptr;
}

}  // namespace netdef
