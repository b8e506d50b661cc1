#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Float values, or an int32/int64 constant's values held as int64 (the plan stores those as int64).
class Constant : public Kernel {
 public:
  explicit Constant(const OpDesc& op) : Kernel(op), shape_(op.params.integers(op.name, "shape")), integer_(op.integerWeights.count("values") != 0) {
    if (integer_) integers_ = op.integerWeight("values");
    else values_ = op.weight("values");
    if (volume(shape_) != static_cast<int64_t>(integer_ ? integers_.size() : values_.size())) bad("values do not fill shape " + formatShape(shape_));
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>&) const override { return {shape_}; }
  bool computesIntegers() const override { return integer_; }
  void run(const std::vector<const Buffer*>&, const std::vector<Buffer*>& out) const override {
    if (isInteger(out[0]->storage) != integer_) fail(integer_ ? "integer values for a floating-point tensor" : "floating-point values for an integer tensor");
    if (!integer_) return out[0]->data.assign(values_.begin(), values_.end());
    for (size_t i = 0; i < integers_.size(); i++) out[0]->integers()[i] = wrapInteger(integers_[i], out[0]->storage);
  }

 private:
  Shape shape_;
  bool integer_;
  std::vector<float> values_;
  std::vector<int64_t> integers_;
};

}  // namespace

std::unique_ptr<Kernel> makeConstant(const OpDesc& op) { return std::make_unique<Constant>(op); }

}  // namespace netdef
