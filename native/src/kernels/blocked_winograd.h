#pragma once
#include <cstdint>
#include <vector>

#include "kernels/blocked_convolution.h"

namespace netdef {

// Winograd F(m×m, 3×3) (m = 2 or 4; winograd_transforms.h) on a channel-blocked input: 3×3, stride 1, dilation 1,
// one group, 8k input channels. The tiles of all images are taken in chunks that fit a core's L2 (a work item
// each): a chunk's input tiles are transformed a block of 8 channels at a time (the transforms' lanes are the
// block's channels, so no tile needs gathering across planes), multiplied by the (m+2)² transformed weight
// matrices as 1×1 convolutions of the chunk's tiles (BlockedConvolution's tiles: FMA-bound), and transformed back
// and finished (bias, residual, clamp, rounding) into a blocked or planar output.
class BlockedWinograd {
 public:
  // weight: [outChannels][inChannels][3][3].
  BlockedWinograd(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels, int tile);

  // `batch` images from x (blocked, H × W) into y (OH × OW, blocked or planar; each image `yChannels` channels
  // apart: the output's, or a concatenation's that it is part of); `pad`: the leading padding (rows, columns).
  void run(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], BlockedConvolution::In x, BlockedConvolution::Out y, int64_t yChannels,
           bool yBlocked, const BlockedConvolution::Finish& finish) const;

 private:
  int64_t out_, in_;
  int tile_;
  std::vector<BlockedConvolution> products_;  // for each ξ, U_ξ as a 1×1 convolution: M_ξ = U_ξ · V_ξ
};

}  // namespace netdef
