#pragma once
#include <cstdint>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/window.h"

namespace netdef {

// The convolutions (one group) that write a channel-blocked output (Layout::kBlocked8) or read a blocked input:
// tiles of up to 6 pixels × 16 output channels in registers (12 pixels, a 16-float vector each, where wideTiles()), each input value broadcast straight from the input
// (no packing), the weights in panels of 16 output channels (the last one 8 wide, or zero-padded to 8 or 16).
// A pixel row of a tile is two vectors of 8 channels: one block's values of that pixel, stored as they are into a
// blocked output; a planar output takes the tile's values channel by channel.
// - 1×1 (stride 1, no padding): the input planar or blocked; a blocked bfloat16 input against bfloat16 weights
//   multiplied two channels at a time by VDPBF16PS (each value of a pixel's block pair one 32-bit broadcast).
// - Other windows over a blocked input, or a planar RGB image (a stem): bands of output rows, each band's input rows
//   copied zero-padded first (the image's 3 channels interleaved), so a tile's taps need no bounds; two panels a
//   tile where wideTiles(), each input value broadcast once for both.
// - Windows with short sums over other planar inputs (and a fused stem's rows): each output row's input rows copied
//   zero-padded first, so every tap of a tile is a run of pixels `stride` apart.
class BlockedConvolution {
 public:
  // A tensor's values in float32 (`f`) or in 16-bit storage of `type` (`h`): one of the two pointers set (neither:
  // no tensor). A reduced-float network's blocked tensors are held in 16 bits, widened as they are read.
  template <class F, class H>
  struct Values {
    F* f = nullptr;
    H* h = nullptr;
    Storage type = Storage::kFloat32;
    Values at(int64_t offset) const { return {f ? f + offset : nullptr, h ? h + offset : nullptr, type}; }
    explicit operator bool() const { return f || h; }
  };
  using In = Values<const float, const uint16_t>;
  using Out = Values<float, uint16_t>;
  static In in(const Buffer& b) { return b.storage == Storage::kFloat32 ? In{b.data.data(), nullptr, b.storage} : In{nullptr, b.halves(), b.storage}; }
  static Out out(Buffer& b) { return b.storage == Storage::kFloat32 ? Out{b.data.data(), nullptr, b.storage} : Out{nullptr, b.halves(), b.storage}; }

  // `weight` as [outChannels][inChannels][taps] (PyTorch's order); `w` the window.
  BlockedConvolution(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels, const Window& w);

  // What is done to the sums before they are stored: bias (null: none), a residual laid out as the output (null:
  // none), a clamp to [lower, upper] (a ReLU, a clip, or ±∞ for none), another activation (`gate`), then the rounding
  // to a 16-bit type (a reduced-float network's values, held in float32).
  struct Finish {
    const float* bias = nullptr;
    In residual;
    float lower, upper;
    EpilogueActivation gate;
    ActivationFn::Round round = ActivationFn::Round::kNone;
  };
  // `batch` images from x (H × W, inChannels) into y (OH × OW, outChannels), each in its layout; `pad`: the leading
  // padding (rows, columns) resolved for these extents. y's images are `yChannels` channels apart: outChannels, or
  // those of a concatenation's output that y is part of (the residual's are outChannels apart). `channelScales`
  // ([batch][inChannels], a 1×1 only): each image's input channels scaled by these values, through its weights.
  void run(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, bool xBlocked, Out y, int64_t yChannels, bool yBlocked,
           const Finish& finish, const float* channelScales = nullptr) const;
  // A 1×1 convolution's pixels [first, first + count) of one image of `pixels`, on this thread: x (at pixel
  // `first`) blocked, its blocks `stride` pixels apart, or planar, its planes `stride` apart; y (and the residual) the
  // image's, in their layout; output panels of 16 channels [g0, g1) (all: g1 < 0); `panels`: laid out as this
  // layer's float32 ones, in their place (null: this layer's own).
  void runPixels(In x, bool xBlocked, int64_t stride, int64_t first, int64_t count, int64_t pixels, Out y, bool yBlocked, const Finish& finish, int64_t g0 = 0,
                 int64_t g1 = -1, const float* panels = nullptr) const;
  // Output rows [top, top + count) of one image (x: its input, planar or, for a 1×1, blocked), on this thread, into
  // y: blocked, those rows only.
  // Whether a blocked bfloat16 input is multiplied in bfloat16 pairs (VDPBF16PS): a 1×1, or windows of 16k output
  // channels, whose weights are all bfloat16 values, where bf16DotSupported() (read as the kernel is made).
  bool takesPairs() const { return !pairPanels_.empty(); }
  void runRows(In x, bool xBlocked, int64_t H, int64_t W, int64_t OW, const int64_t pad[2], int64_t top, int64_t count, float* y, const Finish& finish) const;

 private:
  void runPointwise(int64_t batch, int64_t pixels, In x, bool xBlocked, Out y, int64_t yChannels, bool yBlocked, const Finish& finish,
                    const float* channelScales) const;
  // Panels [g0, g1) of this 1×1's float32 weights with input channel k's row scaled by scales[k], into `into` (at
  // their own offsets).
  void scalePanels(const float* scales, int64_t g0, int64_t g1, float* into) const;
  // The windows (any but a 1×1 at stride 1) of a blocked input, or of a planar RGB image, in bands of rows copied
  // zero-padded (the image's channels interleaved).
  void runBandWindows(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, bool xBlocked, Out y, int64_t yChannels,
                      bool yBlocked, const Finish& finish) const;
  void runWindows(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, Out y, int64_t yChannels, bool yBlocked,
                  const Finish& finish) const;
  // Output rows [top, top + count) of one planar image x, each row's input rows zero-padded first, into y (pixels
  // of it, row `top` at pixel `first`), on this thread.
  void windowRows(In x, int64_t H, int64_t W, int64_t OW, const int64_t pad[2], int64_t top, int64_t count, Out y, bool yBlocked, int64_t pixels, int64_t first,
                  const Finish& finish) const;

  // The row of a panel holding input channel c's weight at (kh, kw): the order a band's windows are summed in, block
  // by block, tap by tap, a pixel's channels each, where the channels fill blocks of 8 (a blocked input's) or are an
  // RGB image's 3; otherwise PyTorch's. (The same order for a 1×1.)
  int64_t term(int64_t c, int64_t kh, int64_t kw) const {
    if (in_ == 3) return (kh * KW_ + kw) * 3 + c;
    return in_ % 8 ? (c * KH_ + kh) * KW_ + kw : ((c / 8 * KH_ + kh) * KW_ + kw) * 8 + c % 8;
  }

  int64_t out_, in_, KH_, KW_, sh_, sw_, dh_, dw_;
  std::vector<float> panels_;  // panel g (channels 16g …) at 16g·K: K = in_·KH·KW rows of its width in vectors (8 or 16)
  std::vector<float> pairPanels_;  // the same as bfloat16 pairs, K/2 rows (bfloat16 weights, where the CPU has AVX-512 BF16 and they are faster)
};

}  // namespace netdef
