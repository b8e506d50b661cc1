#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/kernel.h"

namespace netdef {

// Winograd F(m×m, 3×3) for 3×3 convolutions at stride 1, dilation 1, one group, with output tiles of m = 2 or 4:
// each m×m output tile comes from an (m+2)×(m+2) input tile through (m+2)² element-wise products instead of 9·m²
// multiply-adds, so the work becomes (m+2)² GEMMs ([out × in] · [in × tiles]) with 2.25× (m = 2) or 4× (m = 4)
// fewer multiplications than the direct convolution, plus additions around them. F(2×2) stays within a few
// float32 roundings of the direct sum (its transforms scale by ½ and add); F(4×4)'s transforms scale by up to 8
// and ¼, ⅙, 1/24, so its error grows to about 1e-5 of the output's range on long sums (measured in the tests).
class Winograd {
 public:
  // weights: [out][in][3][3]; tile: m. The transformed weights are packed for the GEMM once, here.
  Winograd(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int64_t kBlock, int tile);

  // `images` images at once (their tiles side by side in the GEMMs, so the transformed weights are read once for
  // all): x [images][in][H][W] (float32, or x16 in 16-bit storage of x16Type: one of the two set) with padding
  // (padTop, padLeft) before each image, y [images][out][OH][OW]; finish(n, o, plane) is called on each output
  // channel of each image as soon as it is complete (bias, residual, activation while the plane is in cache).
  void run(int64_t images, const float* x, const uint16_t* x16, Storage x16Type, int64_t H, int64_t W, int64_t padTop, int64_t padLeft, float* y, int64_t OH, int64_t OW,
           const std::function<void(int64_t, int64_t, float*)>& finish) const;

  static bool fits(const int64_t kernel[3], const int64_t stride[3], const int64_t dilation[3], int64_t groups, int spatial);

 private:
  int64_t out_, in_, kBlock_;
  int tile_, alpha_;                        // m and the input tile's side m + 2
  std::vector<std::vector<float>> packed_;  // (m+2)² matrices U_ξ [out × in], in the GEMM's panel layout
};

}  // namespace netdef
