#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace netdef {

std::vector<float> optionalBias(const OpDesc& op, int64_t channels) {
  if (!op.hasWeight("bias")) return {};
  const std::vector<float>& bias = op.weight("bias");
  if (static_cast<int64_t>(bias.size()) != channels) throw PlanError(op.name + " (" + op.kind + "): bias has " + std::to_string(bias.size()) + " values for " + std::to_string(channels) + " outputs");
  return bias;
}

}  // namespace netdef
