#pragma once
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"

namespace netdef {

// A 1×1 convolution (stride 1, no padding, one group) where its input or output is channel-blocked (Layout::kBlocked8):
// tiles of up to 6 pixels × 16 output channels in registers, each input value broadcast straight from the input,
// planar or blocked (no packing), the weights in panels of 16 output channels (8 for the last when the count is an odd
// multiple of 8). A pixel row of a tile is two vectors of 8 channels: one block's values of that pixel, stored as they
// are into a blocked output. A planar output takes the tile's values channel by channel.
class BlockedPointwise {
 public:
  // `weight` as [outChannels][inChannels].
  BlockedPointwise(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels);

  // What is done to the sums before they are stored: bias (null: none), a residual laid out as the output (null:
  // none), then a clamp to [lower, upper] (a ReLU, a clip, or ±∞ for none).
  struct Finish {
    const float* bias = nullptr;
    const float* residual = nullptr;
    float lower, upper;
  };
  // `batch` images of `pixels` pixels each: x (inChannels a pixel) into y (outChannels a pixel), in their layouts.
  void run(int64_t batch, int64_t pixels, const float* x, bool xBlocked, float* y, bool yBlocked, const Finish& finish) const;

 private:
  int64_t out_, in_;
  std::vector<float> panels_;  // panel g (channels 16g …) at 16g·in_: in_ rows of its width
};

}  // namespace netdef
