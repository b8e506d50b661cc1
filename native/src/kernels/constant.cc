#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class Constant : public Kernel {
 public:
  explicit Constant(const OpDesc& op) : Kernel(op), shape_(op.params.integers(op.name, "shape")), values_(op.weight("values")) {
    if (volume(shape_) != static_cast<int64_t>(values_.size())) bad("values do not fill shape " + formatShape(shape_));
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>&) const override { return {shape_}; }
  void run(const std::vector<const Buffer*>&, const std::vector<Buffer*>& out) const override { out[0]->data.assign(values_.begin(), values_.end()); }

 private:
  Shape shape_;
  std::vector<float> values_;
};

}  // namespace

std::unique_ptr<Kernel> makeConstant(const OpDesc& op) { return std::make_unique<Constant>(op); }

}  // namespace netdef
