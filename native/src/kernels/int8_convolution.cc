#include <atomic>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "kernels/window.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Pixels [begin, end) of a [channels, pixels] float image into [pixels, paddedChannels] INT8: each pixel's 4
// channels of a quad assembled into one word (one store instead of four byte scatters). Whether any is negative.
bool quantizeRangeScalar(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
  int32_t negative = 0;
  for (int64_t c0 = 0; c0 < paddedChannels; c0 += 4)
    for (int64_t p = begin; p < end; p++) {
      uint32_t word = 0;
      for (int64_t t = 0; t < 4; t++) {
        const int32_t v = c0 + t < channels ? static_cast<int32_t>(quantizeToInt8(x[(c0 + t) * pixels + p], scale)) : 0;
        negative |= v;
        word |= static_cast<uint32_t>(v & 0xff) << (8 * t);
      }
      std::memcpy(q + p * paddedChannels + c0, &word, 4);
    }
  return negative < 0;
}

#if defined(__x86_64__)
// The same, 8 pixels at a time: division, round-to-nearest-even and saturation as quantizeToInt8 computes them
// (max before min, so NaN becomes −128 there too).
__attribute__((target("avx2"))) bool quantizeRangeAvx2(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
  const __m256 divisor = _mm256_set1_ps(scale), lower = _mm256_set1_ps(-128.0f), upper = _mm256_set1_ps(127.0f);
  const __m256i low = _mm256_set1_epi32(0xff);
  __m256i negative = _mm256_setzero_si256();
  const int64_t vectorEnd = begin + (end - begin) / 8 * 8;
  for (int64_t c0 = 0; c0 < paddedChannels; c0 += 4) {
    for (int64_t p = begin; p < vectorEnd; p += 8) {
      __m256i word = _mm256_setzero_si256();
      for (int64_t t = 0; t < 4 && c0 + t < channels; t++) {
        __m256 r = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + (c0 + t) * pixels + p), divisor), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256i v = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lower), upper));
        negative = _mm256_or_si256(negative, v);
        word = _mm256_or_si256(word, _mm256_sllv_epi32(_mm256_and_si256(v, low), _mm256_set1_epi32(static_cast<int>(8 * t))));
      }
      alignas(32) uint32_t words[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(words), word);
      for (int k = 0; k < 8; k++) std::memcpy(q + (p + k) * paddedChannels + c0, &words[k], 4);
    }
  }
  const bool tail = quantizeRangeScalar(x, pixels, channels, paddedChannels, vectorEnd, end, scale, q);
  return tail || _mm256_movemask_ps(_mm256_castsi256_ps(negative)) != 0;
}
#endif

bool quantizeRange(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return quantizeRangeAvx2(x, pixels, channels, paddedChannels, begin, end, scale, q);
#endif
  return quantizeRangeScalar(x, pixels, channels, paddedChannels, begin, end, scale, q);
}

// An explicitly quantized convolution (the builder fused quantize → dequantize → convolution): the input is
// quantized with `inputScale`, the kernel (on per-output-channel INT8 grids) multiplies it in integers, and the
// epilogue scales the exact int32 sums back to float with the bias, residual and activation.
//
// The quantized input is laid out channels-last (NHWC) with channels padded to a multiple of 4, and K ordered
// (tap, channel): each quad of K is then 4 channels of one pixel, 4 consecutive bytes, so a GEMM panel is built
// from whole words per pixel and tap rather than one im2col row at a time.
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
    const int64_t depth = taps_ * paddedChannels_;
    if (depth > (int64_t{1} << 16)) bad("an INT8 kernel of " + std::to_string(depth) + " values per output channel could overflow its int32 sums");
    // [out][channel][tap] → [out][tap][padded channel].
    std::vector<float> reordered(static_cast<size_t>(outChannels_ * depth), 0.0f);
    for (int64_t o = 0; o < outChannels_; o++)
      for (int64_t c = 0; c < channels_; c++)
        for (int64_t t = 0; t < taps_; t++) reordered[(o * taps_ + t) * paddedChannels_ + c] = kernel[(o * channels_ + c) * taps_ + t];
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

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override {
    Geometry g;
    spatialOf(in[0]->shape, w_.spatial, g.size);
    spatialOf(outs[0]->shape, w_.spatial, g.out);
    for (int j = 0; j < 3; j++) { int64_t extent; w_.resolve(j, g.size[j], g.pad[j], g.padAfter[j], extent); }
    const int64_t batch = in[0]->shape[0];
    const int64_t inPixels = g.size[0] * g.size[1] * g.size[2], outPixels = g.out[0] * g.out[1] * g.out[2];
    // Several images: one per thread (the GEMM inside then runs serially).
    parallelFor(batch, [&](int64_t n) {
      static thread_local std::vector<int8_t> quantized;  // this thread's: the GEMM's workers see it through `q`
      quantized.resize(static_cast<size_t>(inPixels * paddedChannels_));
      int8_t* q = quantized.data();
      const bool negative = quantizeChannelsLast(in[0]->data.data() + n * channels_ * inPixels, inPixels, q);
      GemmEpilogue epilogue;
      epilogue.bias = bias_.empty() ? nullptr : bias_.data();
      epilogue.residual = residual_ ? in[1]->data.data() + n * outChannels_ * outPixels : nullptr;
      epilogue.activation = activation_;
      igemm(weights_, outPixels, [&](int64_t j0, int64_t nr, int8_t* panel) { packPanel(q, g, j0, nr, panel); },
            negative, rowScale_.data(), outs[0]->data.data() + n * outChannels_ * outPixels, outPixels, epilogue);
    }, batch > 1);
  }

 private:
  struct Geometry {
    int64_t size[3], out[3], pad[3], padAfter[3];
  };

  // One image's [C, pixels] floats as [pixels, padded C] INT8 (padding channels zero); whether any is negative.
  // Pixel ranges per task, so no two threads write one cache line.
  bool quantizeChannelsLast(const float* x, int64_t pixels, int8_t* q) const {
    std::atomic<bool> negative{false};
    parallelRanges(pixels, 1024, [&](int64_t begin, int64_t end) {
      if (quantizeRange(x, pixels, channels_, paddedChannels_, begin, end, inputScale_, q)) negative.store(true, std::memory_order_relaxed);
    }, pixels * channels_ > (1 << 15));
    return negative.load();
  }

  // The GEMM panel for output pixels [j0, j0 + nr): for each tap, each pixel's padded channels (one word per
  // quad) from the input pixel under it, or zeros outside the input. Pixels split into runs along output rows, as
  // in the float implicit GEMM.
  void packPanel(const int8_t* q, const Geometry& g, int64_t j0, int64_t nr, int8_t* panel) const {
    static thread_local std::vector<int8_t> zeros;
    zeros.assign(static_cast<size_t>(paddedChannels_), 0);
    const int64_t wordsPerTap = paddedChannels_ / 4, tapBytes = wordsPerTap * 4 * kGemmPanel;
    if (nr < kGemmPanel) std::memset(panel, 0, static_cast<size_t>(taps_ * tapBytes));
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
        }
  }

  Window w_;
  int64_t outChannels_;
  float inputScale_;
  bool residual_ = false;
  int64_t taps_ = 1, channels_ = 1, paddedChannels_ = 4;
  Int8Matrix weights_;
  std::vector<float> bias_, rowScale_;  // rowScale_: per output channel, inputScale · the kernel row's grid step
  ActivationFn activation_;
};

}  // namespace

std::unique_ptr<Kernel> makeInt8Convolution(const OpDesc& op) { return std::make_unique<Int8Convolution>(op); }

}  // namespace netdef
