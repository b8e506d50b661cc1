#include <atomic>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "kernels/window.h"
#include "thread_pool.h"

namespace netdef {

namespace {

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's AVX-512 VBMI header
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// A planar panel row for 16 pixels a row apart by `stride` (1–4) bytes: pixel j's word = bytes [stride·j, stride·j
// + 4) of src, the 4 + 15·stride bytes read by one masked load and placed by one byte permute (AVX-512 VBMI), where
// 16 four-byte copies were a tenth of ResNet's INT8 stem. Only where vbmiPanels().
__attribute__((target("avx2,avx512f,avx512bw,avx512vbmi"))) void planarRow(const int8_t* src, int64_t stride, int8_t* dst) {
  alignas(64) uint8_t order[64];
  for (int i = 0; i < 64; i++) order[i] = static_cast<uint8_t>(stride * (i / 4) + i % 4);
  const __mmask64 span = ~0ull >> (64 - (4 + 15 * stride));
  _mm512_storeu_si512(dst, _mm512_permutexvar_epi8(_mm512_load_si512(order), _mm512_maskz_loadu_epi8(span, src)));
}
#pragma GCC diagnostic pop
bool vbmiPanels() {
  static const bool vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return vbmi;
}
#endif

// An explicitly quantized convolution (the builder fused quantize → dequantize → convolution): the input is
// quantized with `inputScale`, the kernel (on per-output-channel INT8 grids) multiplies it in integers, and the
// epilogue scales the exact int32 sums back to float with the bias, residual and activation.
//
// The quantized input is laid out channels-last (NHWC) with channels padded to a multiple of 4, and K ordered
// (tap, channel): each quad of K is then 4 channels of one pixel, 4 consecutive bytes, so a GEMM panel is built
// from whole words per pixel and tap rather than one im2col row at a time. With fewer than 4 channels (a network's
// first layer: 1 or 3) most of those bytes would be padding; there the input stays planar, zero-padded to every
// window's reach, and each quad of K is 4 neighbouring columns of one kernel row (K ordered channel, kd, kh, column
// quad): again one word per pixel, read from the padded plane without bounds checks.
class Int8Convolution : public Kernel {
 public:
  explicit Int8Convolution(const OpDesc& op)
      : Kernel(op), w_(Window::read(op)), outChannels_(op.params.integer(op.name, "outChannels")), inputScale_(static_cast<float>(op.params.number(op.name, "inputScale"))) {
    if (op.params.integer(op.name, "groups") != 1) bad("INT8 convolutions take one group");
    if (!(inputScale_ > 0) || !std::isfinite(inputScale_)) bad("inputScale must be a positive finite number, got " + std::to_string(inputScale_));
    const std::string tactic = op.params.strings.count("tactic") ? op.params.string(op.name, "tactic") : "int8_implicit_gemm";
    if (tactic != "int8_implicit_gemm") bad("tactic '" + tactic + "' does not take INT8 inputs (int8_implicit_gemm does)");
    residual_ = op.params.has("residual") && op.params.number(op.name, "residual") != 0;
    if (residual_ != (op.inputs.size() == 2)) bad("a fused residual needs exactly a second input");
    bias_ = optionalBias(op, outChannels_);
    activation_ = ActivationFn::fused(op);
    const std::vector<float> kernel = op.weight("kernel");
    taps_ = w_.kernel[0] * w_.kernel[1] * w_.kernel[2];
    if (outChannels_ < 1 || kernel.size() % (outChannels_ * taps_)) bad("kernel has " + std::to_string(kernel.size()) + " values");
    channels_ = static_cast<int64_t>(kernel.size()) / (outChannels_ * taps_);
    paddedChannels_ = (channels_ + 3) / 4 * 4;
    planar_ = channels_ < 4 && w_.dilation[2] == 1;
    columnQuads_ = (w_.kernel[2] + 3) / 4;
    const int64_t kernelRows = w_.kernel[0] * w_.kernel[1];
    const int64_t depth = planar_ ? channels_ * kernelRows * columnQuads_ * 4 : taps_ * paddedChannels_;
    if (depth > (int64_t{1} << 16)) bad("an INT8 kernel of " + std::to_string(depth) + " values per output channel could overflow its int32 sums");
    // [out][channel][tap] → [out][tap][padded channel], or (planar) [out][channel][kernel row][column padded to quads].
    std::vector<float> reordered(static_cast<size_t>(outChannels_ * depth), 0.0f);
    for (int64_t o = 0; o < outChannels_; o++)
      for (int64_t c = 0; c < channels_; c++)
        for (int64_t t = 0; t < taps_; t++) {
          const int64_t row = t / w_.kernel[2], column = t % w_.kernel[2];
          const int64_t at = planar_ ? ((o * channels_ + c) * kernelRows + row) * columnQuads_ * 4 + column : (o * taps_ + t) * paddedChannels_ + c;
          reordered[at] = kernel[(o * channels_ + c) * taps_ + t];
        }
    std::string problem;
    weights_ = Int8Matrix::fromGrid(reordered.data(), outChannels_, depth, problem);
    if (!problem.empty()) bad("kernel " + problem);
    for (int64_t o = 0; o < outChannels_; o++) rowScale_.push_back(inputScale_ * weights_.step[o]);
  }

  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    std::string problem;
    const Shape out = convolutionOutput(w_, in.at(0), channels_, outChannels_, problem);
    if (!problem.empty()) fail(problem);
    if (residual_ && (in.size() != 2 || in[1] != out)) fail("the fused residual input must have the output's shape " + formatShape(out));
    return {out};
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override { runInto(in, *outs[0], 0); }
  // Each image's output channels are planes of the output in order: into a concatenation's output as into its own.
  bool writesIntoChannels() const override { return true; }
  void runIntoChannels(const std::vector<const Buffer*>& in, Buffer& whole, int64_t offset) const override { runInto(in, whole, offset); }

 private:
  // Into channels [offset, offset + outChannels_) of y.
  void runInto(const std::vector<const Buffer*>& in, Buffer& y, int64_t offset) const {
    Geometry g;
    spatialOf(in[0]->shape, w_.spatial, g.size);
    spatialOf(y.shape, w_.spatial, g.out);
    for (int j = 0; j < 3; j++) { int64_t extent; w_.resolve(j, g.size[j], g.pad[j], g.padAfter[j], extent); }
    const int64_t batch = in[0]->shape[0];
    const int64_t inPixels = g.size[0] * g.size[1] * g.size[2], outPixels = g.out[0] * g.out[1] * g.out[2];
    // Several images: one per thread (the GEMM inside then runs serially).
    parallelFor(batch, [&](int64_t n) {
      static thread_local std::vector<int8_t> quantized;  // this thread's: the GEMM's workers see it through `q`
      quantized.resize(static_cast<size_t>(planar_ ? channels_ * paddedVolume(g) : inPixels * paddedChannels_));
      int8_t* q = quantized.data();
      const float* x = in[0]->data.data() + n * channels_ * inPixels;
      const bool negative = planar_ ? quantizePlanes(x, g, q) : quantizeImage(x, inPixels, q);
      GemmEpilogue epilogue;
      epilogue.bias = bias_.empty() ? nullptr : bias_.data();
      epilogue.residual = residual_ ? in[1]->data.data() + n * outChannels_ * outPixels : nullptr;
      epilogue.activation = activation_;
      igemm(weights_, outPixels, [&](int64_t j0, int64_t nr, int8_t* panel) { planar_ ? packPlanarPanel(q, g, j0, nr, panel) : packPanel(q, g, j0, nr, panel); },
            negative, rowScale_.data(), y.data.data() + (n * y.shape[1] + offset) * outPixels, outPixels, epilogue);
    }, batch > 1);
  }

  struct Geometry {
    int64_t size[3], out[3], pad[3], padAfter[3];
  };

  // The planar layout's zero-padded extents: what the windows reach in each dimension (whole column quads in W).
  int64_t paddedExtent(const Geometry& g, int j) const {
    return (g.out[j] - 1) * w_.stride[j] + (j == 2 ? columnQuads_ * 4 : (w_.kernel[j] - 1) * w_.dilation[j] + 1);
  }
  int64_t paddedVolume(const Geometry& g) const { return paddedExtent(g, 0) * paddedExtent(g, 1) * paddedExtent(g, 2); }

  // One image's channels as zero-padded INT8 planes (the planar layout); whether any value is negative.
  bool quantizePlanes(const float* x, const Geometry& g, int8_t* q) const {
    const int64_t D = paddedExtent(g, 0), H = paddedExtent(g, 1), W = paddedExtent(g, 2);
    std::memset(q, 0, static_cast<size_t>(channels_ * D * H * W));
    const int64_t columns = std::max<int64_t>(0, std::min(g.size[2], W - g.pad[2]));
    bool negative = false;
    for (int64_t c = 0; c < channels_; c++)
      for (int64_t id = 0; id < g.size[0]; id++)
        for (int64_t ih = 0; ih < g.size[1]; ih++) {
          const int64_t pd = id + g.pad[0], ph = ih + g.pad[1];
          if (pd >= D || ph >= H || columns == 0) continue;  // rows no window reaches
          negative |= quantizeRow(x + ((c * g.size[0] + id) * g.size[1] + ih) * g.size[2], columns, inputScale_, q + ((c * D + pd) * H + ph) * W + g.pad[2]);
        }
    return negative;
  }

  // The planar layout's GEMM panel for output pixels [j0, j0 + nr): per quad of K (channel, kernel row, column quad)
  // the 4 neighbouring bytes under each pixel's window.
  void packPlanarPanel(const int8_t* q, const Geometry& g, int64_t j0, int64_t nr, int8_t* panel) const {
    const int64_t D = paddedExtent(g, 0), H = paddedExtent(g, 1), W = paddedExtent(g, 2);
    if (nr < kGemmPanel) std::memset(panel, 0, static_cast<size_t>(weights_.quads * 4 * kGemmPanel));
    int64_t base[kGemmPanel];  // each pixel's window origin in a padded plane
    for (int64_t j = 0; j < nr; j++) {
      const int64_t p = j0 + j;
      const int64_t od = p / (g.out[1] * g.out[2]), oh = (p / g.out[2]) % g.out[1], ow = p % g.out[2];
      base[j] = (od * w_.stride[0] * H + oh * w_.stride[1]) * W + ow * w_.stride[2];
    }
#if defined(__x86_64__)
    // A whole panel inside one output row: its pixels' windows `stride` bytes apart in every row of the planes.
    const bool oneRow = nr == kGemmPanel && w_.stride[2] <= 4 && base[kGemmPanel - 1] - base[0] == (kGemmPanel - 1) * w_.stride[2] && vbmiPanels();
#endif
    int8_t* dst = panel;
    for (int64_t c = 0; c < channels_; c++)
      for (int64_t kd = 0; kd < w_.kernel[0]; kd++)
        for (int64_t kh = 0; kh < w_.kernel[1]; kh++)
          for (int64_t quad = 0; quad < columnQuads_; quad++, dst += 4 * kGemmPanel) {
            const int8_t* src = q + ((c * D + kd * w_.dilation[0]) * H + kh * w_.dilation[1]) * W + 4 * quad;
#if defined(__x86_64__)
            if (oneRow) {
              planarRow(src + base[0], w_.stride[2], dst);
              continue;
            }
#endif
            for (int64_t j = 0; j < nr; j++) std::memcpy(dst + 4 * j, src + base[j], 4);
          }
  }

  // One image's [C, pixels] floats as [pixels, padded C] INT8 (padding channels zero); whether any is negative.
  // Pixel ranges per task, so no two threads write one cache line.
  bool quantizeImage(const float* x, int64_t pixels, int8_t* q) const {
    std::atomic<bool> negative{false};
    parallelRanges(pixels, 1024, [&](int64_t begin, int64_t end) {
      if (quantizeChannelsLast(x, pixels, channels_, paddedChannels_, begin, end, inputScale_, q)) negative.store(true, std::memory_order_relaxed);
    }, pixels * channels_ > (1 << 15));
    return negative.load();
  }

  // The GEMM panel for output pixels [j0, j0 + nr): for each tap, each pixel's padded channels (one word per
  // quad) from the input pixel under it, or zeros outside the input. Pixels split into runs along output rows, as
  // in the float implicit GEMM.
  void packPanel(const int8_t* q, const Geometry& g, int64_t j0, int64_t nr, int8_t* panel) const {
    static thread_local std::vector<int8_t> zeros;  // only ever grown, so all zero
    if (zeros.size() < static_cast<size_t>(paddedChannels_)) zeros.resize(static_cast<size_t>(paddedChannels_), 0);
    const int64_t wordsPerTap = paddedChannels_ / 4, tapBytes = wordsPerTap * 4 * kGemmPanel;
#if defined(__x86_64__)
    // Whole blocks of 16 words a pixel (64 channels and more): each tap's pixels gathered, then transposed.
    const bool transposed = wordsPerTap % 16 == 0 && wideTiles();
#else
    const bool transposed = false;
#endif
    if (nr < kGemmPanel && !transposed) std::memset(panel, 0, static_cast<size_t>(taps_ * tapBytes));
    struct Run { int64_t j, length, id, ih, iw; };
    Run runs[kGemmPanel];
    int64_t runCount = 0;
    for (int64_t j = 0; j < nr;) {
      const int64_t p = j0 + j;
      const int64_t od = p / (g.out[1] * g.out[2]), oh = (p / g.out[2]) % g.out[1], ow = p % g.out[2];
      const int64_t length = std::min(nr - j, g.out[2] - ow);
      runs[runCount++] = {j, length, od * w_.stride[0] - g.pad[0], oh * w_.stride[1] - g.pad[1], ow * w_.stride[2] - g.pad[2]};
      j += length;
    }
    int64_t tap = 0;
    for (int64_t kd = 0; kd < w_.kernel[0]; kd++)
      for (int64_t kh = 0; kh < w_.kernel[1]; kh++)
        for (int64_t kw = 0; kw < w_.kernel[2]; kw++, tap++) {
          int8_t* tapPanel = panel + tap * tapBytes;
          const int8_t* pixels[kGemmPanel];  // the transposed path's: each column's pixel, or zeros
          if (transposed) std::fill(pixels, pixels + kGemmPanel, zeros.data());
          for (int64_t r = 0; r < runCount; r++) {
            const Run& run = runs[r];
            const int64_t id = run.id + kd * w_.dilation[0], ih = run.ih + kh * w_.dilation[1];
            const int64_t iw0 = run.iw + kw * w_.dilation[2], sw = w_.stride[2];
            // Pixels t in [lo, hi) fall inside the input row; the rest read zeros.
            int64_t lo = 0, hi = 0;
            if (id >= 0 && id < g.size[0] && ih >= 0 && ih < g.size[1]) {
              lo = std::min(run.length, iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw);
              hi = std::max(lo, std::min(run.length, iw0 >= g.size[2] ? 0 : (g.size[2] - 1 - iw0) / sw + 1));
            }
            const int8_t* row = hi > lo ? q + (id * g.size[1] + ih) * g.size[2] * paddedChannels_ : nullptr;
            int8_t* dst = tapPanel + run.j * 4;
            if (transposed) {
              for (int64_t t = lo; t < hi; t++) pixels[run.j + t] = row + (iw0 + t * sw) * paddedChannels_;
              continue;
            }
            if (wordsPerTap == 1) {  // 4 channels or fewer (a network's first layer): one word per pixel
              for (int64_t t = 0; t < lo; t++) std::memset(dst + t * 4, 0, 4);
              for (int64_t t = lo; t < hi; t++) std::memcpy(dst + t * 4, row + (iw0 + t * sw) * 4, 4);
              for (int64_t t = hi; t < run.length; t++) std::memset(dst + t * 4, 0, 4);
              continue;
            }
            for (int64_t t = 0; t < run.length; t++) {
              const int8_t* pixel = t >= lo && t < hi ? row + (iw0 + t * sw) * paddedChannels_ : zeros.data();
              for (int64_t word = 0; word < wordsPerTap; word++) std::memcpy(dst + t * 4 + word * 4 * kGemmPanel, pixel + word * 4, 4);
            }
          }
#if defined(__x86_64__)
          if (transposed)
            for (int64_t block = 0; block < wordsPerTap / 16; block++) transposeWords(pixels, 64 * block, tapPanel + block * 16 * 4 * kGemmPanel, 4 * kGemmPanel);
#endif
        }
  }

  Window w_;
  int64_t outChannels_;
  float inputScale_;
  bool residual_ = false;
  int64_t taps_ = 1, channels_ = 1, paddedChannels_ = 4;
  bool planar_ = false;       // fewer than 4 channels: planar input, K quads along kernel columns
  int64_t columnQuads_ = 1;   // the planar layout's quads per kernel row
  Int8Matrix weights_;
  std::vector<float> bias_, rowScale_;  // rowScale_: per output channel, inputScale · the kernel row's grid step
  ActivationFn activation_;
};

}  // namespace

std::unique_ptr<Kernel> makeInt8Convolution(const OpDesc& op) { return std::make_unique<Int8Convolution>(op); }

}  // namespace netdef
