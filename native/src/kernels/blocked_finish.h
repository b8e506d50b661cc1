#pragma once
// The blocked convolution kernels' last step for one output value (after the bias): the residual (laid out as the
// output), the clamp, the rounding to a 16-bit type, the store — for a blocked output 8 channels of a pixel at a time,
// for a planar one a value at a time. Shared by the direct tiles (blocked_convolution.cc) and the blocked Winograd
// kernel (blocked_winograd.cc).
#include <cstdint>

#include "kernels/activation_fn.h"
#include "kernels/blocked_convolution.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef {

// A pixel's 8 channels of a blocked output at `at` (the residual's too). `Plain`: float32 output, no 16-bit residual,
// no rounding (the branches of the other cases cost MobileNetV2 in float32 5–8 % at batch 8).
template <bool Plain>
__attribute__((always_inline)) inline void storeBlocked(Vec8 v, int64_t at, BlockedConvolution::Out y, BlockedConvolution::In residual, Vec8 lower, Vec8 upper,
                                                        ActivationFn::Round round) {
  if (residual.f) v += vmath::load(residual.f + at);
  if (!Plain && residual.h) v += vmath::widen8(residual.h + at, residual.type);
  v = v < lower ? lower : v;
  v = upper < v ? upper : v;
  if (Plain) return vmath::store(y.f + at, v);
  v = vmath::round(round, v);
  if (y.h) vmath::narrow8(v, y.type, y.h + at);
  else vmath::store(y.f + at, v);
}

// One value of a planar output at `at` (the residual's too).
__attribute__((always_inline)) inline void storePlanar(float v, int64_t at, BlockedConvolution::Out y, BlockedConvolution::In residual, float lower, float upper,
                                                       ActivationFn::Round round) {
  if (residual.f) v += residual.f[at];
  if (residual.h) v += fromHalfBits(residual.h[at], residual.type);
  v = v < lower ? lower : v;
  v = upper < v ? upper : v;
  v = round == ActivationFn::Round::kNone ? v : round == ActivationFn::Round::kBfloat16 ? roundToBfloat16(v) : roundToFloat16(v);
  if (y.h) y.h[at] = toHalfBits(v, y.type);
  else y.f[at] = v;
}

}  // namespace netdef
