#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/kernel.h"
#include "kernels/simd.h"

namespace netdef {

// 2-d depthwise convolution 8 channels at a time, channels innermost: the 8 channels' planes are interleaved into a
// zero-padded buffer of 8-float pixels (a channel-blocked input is copied: it is in that order already), each output
// pixel is Σ taps w[tap] · x[pixel + tap] with the channels as the vector lanes, and the result is split back into
// planes (or stored as it is into a channel-blocked output): vectorised across channels, so small planes (14×14,
// 7×7) cost no more per value than large ones.

// What happens to a channel's sums before they are stored: its bias, then a clamp to [lower, upper] (ReLU, clip,
// or ±∞ for none), then another vectorised activation (the layer's: the first channel's is read).
struct DepthwiseFinish {
  float bias = 0, lower = -INFINITY, upper = INFINITY;
  EpilogueActivation gate;
};

// One plane's window: input H × W, output OH × OW, kernel, stride, dilation, leading padding.
struct DepthwiseGeometry {
  int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, padTop, padLeft;
  // The padded input the windows reach: rows × columns of 8-float pixels.
  int64_t paddedRows() const { return (OH - 1) * sh + (KH - 1) * dh + 1; }
  int64_t paddedColumns() const { return (OW - 1) * sw + (KW - 1) * dw + 1; }
};

// This thread's scratch for one group of 8 channels (32-byte aligned): weights, padded input, output.
Vec8* depthwiseScratch(const DepthwiseGeometry& g);

// Planes of up to 8 channels, float32 (`f`) or 16-bit storage of `type` (`h`): one of the two pointers set; or
// (`blocked`) one block of a channel-blocked tensor, a pixel's 8 channels side by side.
template <class T>
struct DepthwisePlanes {
  T* f;
  typename std::conditional<std::is_const<T>::value, const uint16_t, uint16_t>::type* h;
  Storage type;
  int64_t pixels;  // values between channels
  bool blocked = false;
};

// The weights of a depthwise layer ([channels][taps]) interleaved by groups of 8 channels, tap by tap: group g's tap t
// at (g·taps + t)·8, zero past the last channel. Done once, at load, instead of for each group of each image (a
// 7×7 layer of 960 channels 5 % faster, fastest of 20 runs, builds alternating by process).
std::vector<float> interleaveDepthwiseWeights(const std::vector<float>& weights, int64_t channels, int64_t taps);

// Up to 8 channels (`channels`) from input planes into output planes; `w` holds the group's interleaved weights,
// `finish` one entry per channel; `round`: the sums are rounded to that 16-bit type after the clamp (the output's
// values when it is held in 16 bits). Output rows [firstRow, firstRow + rowCount) only (all: rowCount < 0), `y` at
// the first of them.
void depthwiseEight(const DepthwisePlanes<const float>& x, int64_t channels, const float* w, const DepthwiseGeometry& g, const DepthwiseFinish* finish,
                    ActivationFn::Round round, const DepthwisePlanes<float>& y, Vec8* scratch, int64_t firstRow = 0, int64_t rowCount = -1);

}  // namespace netdef
