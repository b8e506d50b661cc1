#pragma once
#include <string>

// The per-element functions of the element-wise layer kinds, by op name (nullptr for an unknown one): shared by each
// kind's kernel and by the builder's fused chains of them (pointwise_chain.cc).

namespace netdef {

using UnaryFn = float (*)(float);
using BinaryFn = float (*)(float, float);

UnaryFn unaryFunction(const std::string& op);
BinaryFn elementWiseFunction(const std::string& op);
// The conversion of a float to `to`'s values; nullptr for int32/int64 (held as integers, not floats).
UnaryFn castFunction(const std::string& to);

}  // namespace netdef
