#pragma once
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/window.h"

namespace netdef {

// The direct_c16 tactic: a convolution computed straight from its (zero-padded) input, 16 output channels × 6
// output pixels per tile (8 × 8 for a last block of at most 8 channels), the channels in vector lanes. Each step of
// the sum over (input channel, tap) loads the 16 weights and broadcasts 6 input values from where they lie, so
// nothing is packed (the implicit GEMM's panels copy 9× a 3×3 layer's input); the sums are transposed into the
// output's channel planes at the end. Any kernel size, stride, dilation and group count, 1-d to 3-d.
class DirectConvolution {
 public:
  DirectConvolution(const std::vector<float>& weights, int64_t outChannels, int64_t inPerGroup, int64_t groups, const Window& window);

  // One image (input [channels, size…], output [outChannels, out…]); `pad` the leading padding of each dimension,
  // `bias` one per output channel or null.
  void run(const ImageIO& image, const int64_t size[3], const int64_t out[3], const int64_t pad[3], const float* bias, const ActivationFn& activation) const;

  static constexpr int64_t kChannels = 16, kPixels = 6;

 private:
  int64_t outChannels_, inPerGroup_, groups_, blocksPerGroup_, taps_;
  Window w_;
  std::vector<float> packed_;  // [group][block of 16 output channels][input channel, tap][16], zero past the group's channels
};

}  // namespace netdef
