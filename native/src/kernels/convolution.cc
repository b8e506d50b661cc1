#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/activation_fn.h"
#include "kernels/blocked_convolution.h"
#include "kernels/blocked_winograd.h"
#include "kernels/depthwise.h"
#include "kernels/direct_convolution.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"
#include "kernels/window.h"
#include "kernels/winograd.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// A run of at most a panel's width (16 floats): fixed-size block copies, which compile to a few vector moves where
// a memcpy call would cost more than the copy.
inline void copyShort(float* dst, const float* src, int64_t count) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) __builtin_memcpy(dst + i, src + i, 8 * sizeof(float));
  for (; i + 4 <= count; i += 4) __builtin_memcpy(dst + i, src + i, 4 * sizeof(float));
  for (; i < count; i++) dst[i] = src[i];
}

// Pair rows [p0, p0 + pc) of a [K, ld] matrix of bfloat16 bits (`b` at row 0), columns [j0, j0 + nr), as one panel
// for bf16PairsGemm: row 2p's value in the low half of each lane, row 2p + 1's (zero past K) in the high half.
NETDEF_CLONES
void packPairRows(const uint16_t* b, int64_t K, int64_t ld, int64_t p0, int64_t pc, int64_t j0, int64_t nr, float* panel) {
  uint32_t* out = reinterpret_cast<uint32_t*>(panel);
  for (int64_t p = 0; p < pc; p++, out += kGemmPanel) {
    const uint16_t* low = b + 2 * (p0 + p) * ld + j0;
    const uint16_t* high = 2 * (p0 + p) + 1 < K ? low + ld : nullptr;
    if (high) for (int64_t j = 0; j < nr; j++) out[j] = low[j] | static_cast<uint32_t>(high[j]) << 16;
    else for (int64_t j = 0; j < nr; j++) out[j] = low[j];
    for (int64_t j = nr; j < kGemmPanel; j++) out[j] = 0;
  }
}

// The longest sums (input channels × taps) a convolution of several taps writes a channel-blocked output with: a stem's
// (3 channels of 3×3: 27; ResNet's 7×7: 147), whose direct tactics would otherwise write it planar.
constexpr int64_t kShortSums = 150;

// A depthwise convolution (and the 1×1 expansion before it) is computed inside the 1×1 after it, in bands of about
// kFusedBand bytes of its output, for several images, or one image whose tensors between them have kFuseRows rows
// or more. In-process alternation on MobileNetV2 at batch 1, every block's three layers fused against none: 1.1–1.16×
// on 28×28 maps, level on 14×14, 0.92–0.94× on 7×7 ones (two bands a thread, each reading all of the 1×1's weights,
// against its own split of them); the 112×112 and 56×56 blocks 7–9 % faster in the whole network. With 8 images,
// every block faster fused, MobileNetV2 1.2× in all.
constexpr int64_t kFuseRows = 14, kFusedBand = 256 << 10;

// Convolution: direct (direct_c16), implicit im2col + GEMM per group, Winograd, or a direct loop for depthwise;
// bias, residual and activation applied as each tile or channel is finished.
class Convolution : public Kernel {
 public:
  explicit Convolution(const OpDesc& op)
      : Kernel(op), w_(Window::read(op)), outChannels_(op.params.integer(op.name, "outChannels")),
        groups_(op.params.integer(op.name, "groups")), weight_(op.weight("kernel")) {
    if (outChannels_ < 1 || groups_ < 1 || outChannels_ % groups_) bad("outChannels/groups out of range");
    kernelVolume_ = w_.kernel[0] * w_.kernel[1] * w_.kernel[2];
    if (weight_.size() % (outChannels_ * kernelVolume_)) bad("kernel has " + std::to_string(weight_.size()) + " values");
    inPerGroup_ = static_cast<int64_t>(weight_.size()) / (outChannels_ * kernelVolume_);
    bias_ = optionalBias(op, outChannels_);
    activation_ = ActivationFn::fused(op);
    // The builder's auto-tuner may have chosen an implementation ("tactic"); "auto" picks by shape.
    tactic_ = op.params.strings.count("tactic") ? op.params.string(op.name, "tactic") : "auto";
    residual_ = op.params.has("residual") && op.params.number(op.name, "residual") != 0;
    if (residual_ != (op.inputs.size() == 2)) bad("a fused residual needs exactly a second input");
    if (tactic_ == "int8_implicit_gemm") bad("the int8_implicit_gemm tactic needs an inputScale");
    // The plan reader has checked the tactic against the schema's list (plan_schema.h).
    if (tactic_ == "implicit_gemm_k128") kBlock_ = 128;
    else if (tactic_ == "implicit_gemm_k512") kBlock_ = 512;
    // Where the engine holds a tensor channel-blocked (its choice, after this), convolutions whose epilogue is a
    // vectorised activation at most (and a rounding to a 16-bit type) have kernels of their own: 2-d ones of one
    // group read and write blocked tensors (and short sums, a stem's, write them from a planar input), directly or,
    // for the Winograd tactics on a blocked input, by the blocked Winograd kernel; 2-d depthwise ones read and write
    // them.
    const bool fits = epilogueFits();
    bool unitWindow = kernelVolume_ == 1;
    for (int j = 0; j < 3; j++) unitWindow = unitWindow && w_.stride[j] == 1 && w_.pre[j] == 0 && w_.post[j] == 0;
    const bool shortSums = w_.spatial == 2 && inPerGroup_ * kernelVolume_ <= kShortSums;
    if (fits && groups_ == 1 && (unitWindow || w_.spatial == 2)) {
      blocked_ = std::make_unique<BlockedConvolution>(weight_, outChannels_, inPerGroup_, w_);
      // A planar input is summed tap by tap from rows copied for each output row: fast for short sums only.
      writesBlockedFromPlanar_ = unitWindow || shortSums;
      unitWindow_ = unitWindow;
    }
    blockedDepthwise_ = fits && !residual_ && w_.spatial == 2 && groups_ == outChannels_ && inPerGroup_ == 1 && kernelVolume_ > 1;
    if (tactic_ == "direct_c16") {
      direct_ = std::make_unique<DirectConvolution>(weight_, outChannels_, inPerGroup_, groups_, w_);
      return;
    }
    if (tactic_ == "direct_rows") {
      direct_ = std::make_unique<DirectConvolution>(weight_, outChannels_, inPerGroup_, groups_, w_, true);
      return;
    }
    if (tactic_ == "winograd_2x2_3x3" || tactic_ == "winograd_4x4_3x3") {
      if (!Winograd::fits(w_.kernel, w_.stride, w_.dilation, groups_, w_.spatial)) bad("the " + tactic_ + " tactic needs a 2-d 3×3 kernel, stride 1, dilation 1, one group");
      winograd_ = std::make_unique<Winograd>(weight_, outChannels_, inPerGroup_, kBlock_, winogradTile());
      return;
    }
    // Weights are constant: each group's matrix is packed for the GEMM once here, not on every execution.
    const int64_t outPerGroup = outChannels_ / groups_, k = inPerGroup_ * kernelVolume_;
    depthwise_ = inPerGroup_ == 1 && outPerGroup == 1 && tactic_.rfind("implicit_gemm", 0) != 0;
    if ((depthwise_ && w_.spatial < 3) || blockedDepthwise_) depthwiseWeights_ = interleaveDepthwiseWeights(weight_, outChannels_, kernelVolume_);
    if (!depthwise_) {
      for (int64_t g = 0; g < groups_; g++) packed_.push_back(prepackA(outPerGroup, k, weight_.data() + g * outPerGroup * k, k));
      // Weights that are all bfloat16 values (a bfloat16 network's) are packed as pairs too, for a bfloat16 input.
      if (bf16DotSupported() && allBfloat16Values(weight_)) {
        for (int64_t g = 0; g < groups_; g++) pairs_.push_back(prepackPairsA(outPerGroup, k, weight_.data() + g * outPerGroup * k, k));
      }
    }
  }

  // Every implementation reads and writes 16-bit storage (the blocked kernels included) but the 3-d depthwise loop,
  // and the direct tactic's 1×1 kernels: they read a float32 input in place, where 16 bits would take a widening
  // pass over the whole input (the 1×1 GEMMs widen B panel by panel, in cache; the other kernels copy their input
  // anyway). Asked after settleLayouts.
  bool takes16BitStorage() const override {
    if (runsBlocked_) return true;
    if (direct_) return kernelVolume_ > 1;
    return !depthwise_ || w_.spatial < 3;
  }
  bool multipliesInBfloat16(Storage input) const override {
    if (runsBlocked_) return inputBlocked_ && blocked_ && blocked_->takesPairs() && input == Storage::kBfloat16;
    return !pairs_.empty() && input == Storage::kBfloat16;
  }
  // The output tile side m of the Winograd tactics, F(m×m, 3×3).
  int winogradTile() const { return tactic_ == "winograd_2x2_3x3" ? 2 : 4; }
  std::string kernelName() const override {
    if (runsBlocked_) {
      if (blockedWinograd_) return "blocked_" + tactic_;
      return blocked_ ? "blocked_direct" : "blocked_depthwise";
    }
    if (winograd_ || direct_) return tactic_;
    if (depthwise_) return "depthwise_direct";
    bool pointwise = kernelVolume_ == 1 && tactic_.rfind("implicit_gemm", 0) != 0;  // as run() decides
    for (int j = 0; j < 3; j++) pointwise = pointwise && w_.stride[j] == 1 && w_.pre[j] == 0 && w_.post[j] == 0;
    return pointwise ? "pointwise_gemm" : "implicit_gemm_k" + std::to_string(kBlock_);
  }
  void settleLayouts(bool inputBlocked, bool outputBlocked) override {
    runsBlocked_ = inputBlocked || outputBlocked;
    inputBlocked_ = inputBlocked;
    if (runsBlocked_) {  // run() takes the blocked kernels alone
      // The Winograd tactics on a blocked input: the blocked Winograd kernel (Winograd's products in float32), but
      // for bfloat16 weights multiplied in pairs, whose direct sums were faster (ResNet-18 in bfloat16 at batch 1:
      // 5.5 ms against 7.7 with float32 Winograd).
      if (winograd_ && inputBlocked && blocked_ && !blocked_->takesPairs() && inPerGroup_ % 8 == 0) blockedWinograd_ = std::make_unique<BlockedWinograd>(weight_, outChannels_, inPerGroup_, winogradTile());
      packed_ = {};
      pairs_ = {};
      direct_.reset();
      winograd_.reset();
      if (!blockedDepthwise_) depthwiseWeights_ = {};
    } else {
      blocked_.reset();
    }
  }
  bool readsBlocked(size_t input) const override { return input == 0 ? blocked_ || blockedDepthwise_ : blocked_ != nullptr; }
  bool writesBlocked() const override { return blocked_ || blockedDepthwise_; }
  bool writesBlockedFrom(bool inputBlocked) const override { return inputBlocked ? writesBlocked() : writesBlockedFromPlanar_ || blockedDepthwise_; }
  std::vector<size_t> blockedLike() const override { return residual_ ? std::vector<size_t>{1} : std::vector<size_t>{}; }
  bool prefersBlocked(size_t input) const override { return input == 0 && blocked_ && !unitWindow_; }
  // A 1×1 convolution reading a blocked input computes the blocked depthwise convolution before it too, and the
  // blocked 1×1 expansion (or stem) before that, a band of rows at a time: the band's expansion and depthwise output (all
  // channels) stay in this core's cache for the next step, instead of going out to memory and back (the largest
  // tensors of a MobileNet, 6× its blocks' inputs and outputs; the expansion's rows a band's depthwise windows
  // overlap are computed for each band).
  // A blocked 1×1 also computes a squeeze-excitation scale before it, each image's weights scaled by its channels'
  // values (Σ_c W[o, c]·(s[n, c]·x[n, c]) as Σ_c (W[o, c]·s[n, c])·x[n, c]), so the scaled tensor is never written.
  bool canFuseProducers(const std::vector<const Kernel*>& chain) const override {
    size_t full, scale;
    if (chain.size() == 1 && chain[0]->scalesChannels(full, scale)) return blocked_ && unitWindow_ && inputBlocked_;
    const auto* depthwise = dynamic_cast<const Convolution*>(chain.back());
    if (!blocked_ || !unitWindow_ || !depthwise || !depthwise->blockedDepthwise_) return false;  // this layer: a 1×1
    if (chain.size() == 1) return true;
    const auto* expansion = dynamic_cast<const Convolution*>(chain[0]);
    return chain.size() == 2 && expansion && expansion->blocked_ && !expansion->residual_ && (expansion->unitWindow_ || !expansion->inputBlocked_);
  }
  bool fusesProducerAt(const Kernel& producer, const Shape& between) const override {
    size_t full, scale;
    return producer.scalesChannels(full, scale) || between[0] > 1 || between[2] >= kFuseRows;
  }
  void runFused(const std::vector<const Kernel*>& chain, const std::vector<std::vector<const Buffer*>>& chainInputs, const std::vector<const Buffer*>& in,
                const std::vector<Buffer*>& outs) const override {
    size_t full, scale;
    if (chain[0]->scalesChannels(full, scale)) return runScaled(*chainInputs[0][full], *chainInputs[0][scale], in, *outs[0]);
    const auto& depthwise = static_cast<const Convolution&>(*chain.back());
    const Convolution* expansion = chain.size() == 2 ? static_cast<const Convolution*>(chain[0]) : nullptr;
    const Buffer& x = *chainInputs[0][0];  // the chain's input: the expansion's, or the depthwise layer's
    const Shape& expanded = chainInputs.back()[0]->shape;  // the depthwise layer's input
    const Shape& between = in[0]->shape;
    const int64_t batch = between[0], channels = between[1], OH = between[2], OW = between[3], H = expanded[2], W = expanded[3];
    const int64_t inPixels = H * W, outPixels = OH * OW;
    const bool xBlocked = x.layout == Layout::kBlocked8;
    const DepthwiseGeometry g = depthwise.geometry(expanded, between);
    // Bands of near-equal rows, about kFusedBand bytes of depthwise output (three times that with the expansion's
    // rows) each, and as many for each thread where the rows allow (7 bands of a 56×56 map on two threads made one wait for the other's
    // fourth).
    const int64_t rowBytes = channels * 4 * (OW + (expansion ? g.sh * W : 0));
    const int64_t threads = poolThreads(), rowsPerBand = std::max<int64_t>(1, (expansion ? 3 : 1) * kFusedBand / rowBytes);
    const int64_t items = ((batch * ((OH + rowsPerBand - 1) / rowsPerBand)) + threads - 1) / threads * threads;
    const int64_t bands = std::min(OH, (items + batch - 1) / batch);
    int64_t expansionPad[2] = {0, 0};
    if (expansion) expansion->pads(x.shape, expansionPad);
    const BlockedConvolution::Finish finish = blockedFinish(), expansionFinish = expansion ? expansion->blockedFinish() : BlockedConvolution::Finish{};
    const bool yBlocked = outs[0]->layout == Layout::kBlocked8;
    // A band of bfloat16 values (the depthwise layer rounds to them) is held in 16 bits for this 1×1's bfloat16 pairs.
    const bool pairBand = depthwise.activation_.round == ActivationFn::Round::kBfloat16 && blocked_->takesPairs();
    parallelFor(batch * bands, [&](int64_t item) {
      const int64_t n = item / bands, first = partBegin(OH, bands, item % bands), count = partBegin(OH, bands, item % bands + 1) - first;
      // The depthwise layer's input: the image's, or the expansion of the rows [top, bottom) this band's windows reach.
      BlockedConvolution::In planes = BlockedConvolution::in(x).at(n * channels * inPixels);
      int64_t rows = H;
      bool planeBlocked = xBlocked;
      DepthwiseGeometry bandGeometry = g;
      static thread_local Floats expandedRows, band;
      static thread_local std::vector<uint16_t> band16;
      if (expansion) {
        const int64_t top = std::max<int64_t>(0, first * g.sh - g.padTop), bottom = std::min(H, (first + count - 1) * g.sh - g.padTop + (g.KH - 1) * g.dh + 1);
        rows = std::max<int64_t>(0, bottom - top);
        expandedRows.resize(static_cast<size_t>(channels * std::max<int64_t>(1, rows) * W));
        if (rows > 0)
          expansion->blocked_->runRows(BlockedConvolution::in(x).at(n * volume(x.shape) / batch), xBlocked, x.shape[2], x.shape[3], W, expansionPad, top, rows,
                                       expandedRows.data(), expansionFinish);
        planes = BlockedConvolution::In{expandedRows.data()};
        planeBlocked = true;
        bandGeometry.H = std::max<int64_t>(1, rows);  // rows outside [top, bottom) read as padding: the band never needs them
        bandGeometry.padTop = g.padTop + top;
      }
      if (pairBand) band16.resize(static_cast<size_t>(channels * count * OW));
      else band.resize(static_cast<size_t>(channels * count * OW));
      for (int64_t c0 = 0; c0 < channels; c0 += 8) {
        DepthwiseFinish groupFinish[8];
        depthwise.depthwiseFinish(c0, groupFinish);
        const BlockedConvolution::In group = planes.at(c0 * rows * W);
        const DepthwisePlanes<const float> from{group.f, group.h, group.type, rows * W, planeBlocked};
        const DepthwisePlanes<float> into = pairBand ? DepthwisePlanes<float>{nullptr, band16.data() + c0 * count * OW, Storage::kBfloat16, count * OW, true}
                                                     : DepthwisePlanes<float>{band.data() + c0 * count * OW, nullptr, Storage::kFloat32, count * OW, true};
        depthwiseEight(from, 8, depthwise.depthwiseWeights_.data() + c0 * depthwise.kernelVolume_, bandGeometry, groupFinish, depthwise.activation_.round, into,
                       depthwiseScratch(bandGeometry), first, count);
      }
      BlockedConvolution::Finish image = finish;
      if (residual_) image.residual = BlockedConvolution::in(*in[1]).at(n * outChannels_ * outPixels);
      const BlockedConvolution::In bandValues = pairBand ? BlockedConvolution::In{nullptr, band16.data(), Storage::kBfloat16} : BlockedConvolution::In{band.data()};
      blocked_->runPixels(bandValues, true, count * OW, first * OW, count * OW, outPixels,
                          BlockedConvolution::out(*outs[0]).at(n * outChannels_ * outPixels), yBlocked, image);
    });
  }
  // The blocked kernels write into a concatenation's output as into their own, each image's channels further apart.
  bool writesIntoChannels() const override { return runsBlocked_ && blocked_ && !residual_; }
  void runIntoChannels(const std::vector<const Buffer*>& in, Buffer& whole, int64_t offset) const override { runBlocked(in, whole, offset); }
  // Every output value is of the type the fused activation rounds to, whichever implementation runs.
  Storage writes16BitValues() const override {
    using Round = ActivationFn::Round;
    return activation_.round == Round::kBfloat16 ? Storage::kBfloat16 : activation_.round == Round::kFloat16 ? Storage::kFloat16 : Storage::kFloat32;
  }

  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    std::string problem;
    const Shape out = convolutionOutput(w_, in.at(0), inPerGroup_ * groups_, outChannels_, problem);
    if (!problem.empty()) fail(problem);
    if (residual_ && (in.size() != 2 || in[1] != out)) fail("the fused residual input must have the output's shape " + formatShape(out));
    return {out};
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override {
    const Shape& s = in[0]->shape;
    const Shape& os = outs[0]->shape;
    int64_t size[3], out[3], pad[3], padAfter[3];
    spatialOf(s, w_.spatial, size);
    spatialOf(os, w_.spatial, out);
    for (int j = 0; j < 3; j++) { int64_t o; w_.resolve(j, size[j], pad[j], padAfter[j], o); }
    const int64_t batch = s[0];
    const int64_t inPixels = size[0] * size[1] * size[2], outPixels = out[0] * out[1] * out[2];
    const int64_t outPerGroup = outChannels_ / groups_;
    const bool pointwiseShape = kernelVolume_ == 1 && pad[0] + pad[1] + pad[2] == 0 && w_.stride[0] * w_.stride[1] * w_.stride[2] == 1;
    const bool pointwise = pointwiseShape && tactic_.rfind("implicit_gemm", 0) != 0;
    const bool xBlocked = in[0]->layout == Layout::kBlocked8, yBlocked = outs[0]->layout == Layout::kBlocked8;
    if ((xBlocked || yBlocked) && blocked_) return runBlocked(in, *outs[0], 0);
    if (xBlocked || yBlocked) {
      if (!blockedDepthwise_) fail("a channel-blocked tensor reached a layer without a kernel for it");
      parallelFor(batch, [&](int64_t n) { depthwiseConv(imageOf(in, outs, n), size, out, pad); }, batch > 1);
      return;
    }
    if (winograd_) return runWinograd(in, outs, size, out, pad);
    // Several images: one per thread (the GEMMs inside then run serially: the pool runs one parallel loop at a time),
    // which beats splitting each small per-image GEMM across cores.
    parallelFor(batch, [&](int64_t n) {
      const ImageIO image = imageOf(in, outs, n);
      if (direct_) return direct_->run(image, size, out, pad, bias_.empty() ? nullptr : bias_.data(), activation_);
      if (depthwise_) return depthwiseConv(image, size, out, pad);
      for (int64_t g = 0; g < groups_; g++) {
        const int64_t inOffset = g * inPerGroup_ * inPixels, outOffset = g * outPerGroup * outPixels;
        const float* xg = image.x ? image.x + inOffset : nullptr;
        const uint16_t* xg16 = image.x16 ? image.x16 + inOffset : nullptr;
        const float* wg = weight_.data() + g * outPerGroup * inPerGroup_ * kernelVolume_;
        float* yg = image.y ? image.y + outOffset : nullptr;
        if (!yg && inPerGroup_ * kernelVolume_ > kBlock_) {
          // A 16-bit output's partial sums over K blocks are held in float32 until the last block's epilogue.
          static thread_local Floats partial;
          partial.resize(static_cast<size_t>(outPerGroup * outPixels));
          yg = partial.data();
        }
        const float* packed = packed_.at(g).data();
        const GemmEpilogue epilogue = convolutionEpilogue(image, outOffset, bias_.empty() ? nullptr : bias_.data() + g * outPerGroup, activation_);
        if (!pairs_.empty() && xg16 && image.x16Type == Storage::kBfloat16) {
          // bfloat16 input and weights: products at twice float32's rate, the same values up to the order of the sums.
          // (A 16-bit output's partial sums go to `partial`, set above whenever K > kBlock_: a fortiori for K/2 pairs.)
          const int64_t K = inPerGroup_ * kernelVolume_;
          bf16PairsGemm(outPerGroup, outPixels, (K + 1) / 2, [&](int64_t p0, int64_t pc, int64_t j0, int64_t nr, float* panel) {
            if (pointwise) {
              packPairRows(xg16, K, outPixels, p0, pc, j0, nr, panel);
              return panel;
            }
            static thread_local std::vector<uint16_t> staged;
            const int64_t rows = std::min(2 * pc, K - 2 * p0);
            staged.resize(static_cast<size_t>(rows * kGemmPanel));
            packPatches(xg, xg16, image.x16Type, size, out, pad, 2 * p0, rows, j0, nr, staged.data());
            packPairRows(staged.data(), rows, kGemmPanel, 0, (rows + 1) / 2, 0, kGemmPanel, panel);
            return panel;
          }, yg, outPixels, kBlock_, pairs_.at(g).data(), &epilogue);
          continue;
        }
        if (pointwise) {
          // B is the input itself, [channels, pixels]: read in place when float32, widened panel by panel otherwise.
          sgemmPackedB(outPerGroup, outPixels, inPerGroup_, wg, inPerGroup_, [&](int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* panel) {
            if (xg16) packHalvesPanel(kc, j0, nr, xg16 + k0 * outPixels, outPixels, image.x16Type, panel);
            else packBPanel(kc, j0, nr, xg + k0 * outPixels, outPixels, false, panel);
            return panel;
          }, yg, outPixels, false, kBlock_, packed, &epilogue, xg, outPixels);
        } else {
          sgemmPackedB(outPerGroup, outPixels, inPerGroup_ * kernelVolume_, wg, inPerGroup_ * kernelVolume_,
                       [&](int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* panel) { packPatches(xg, xg16, image.x16Type, size, out, pad, k0, kc, j0, nr, panel); return panel; },
                       yg, outPixels, false, kBlock_, packed, &epilogue);
        }
      }
    }, batch > 1);
  }

 private:
  // Image n's input, output and residual, each in its storage (16-bit where the engine chose it): one pointer of each pair.
  ImageIO imageOf(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs, int64_t n) const {
    const int64_t inAt = n * volume(in[0]->shape) / in[0]->shape[0], outAt = n * volume(outs[0]->shape) / outs[0]->shape[0];
    ImageIO image;
    image.x16Type = in[0]->storage;
    image.y16Type = outs[0]->storage;
    image.residual16Type = residual_ ? in[1]->storage : Storage::kFloat32;
    if (image.x16Type == Storage::kFloat32) image.x = in[0]->data.data() + inAt;
    else image.x16 = in[0]->halves() + inAt;
    if (image.y16Type == Storage::kFloat32) image.y = outs[0]->data.data() + outAt;
    else image.y16 = outs[0]->halves() + outAt;
    if (residual_ && image.residual16Type == Storage::kFloat32) image.residual = in[1]->data.data() + outAt;
    else if (residual_) image.residual16 = in[1]->halves() + outAt;
    image.xBlocked = in[0]->layout == Layout::kBlocked8;
    image.yBlocked = outs[0]->layout == Layout::kBlocked8;
    return image;
  }

  // This 1×1 on x scaled by one value per image and channel of `scale` ([N|1, C|1, 1, 1], in either layout: the
  // same bytes), each image's weights scaled instead (canFuseProducers).
  void runScaled(const Buffer& x, const Buffer& scale, const std::vector<const Buffer*>& in, Buffer& y) const {
    const int64_t batch = x.shape[0], channels = x.shape[1], images = scale.shape[0], perImage = scale.shape[1];
    static thread_local Floats values, scales;
    const float* s = floatValues(scale, values);
    scales.resize(static_cast<size_t>(batch * channels));
    for (int64_t n = 0; n < batch; n++)
      for (int64_t c = 0; c < channels; c++) scales[n * channels + c] = s[(images == 1 ? 0 : n) * perImage + (perImage == 1 ? 0 : c)];
    std::vector<const Buffer*> scaled = in;
    scaled[0] = &x;
    runBlocked(scaled, y, 0, scales.data());
  }

  // The blocked kernels' run, into channels [offset, offset + outChannels_) of y; `channelScales` (a 1×1's): each
  // image's input channels scaled by these values first ([N][C]).
  void runBlocked(const std::vector<const Buffer*>& in, Buffer& y, int64_t offset, const float* channelScales = nullptr) const {
    const Shape& s = in[0]->shape;
    int64_t pad[2];
    pads(s, pad);
    const int64_t OH = y.shape[2], OW = y.shape[3];
    const bool xBlocked = in[0]->layout == Layout::kBlocked8, yBlocked = y.layout == Layout::kBlocked8;
    BlockedConvolution::Finish finish = blockedFinish();
    if (residual_) finish.residual = BlockedConvolution::in(*in[1]);
    const BlockedConvolution::Out into = BlockedConvolution::out(y).at(offset * OH * OW);
    if (blockedWinograd_ && xBlocked) return blockedWinograd_->run(s[0], s[2], s[3], OH, OW, pad, BlockedConvolution::in(*in[0]), into, y.shape[1], yBlocked, finish);
    blocked_->run(s[0], s[2], s[3], OH, OW, pad, BlockedConvolution::in(*in[0]), xBlocked, into, y.shape[1], yBlocked, finish, channelScales);
  }

  // The leading padding (rows, columns) of a 2-d window on an input shape ([N, C, H, W]).
  void pads(const Shape& in, int64_t pad[2]) const {
    for (int j = 0; j < 2; j++) { int64_t after, extent; w_.resolve(j + 1, in[2 + j], pad[j], after, extent); }
  }

  // The depthwise window for an input and output shape ([N, C, H, W]).
  DepthwiseGeometry geometry(const Shape& in, const Shape& out) const {
    int64_t pad[2];
    pads(in, pad);
    return {in[2], in[3], out[2], out[3], w_.kernel[1], w_.kernel[2], w_.stride[1], w_.stride[2], w_.dilation[1], w_.dilation[2], pad[0], pad[1]};
  }

  // Channels c0 … c0+7's bias, clamp and activation, for depthwiseEight (the activation is a vectorised one).
  void depthwiseFinish(int64_t c0, DepthwiseFinish (&finish)[8]) const {
    float lower, upper;
    clampBounds(lower, upper);
    for (int64_t i = 0; i < 8 && c0 + i < outChannels_; i++) finish[i] = {bias_.empty() ? 0.0f : bias_[c0 + i], lower, upper, gate()};
  }

  // What the blocked kernels do to this layer's sums: bias, the clamp, the rounding (the residual is the caller's).
  BlockedConvolution::Finish blockedFinish() const {
    BlockedConvolution::Finish finish;
    finish.bias = bias_.empty() ? nullptr : bias_.data();
    clampBounds(finish.lower, finish.upper);
    finish.gate = gate();
    finish.round = activation_.round;
    return finish;
  }

  // Whether the epilogues of the blocked and depthwise kernels take the fused activation: a clamp (ReLU, clip),
  // none, or one vmath::activate computes (SiLU, sigmoid, hardswish, …).
  bool epilogueFits() const {
    const auto act = activation_.type;
    return act == ActivationFn::Type::kNone || act == ActivationFn::Type::kRelu || act == ActivationFn::Type::kClip || vmath::vectorised(act);
  }

  // The fused activation as a clamp: ReLU [0, ∞), clip [α, β], anything else (−∞, ∞).
  void clampBounds(float& lower, float& upper) const {
    lower = activation_.type == ActivationFn::Type::kRelu ? 0.0f : activation_.type == ActivationFn::Type::kClip ? activation_.alpha : -INFINITY;
    upper = activation_.type == ActivationFn::Type::kClip ? activation_.beta : INFINITY;
  }

  // The fused activation where it is not a clamp (none where it is).
  EpilogueActivation gate() const {
    const auto act = activation_.type;
    if (act == ActivationFn::Type::kRelu || act == ActivationFn::Type::kClip) return {};
    return {act, activation_.alpha, activation_.beta};
  }

  // All images through the Winograd GEMMs at once. A 16-bit output is computed into a float32 batch, each channel
  // narrowed once finished.
  void runWinograd(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs, const int64_t size[3], const int64_t out[3], const int64_t pad[3]) const {
    const int64_t batch = in[0]->shape[0], outPixels = out[1] * out[2];
    const ImageIO first = imageOf(in, outs, 0);
    static thread_local Floats wide;
    if (first.y16) wide.resize(static_cast<size_t>(batch * outChannels_ * outPixels));
    float* target = first.y16 ? wide.data() : first.y;
    winograd_->run(batch, first.x, first.x16, first.x16Type, size[1], size[2], pad[1], pad[2], target, out[1], out[2], [&](int64_t n, int64_t c, float* plane) {
      const ImageIO image = imageOf(in, outs, n);
      finishChannel(c, plane, image, outPixels);
      if (image.y16) narrowToHalves(plane, image.y16 + c * outPixels, outPixels, image.y16Type);
    });
  }

  // y += bias (+ the image's residual, float32 or 16-bit storage), then the fused activation, for channel c's plane
  // (depthwise and Winograd paths).
  void finishChannel(int64_t c, float* yc, const ImageIO& image, int64_t pixels) const {
    if (!bias_.empty()) { const float b = bias_[c]; for (int64_t p = 0; p < pixels; p++) yc[p] += b; }
    if (image.residual) { const float* rc = image.residual + c * pixels; for (int64_t p = 0; p < pixels; p++) yc[p] += rc[p]; }
    if (image.residual16) {
      static thread_local Floats wide;
      wide.resize(static_cast<size_t>(pixels));
      widenHalves(image.residual16 + c * pixels, wide.data(), pixels, image.residual16Type);
      for (int64_t p = 0; p < pixels; p++) yc[p] += wide[p];
    }
    activation_.apply(yc, pixels);
  }

  // Columns [j0, j0 + nr) of rows k0 … k0+kc of a [K, ld] matrix in 16-bit storage (`b` at row k0), widened into one
  // zero-padded GEMM panel.
  static void packHalvesPanel(int64_t kc, int64_t j0, int64_t nr, const uint16_t* b, int64_t ld, Storage type, float* panel) {
    for (int64_t k = 0; k < kc; k++) {
      float* dst = panel + k * kGemmPanel;
      widenHalves(b + k * ld + j0, dst, nr, type);
      for (int64_t j = nr; j < kGemmPanel; j++) dst[j] = 0.0f;
    }
  }

  // One GEMM panel of the implicit im2col matrix: rows (c, kd, kh, kw) k0…k0+kc, columns (output pixels) j0…j0+nr,
  // read straight from the input (zero outside it), so no im2col buffer is ever written. The panel's pixels split
  // into runs along one output row. Where each run reads, and which of its pixels fall inside the input, depends on
  // the tap (kd, kh, kw) but not on the channel: it is found once per tap and run, and every row is then copies
  // between zero-filled edges.
  // The input is float32 (x) or 16-bit storage of `type` (x16), widened as it is copied.
  // Into a panel of uint16_t, the 16-bit values are copied as they are (for bf16PairsGemm).
  template <typename T>
  void packPatches(const float* x, const uint16_t* x16, Storage type, const int64_t size[3], const int64_t out[3], const int64_t pad[3],
                   int64_t k0, int64_t kc, int64_t j0, int64_t nr, T* panel) const {
    struct Segment { int64_t j, length, lo, hi, source; };  // pixels [lo, hi) of the run read source + t·sw
    int64_t runCount = 0;
    int64_t runJ[kGemmPanel], runLength[kGemmPanel], runD[kGemmPanel], runH[kGemmPanel], runW[kGemmPanel];
    for (int64_t j = 0; j < nr; runCount++) {
      const int64_t p = j0 + j;
      const int64_t od = p / (out[1] * out[2]), oh = (p / out[2]) % out[1], ow = p % out[2];
      runJ[runCount] = j;
      runLength[runCount] = std::min(nr - j, out[2] - ow);
      runD[runCount] = od * w_.stride[0] - pad[0];
      runH[runCount] = oh * w_.stride[1] - pad[1];
      runW[runCount] = ow * w_.stride[2] - pad[2];
      j += runLength[runCount];
    }
    const int64_t sw = w_.stride[2];
    static thread_local std::vector<Segment> segments;
    segments.resize(static_cast<size_t>(kernelVolume_ * runCount));
    for (int64_t t = 0; t < kernelVolume_; t++) {
      const int64_t kd = t / (w_.kernel[1] * w_.kernel[2]), kh = (t / w_.kernel[2]) % w_.kernel[1], kw = t % w_.kernel[2];
      for (int64_t q = 0; q < runCount; q++) {
        Segment& seg = segments[t * runCount + q];
        seg = {runJ[q], runLength[q], 0, 0, 0};
        const int64_t id = runD[q] + kd * w_.dilation[0], ih = runH[q] + kh * w_.dilation[1], iw0 = runW[q] + kw * w_.dilation[2];
        if (id < 0 || id >= size[0] || ih < 0 || ih >= size[1]) continue;  // the whole run reads padding
        // Pixels with 0 <= iw0 + t·sw < W (no division at stride 1: it would cost more than the copy).
        seg.lo = std::min(seg.length, iw0 >= 0 ? 0 : sw == 1 ? -iw0 : (-iw0 + sw - 1) / sw);
        seg.hi = std::max(seg.lo, std::min(seg.length, iw0 >= size[2] ? 0 : sw == 1 ? size[2] - iw0 : (size[2] - 1 - iw0) / sw + 1));
        seg.source = (id * size[1] + ih) * size[2] + iw0;
      }
    }
    const int64_t plane = size[0] * size[1] * size[2];
    int64_t c = k0 / kernelVolume_, t = k0 % kernelVolume_;
    for (int64_t r = 0; r < kc; r++) {
      const float* xc = x ? x + c * plane : nullptr;
      const uint16_t* xc16 = x16 ? x16 + c * plane : nullptr;
      T* dst = panel + r * kGemmPanel;
      for (const Segment* seg = segments.data() + t * runCount, *end = seg + runCount; seg < end; seg++) {
        T* d = dst + seg->j;
        for (int64_t i = 0; i < seg->lo; i++) d[i] = T(0);
        if constexpr (std::is_same_v<T, uint16_t>) {
          if (sw == 1) for (int64_t i = seg->lo; i < seg->hi; i++) d[i] = xc16[seg->source + i];
          else for (int64_t i = seg->lo; i < seg->hi; i++) d[i] = xc16[seg->source + i * sw];
        } else {
          if (xc16 && sw == 1) widenHalves(xc16 + seg->source + seg->lo, d + seg->lo, seg->hi - seg->lo, type);
          else if (xc16) for (int64_t i = seg->lo; i < seg->hi; i++) d[i] = fromHalfBits(xc16[seg->source + i * sw], type);
          else if (sw == 1) copyShort(d + seg->lo, xc + seg->source + seg->lo, seg->hi - seg->lo);
          else for (int64_t i = seg->lo; i < seg->hi; i++) d[i] = xc[seg->source + i * sw];
        }
        for (int64_t i = seg->hi; i < seg->length; i++) d[i] = T(0);
      }
      for (int64_t j = nr; j < kGemmPanel; j++) dst[j] = T(0);
      if (++t == kernelVolume_) { t = 0; c++; }
    }
  }

  // Depthwise: 2-d in groups of 8 channels (depthwiseEight), 3-d one channel at a time (float32 storage only); each
  // finished (bias, residual, activation) while it is still in cache.
  void depthwiseConv(const ImageIO& image, const int64_t size[3], const int64_t out[3], const int64_t pad[3]) const {
    const int64_t inPixels = size[0] * size[1] * size[2], outPixels = out[0] * out[1] * out[2];
    const bool residual = image.residual || image.residual16;
    if (w_.spatial == 3) {
      // One channel at a time, in blocks of channels per task when planes are small.
      const int64_t perTask = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, outPixels * kernelVolume_));
      parallelFor((outChannels_ + perTask - 1) / perTask, [&](int64_t task) {
        for (int64_t c = task * perTask; c < std::min(outChannels_, (task + 1) * perTask); c++) {
          float* yc = image.y + c * outPixels;
          depthwiseVolume(image.x + c * inPixels, weight_.data() + c * kernelVolume_, yc, size, out, pad);
          finishChannel(c, yc, image, outPixels);
        }
      }, outChannels_ * outPixels * kernelVolume_ > (1 << 14));
      return;
    }
    // Bias, a vectorised activation and the rounding are applied as the sums are stored; residuals and other
    // activations on the float32 planes (in this thread's scratch when the output is held in 16 bits).
    const bool inRegister = !residual && epilogueFits();
    DepthwiseGeometry g{size[1], size[2], out[1], out[2], w_.kernel[1], w_.kernel[2], w_.stride[1], w_.stride[2], w_.dilation[1], w_.dilation[2], pad[1], pad[2]};
    parallelItems((outChannels_ + 7) / 8, outPixels * kernelVolume_ + inPixels, [&](int64_t group) {  // vector steps a group
      const int64_t c0 = group * 8, count = std::min<int64_t>(8, outChannels_ - c0);
      const DepthwisePlanes<const float> x{image.x ? image.x + c0 * inPixels : nullptr, image.x16 ? image.x16 + c0 * inPixels : nullptr, image.x16Type, inPixels, image.xBlocked};
      const float* w = depthwiseWeights_.data() + group * kernelVolume_ * 8;
      DepthwiseFinish finish[8];
      if (inRegister) {
        depthwiseFinish(c0, finish);
        const DepthwisePlanes<float> y{image.y ? image.y + c0 * outPixels : nullptr, image.y16 ? image.y16 + c0 * outPixels : nullptr, image.y16Type, outPixels, image.yBlocked};
        return depthwiseEight(x, count, w, g, finish, activation_.round, y, depthwiseScratch(g));
      }
      static thread_local Floats planes;
      if (image.y16) planes.resize(static_cast<size_t>(8 * outPixels));
      float* y = image.y16 ? planes.data() : image.y + c0 * outPixels;
      depthwiseEight(x, count, w, g, finish, ActivationFn::Round::kNone, {y, nullptr, Storage::kFloat32, outPixels}, depthwiseScratch(g));
      for (int64_t i = 0; i < count; i++) {
        finishChannel(c0 + i, y + i * outPixels, image, outPixels);
        if (image.y16) narrowToHalves(y + i * outPixels, image.y16 + (c0 + i) * outPixels, outPixels, image.y16Type);
      }
    }, outChannels_ * outPixels * kernelVolume_ > (1 << 14));
  }

  // One 3-d channel: tap by tap over the output, bounds found per row.
  void depthwiseVolume(const float* xc, const float* wc, float* yc, const int64_t size[3], const int64_t out[3], const int64_t pad[3]) const {
    std::fill(yc, yc + out[0] * out[1] * out[2], 0.0f);
    for (int64_t kd = 0; kd < w_.kernel[0]; kd++)
      for (int64_t kh = 0; kh < w_.kernel[1]; kh++)
        for (int64_t kw = 0; kw < w_.kernel[2]; kw++) {
          const float wv = wc[(kd * w_.kernel[1] + kh) * w_.kernel[2] + kw];
          for (int64_t od = 0; od < out[0]; od++) {
            const int64_t id = od * w_.stride[0] - pad[0] + kd * w_.dilation[0];
            if (id < 0 || id >= size[0]) continue;
            for (int64_t oh = 0; oh < out[1]; oh++) {
              const int64_t ih = oh * w_.stride[1] - pad[1] + kh * w_.dilation[1];
              if (ih < 0 || ih >= size[1]) continue;
              const float* xr = xc + (id * size[1] + ih) * size[2];
              float* yr = yc + (od * out[1] + oh) * out[2];
              const int64_t off = kw * w_.dilation[2] - pad[2];
              // Output columns whose input column is inside [0, W).
              int64_t lo = off >= 0 ? 0 : (-off + w_.stride[2] - 1) / w_.stride[2];
              int64_t hi = size[2] - 1 - off < 0 ? 0 : std::min(out[2], (size[2] - 1 - off) / w_.stride[2] + 1);
              for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow * w_.stride[2] + off];
            }
          }
        }
  }

  Window w_;
  int64_t outChannels_, groups_, kernelVolume_ = 1, inPerGroup_ = 1;
  std::string tactic_;
  int64_t kBlock_ = 256;
  bool residual_ = false;
  std::vector<std::vector<float>> packed_;  // per group, in the GEMM's panel layout
  std::vector<std::vector<float>> pairs_;   // the same as bfloat16 pairs (prepackPairsA), where the CPU and weights allow
  std::unique_ptr<Winograd> winograd_;  // the Winograd tactics' transformed, packed weights
  std::unique_ptr<DirectConvolution> direct_;  // the direct_c16 tactic's packed weights
  bool depthwise_ = false;  // one input and one output channel per group, not pinned to a GEMM: the depthwise loops
  std::unique_ptr<BlockedConvolution> blocked_;  // the kernel for a channel-blocked output (and a 1×1's blocked input)
  std::unique_ptr<BlockedWinograd> blockedWinograd_;  // the Winograd tactics' kernel for a blocked input
  bool writesBlockedFromPlanar_ = false;  // blocked_ writes a blocked output from a planar input fast (a 1×1, a stem)
  bool unitWindow_ = false;  // 1×1, stride 1, no padding
  bool blockedDepthwise_ = false;  // a 2-d depthwise convolution that can read and write channel-blocked tensors
  bool runsBlocked_ = false, inputBlocked_ = false;  // settled by the engine: a tensor of this layer is blocked, the input is
  std::vector<float> depthwiseWeights_;  // 2-d depthwise: interleaveDepthwiseWeights
  std::vector<float> weight_, bias_;
  ActivationFn activation_;
};

// Transposed convolution: per group, cols = Wᵀ · x, then col2im scatter-adds the columns into the output.
class Deconvolution : public Kernel {
 public:
  explicit Deconvolution(const OpDesc& op)
      : Kernel(op), w_(Window::read(op)), outChannels_(op.params.integer(op.name, "outChannels")),
        groups_(op.params.integer(op.name, "groups")), outputPadding_(op.params.integers(op.name, "outputPadding")), weight_(op.weight("kernel")) {
    if (outChannels_ < 1 || groups_ < 1 || outChannels_ % groups_) bad("outChannels/groups out of range");
    if (static_cast<int>(outputPadding_.size()) != w_.spatial) bad("outputPadding length");
    kernelVolume_ = w_.kernel[0] * w_.kernel[1] * w_.kernel[2];
    const int64_t perIn = (outChannels_ / groups_) * kernelVolume_;
    if (weight_.size() % perIn) bad("kernel has " + std::to_string(weight_.size()) + " values");
    inChannels_ = static_cast<int64_t>(weight_.size()) / perIn;
    if (inChannels_ % groups_) bad("kernel does not split into groups");
    bias_ = optionalBias(op, outChannels_);
    // Wᵀ per group, once: W is [in, out/groups, k…]; rows (o, k…) × columns (c).
    const int64_t inPerGroup = inChannels_ / groups_, rows = perIn;
    transposed_.resize(static_cast<size_t>(groups_ * rows * inPerGroup));
    for (int64_t g = 0; g < groups_; g++)
      for (int64_t c = 0; c < inPerGroup; c++)
        for (int64_t r = 0; r < rows; r++) transposed_[(g * rows + r) * inPerGroup + c] = weight_[(g * inPerGroup + c) * rows + r];
    // Windows that tile the output exactly (stride = kernel, no padding, dilation 1: U-Net's and FCN's 2×2 stride-2
    // upsampling): each output value has one product, written once instead of accumulated into a zeroed output.
    tiles_ = true;
    for (int j = 0; j < 3; j++) tiles_ = tiles_ && w_.stride[j] == w_.kernel[j] && w_.pre[j] == 0 && w_.post[j] == 0 && (w_.kernel[j] == 1 || w_.dilation[j] == 1);
    for (int64_t p : outputPadding_) tiles_ = tiles_ && p == 0;
  }

  void extents(const Shape& s, int64_t size[3], int64_t out[3]) const {
    spatialOf(s, w_.spatial, size);
    for (int j = 0; j < 3; j++) {
      const int i = j - (3 - w_.spatial);
      const int64_t op = i >= 0 ? outputPadding_[i] : 0;
      out[j] = (size[j] - 1) * w_.stride[j] - w_.pre[j] - w_.post[j] + w_.dilation[j] * (w_.kernel[j] - 1) + 1 + op;
    }
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (static_cast<int>(s.size()) != w_.spatial + 2 || s[1] != inChannels_) fail("input " + formatShape(s) + " does not fit the kernel (" + std::to_string(inChannels_) + " channels)");
    int64_t size[3], out[3];
    extents(s, size, out);
    Shape r = {s[0], outChannels_};
    for (int j = 3 - w_.spatial; j < 3; j++) {
      if (out[j] < 1) fail("output would be empty");
      r.push_back(out[j]);
    }
    return {r};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& outs) const override {
    const Shape& s = in[0]->shape;
    int64_t size[3], out[3];
    extents(s, size, out);
    const int64_t inPixels = size[0] * size[1] * size[2], outPixels = out[0] * out[1] * out[2];
    const int64_t inPerGroup = inChannels_ / groups_, outPerGroup = outChannels_ / groups_;
    const int64_t rows = outPerGroup * kernelVolume_;
    static thread_local Floats scratch;
    scratch.resize(static_cast<size_t>(rows * inPixels));
    float* cols = scratch.data();  // this thread's: the workers below read it through this pointer
    float* y = outs[0]->data.data();
    for (int64_t n = 0; n < s[0]; n++) {
      for (int64_t g = 0; g < groups_; g++) {
        const float* xg = in[0]->data.data() + (n * inChannels_ + g * inPerGroup) * inPixels;
        sgemm(rows, inPixels, inPerGroup, transposed_.data() + g * rows * inPerGroup, inPerGroup, xg, inPixels, false, cols, inPixels, false);
        float* yg = y + (n * outChannels_ + g * outPerGroup) * outPixels;
        parallelFor(outPerGroup, [&](int64_t o) {
          const float bias = bias_.empty() ? 0.0f : bias_[g * outPerGroup + o];
          float* yo = yg + o * outPixels;
          const float* colo = cols + o * kernelVolume_ * inPixels;
          if (tiles_) return tileOutput(colo, bias, size, out, yo);
          std::fill(yo, yo + outPixels, bias);
          for (int64_t k = 0; k < kernelVolume_; k++) {
            const int64_t kd = k / (w_.kernel[1] * w_.kernel[2]), kh = (k / w_.kernel[2]) % w_.kernel[1], kw = k % w_.kernel[2];
            const float* col = colo + k * inPixels;
            for (int64_t id = 0; id < size[0]; id++) {
              const int64_t od = id * w_.stride[0] - w_.pre[0] + kd * w_.dilation[0];
              if (od < 0 || od >= out[0]) continue;
              for (int64_t ih = 0; ih < size[1]; ih++) {
                const int64_t oh = ih * w_.stride[1] - w_.pre[1] + kh * w_.dilation[1];
                if (oh < 0 || oh >= out[1]) continue;
                for (int64_t iw = 0; iw < size[2]; iw++) {
                  const int64_t ow = iw * w_.stride[2] - w_.pre[2] + kw * w_.dilation[2];
                  if (ow < 0 || ow >= out[2]) continue;
                  yo[(od * out[1] + oh) * out[2] + ow] += col[(id * size[1] + ih) * size[2] + iw];
                }
              }
            }
          }
        }, rows * inPixels > 65536);
      }
    }
  }

 private:
  // One output channel of windows that tile the output: output row (od, oh) interleaves the kernel's columns kw of
  // input row (id, ih), each value plus the bias.
  void tileOutput(const float* col, float bias, const int64_t size[3], const int64_t out[3], float* y) const {
    const int64_t KD = w_.kernel[0], KH = w_.kernel[1], KW = w_.kernel[2], inPixels = size[0] * size[1] * size[2];
    for (int64_t od = 0; od < out[0]; od++)
      for (int64_t oh = 0; oh < out[1]; oh++) {
        const int64_t id = od / KD, kd = od % KD, ih = oh / KH, kh = oh % KH;
        float* row = y + (od * out[1] + oh) * out[2];
        for (int64_t kw = 0; kw < KW; kw++) {
          const float* from = col + ((kd * KH + kh) * KW + kw) * inPixels + (id * size[1] + ih) * size[2];
          for (int64_t iw = 0; iw < size[2]; iw++) row[iw * KW + kw] = from[iw] + bias;
        }
      }
  }

  Window w_;
  int64_t outChannels_, groups_;
  std::vector<int64_t> outputPadding_;
  std::vector<float> weight_, bias_, transposed_;
  int64_t kernelVolume_ = 1, inChannels_ = 1;
  bool tiles_ = false;
};

}  // namespace

std::unique_ptr<Kernel> makeConvolution(const OpDesc& op) {
  if (op.params.has("inputScale")) return makeInt8Convolution(op);
  return std::make_unique<Convolution>(op);
}
std::unique_ptr<Kernel> makeDeconvolution(const OpDesc& op) { return std::make_unique<Deconvolution>(op); }

}  // namespace netdef
