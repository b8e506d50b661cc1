#pragma once
// The blocked convolution kernels' last step for one output value (after the bias): the residual (laid out as the
// output), the clamp, another activation, the rounding to a 16-bit type, the store — for a blocked output 8 channels of a pixel at a time,
// for a planar one a value at a time. Shared by the direct tiles (blocked_convolution.cc) and the blocked Winograd
// kernel (blocked_winograd.cc).
#include <cstdint>
#include <cstring>

#include "kernels/activation_fn.h"
#include "kernels/blocked_convolution.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef {

// Which steps a kernel's stores take, a template argument so that each instance holds only its own (the branches of
// the other cases cost MobileNetV2 in float32 5–8 % at batch 8, the gate's code in bfloat16 30 %): kPlain a float32
// output, no 16-bit residual, the clamp alone; kRounded also 16-bit residuals and outputs and the rounding; kGated
// also another activation after the clamp.
enum class Finishing { kPlain, kRounded, kGated };

// A pixel's 8 channels with the residual's (laid out as the output: at `at`) added, clamped.
template <bool Half = true>
__attribute__((always_inline)) inline Vec8 clampedSum(Vec8 v, int64_t at, BlockedConvolution::In residual, Vec8 lower, Vec8 upper) {
  if (residual.f) v += vmath::load(residual.f + at);
  if (Half && residual.h) v += vmath::widen8(residual.h + at, residual.type);
  v = v < lower ? lower : v;
  return upper < v ? upper : v;
}

// A pixel's 8 channels of a blocked output at `at` (the residual's too).
template <Finishing F>
__attribute__((always_inline)) inline void storeBlocked(Vec8 v, int64_t at, BlockedConvolution::Out y, BlockedConvolution::In residual, Vec8 lower, Vec8 upper,
                                                        const EpilogueActivation& gate, ActivationFn::Round round) {
  v = clampedSum<F != Finishing::kPlain>(v, at, residual, lower, upper);
  if (F == Finishing::kPlain) return vmath::store(y.f + at, v);
  if (F == Finishing::kGated) v = vmath::activate(gate.type, gate.alpha, gate.beta, v);
  v = vmath::round(round, v);
  if (y.h) vmath::narrow8(v, y.type, y.h + at);
  else vmath::store(y.f + at, v);
}

// One value of a planar output at `at` (the residual's too).
template <Finishing F>
__attribute__((always_inline)) inline void storePlanar(float v, int64_t at, BlockedConvolution::Out y, BlockedConvolution::In residual, float lower, float upper,
                                                       const EpilogueActivation& gate, ActivationFn::Round round) {
  if (residual.f) v += residual.f[at];
  if (residual.h) v += fromHalfBits(residual.h[at], residual.type);
  v = v < lower ? lower : v;
  v = upper < v ? upper : v;
  if (F == Finishing::kGated) v = vmath::activate(gate.type, gate.alpha, gate.beta, vmath::splat(v))[0];
  v = round == ActivationFn::Round::kNone ? v : round == ActivationFn::Round::kBfloat16 ? roundToBfloat16(v) : roundToFloat16(v);
  if (y.h) y.h[at] = toHalfBits(v, y.type);
  else y.f[at] = v;
}

// n ≤ 8 consecutive values of a planar output at `at` (a channel's run of pixels), finished as one vector: a partial
// run through 8-value copies of its residual and output.
template <Finishing F>
__attribute__((always_inline)) inline void storePlanarRun(Vec8 v, int64_t n, int64_t at, BlockedConvolution::Out y, BlockedConvolution::In residual, Vec8 lower,
                                                          Vec8 upper, const EpilogueActivation& gate, ActivationFn::Round round) {
  if (n == 8) return storeBlocked<F>(v, at, y, residual, lower, upper, gate, round);
  alignas(32) float rf[8] = {}, yf[8];
  uint16_t rh[8] = {}, yh[8];
  if (residual.f) std::memcpy(rf, residual.f + at, n * sizeof(float));
  if (residual.h) std::memcpy(rh, residual.h + at, n * sizeof(uint16_t));
  const BlockedConvolution::In run{residual.f ? rf : nullptr, residual.h ? rh : nullptr, residual.type};
  storeBlocked<F>(v, 0, {y.f ? yf : nullptr, y.h ? yh : nullptr, y.type}, run, lower, upper, gate, round);
  if (y.h) std::memcpy(y.h + at, yh, n * sizeof(uint16_t));
  else std::memcpy(y.f + at, yf, n * sizeof(float));
}

}  // namespace netdef
