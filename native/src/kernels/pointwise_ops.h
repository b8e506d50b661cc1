#pragma once
#include <cstdint>
#include <string>

// The per-element functions of the element-wise layer kinds, by op name (nullptr for an unknown one): shared by each
// kind's kernel and by the builder's fused chains of them (pointwise_chain.cc).

namespace netdef {

using UnaryFn = float (*)(float);
using BinaryFn = float (*)(float, float);

UnaryFn unaryFunction(const std::string& op);

// The unary ops with a vector form: exact ones the compiler vectorises, exp and erf by vmath's polynomials.
enum class VectorUnary { kNone, kExp, kErf, kSqrt, kAbs, kNeg, kRecip, kFloor, kCeil };
VectorUnary vectorUnary(const std::string& op);
// y = op(x) over n values (y may be x): by vectors where `vector` names the op, else `fn` value by value (a call per
// value: exp ran at 1.9 ns a value, 9× onnxruntime's time).
void applyUnary(VectorUnary vector, UnaryFn fn, const float* x, float* y, int64_t n);
BinaryFn elementWiseFunction(const std::string& op);
// The conversion of a float to `to`'s values; nullptr for int32/int64 (held as integers, not floats).
UnaryFn castFunction(const std::string& to);

}  // namespace netdef
