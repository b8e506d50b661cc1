#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

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

}  // namespace

std::unique_ptr<Kernel> makeActivation(const OpDesc& op) { return std::make_unique<Activation>(op); }

}  // namespace netdef
