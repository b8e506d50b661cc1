#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/kernel.h"

namespace netdef {

// Winograd F(2×2, 3×3) for 3×3 convolutions at stride 1, dilation 1, one group: each 2×2 output tile comes from a
// 4×4 input tile through 16 element-wise products instead of 36 multiply-adds, so the work becomes 16 GEMMs
// ([out × in] · [in × tiles]) with 2.25× fewer multiplications than the direct convolution, plus cheap additions
// around them. Numerically within a few float32 roundings of the direct sum (the transforms scale by ½ and add).
class WinogradF2x3 {
 public:
  // weights: [out][in][3][3]. The transformed weights are packed for the GEMM once, here.
  WinogradF2x3(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int64_t kBlock);

  // One image: x [in][H][W] (float32, or x16 in 16-bit storage of x16Type: one of the two set) with padding (padTop, padLeft)
  // before it, y [out][OH][OW]; finish(o, plane) is called on each output channel as soon as it is complete (bias,
  // residual, activation while the plane is in cache).
  void run(const float* x, const uint16_t* x16, Storage x16Type, int64_t H, int64_t W, int64_t padTop, int64_t padLeft, float* y, int64_t OH, int64_t OW,
           const std::function<void(int64_t, float*)>& finish) const;

  static bool fits(const int64_t kernel[3], const int64_t stride[3], const int64_t dilation[3], int64_t groups, int spatial);

 private:
  int64_t out_, in_, kBlock_;
  std::vector<std::vector<float>> packed_;  // 16 matrices U_ξ [out × in], in the GEMM's panel layout
};

}  // namespace netdef
