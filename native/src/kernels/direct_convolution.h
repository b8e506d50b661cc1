#pragma once
#include <cstdint>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/window.h"

namespace netdef {

// The direct_c16 tactic: a convolution computed straight from its (zero-padded) input, 16 output channels × 6
// output pixels per tile (16 × 8 in 16-float vectors where wideTiles(); 8 × 8 for a last block of at most 8
// channels), the channels in vector lanes. Each step of
// the sum over (input channel, tap) loads the 16 weights and broadcasts 6 input values from where they lie, so
// nothing is packed (the implicit GEMM's panels copy 9× a 3×3 layer's input); the sums are transposed into the
// output's channel planes at the end. Any kernel size, stride, dilation and group count, 1-d to 3-d.
//
// The direct_rows tactic (`rows`): the other way round, the output pixels in vector lanes: 6 output
// channels × 16 pixels of an output row per tile, each step a 16-float row of the padded input read in place (the
// GEMM micro-kernel with its B rows a window's taps apart), stored without a transpose. For short sums (LeNet's
// 1-channel 5×5, a 3-channel stem), where transposing direct_c16's tiles cost as much as computing them. At a width
// stride above 1 the padded rows are split by column phase so that each tap's pixels still lie side by side.
class DirectConvolution {
 public:
  DirectConvolution(const std::vector<float>& weights, int64_t outChannels, int64_t inPerGroup, int64_t groups, const Window& window, bool rows = false);

  // One image (input [channels, size…], output [outChannels, out…]); `pad` the leading padding of each dimension,
  // `bias` one per output channel or null.
  void run(const ImageIO& image, const int64_t size[3], const int64_t out[3], const int64_t pad[3], const float* bias, const ActivationFn& activation) const;

  static constexpr int64_t kChannels = 16, kPixels = 6;

 private:
  void runRows(const ImageIO& image, const float* source, const int64_t padded[3], int64_t rowLength, const int64_t* taps, const int64_t out[3], const float* bias,
               const ActivationFn& activation) const;

  int64_t outChannels_, inPerGroup_, groups_, blocksPerGroup_, taps_;
  Window w_;
  bool rows_;
  std::vector<float> packed_;  // direct_c16: [group][block of 16 output channels][input channel, tap][16], zero past the group's channels
  std::vector<std::vector<float>> groupPanels_;  // direct_rows: each group's [output channel][input channel, tap] in the GEMM's panel layout
};

}  // namespace netdef
