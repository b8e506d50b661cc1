#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph.h"

namespace netdef {

// Activation applied in place, shared by the activation layer and the fused epilogue of convolutions.
// With `round`, the result is then rounded to a 16-bit float type: a reduced-precision activation's storage,
// fused by the builder into the layer that produces it; with `grid`, to an INT8 grid (a quantize → dequantize pair
// after an INT8 layer, fused into it).
struct ActivationFn {
  enum class Type { kNone, kRelu, kSigmoid, kTanh, kLeakyRelu, kElu, kSelu, kSoftsign, kSoftplus, kClip, kHardSigmoid,
                    kScaledTanh, kThresholdedRelu, kGeluErf, kGeluTanh, kMish, kSilu, kHardSwish };
  enum class Round { kNone, kFloat16, kBfloat16 };
  Type type = Type::kNone;
  float alpha = 0, beta = 0;
  Round round = Round::kNone;
  float grid = 0;  // > 0: each result becomes clamp(round(x / grid), −128, 127) · grid, as quantize then dequantize
  static ActivationFn parse(const std::string& name, double alpha, double beta);
  // The activation (and rounding) the builder fused into a convolution or dense layer (none when the plan names none).
  static ActivationFn fused(const OpDesc& op);
  void apply(float* data, int64_t count) const;

 private:
  void applyActivation(float* data, int64_t count) const;
};

// An activation a fused epilogue applies to a vector after its clamp, with vmath::activate (SiLU, sigmoid, hardswish,
// …; kNone: none): what lets the kernels whose epilogue is otherwise a clamp take any vectorised activation.
struct EpilogueActivation {
  ActivationFn::Type type = ActivationFn::Type::kNone;
  float alpha = 0, beta = 0;
  // The activation on n values in place, 16 at a time where the CPU has AVX-512: a kernel's finished tile staged in
  // memory, so that its vectors' steps overlap (one vector at a time, SiLU ran at the latency of its exponential).
  void apply(float* x, int64_t n) const;
};

// The nearest float16 / bfloat16 (ties to even; float16 overflows to ±∞ and has subnormals), as a float.
float roundToFloat16(float v);
float roundToBfloat16(float v);
// Whether every value is a bfloat16 value (its low 16 bits zero): a bfloat16 network's weights.
bool allBfloat16Values(const std::vector<float>& values);

}  // namespace netdef
