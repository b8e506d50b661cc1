#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/activation_fn.h"
#include "kernels/int8_gemm.h"
#include "kernels/kernel.h"
#include "kernels/pointwise_ops.h"
#include "kernels/simd.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// A chain of element-wise layers fused by the builder: steps "activation:<type>", "unary:<op>", "cast:<dtype>" and
// "elementWise:<op>:valueLeft|valueRight" (the next extra input on the other side), separated by '|'. Each chunk of
// elements goes through every step while in L1, so the chain costs one pass over memory.
class PointwiseChain : public Kernel {
 public:
  explicit PointwiseChain(const OpDesc& op) : Kernel(op) {
    const std::string& text = op.params.string(op.name, "steps");
    const std::vector<double>& alpha = op.params.list(op.name, "alpha");
    const std::vector<double>& beta = op.params.list(op.name, "beta");
    size_t operand = 1;
    for (size_t start = 0; start <= text.size();) {
      const size_t end = std::min(text.find('|', start), text.size());
      const std::vector<std::string> parts = split(text.substr(start, end - start));
      const size_t index = steps_.size();
      if (index >= alpha.size() || index >= beta.size()) bad("fewer alpha/beta values than steps");
      Step step;
      if (parts.size() == 2 && parts[0] == "activation") {
        step.activation = ActivationFn::parse(parts[1], alpha[index], beta[index]);
      } else if (parts.size() == 2 && parts[0] == "unary") {
        step.unary = unaryFunction(parts[1]);
        step.vector = vectorUnary(parts[1]);
      } else if (parts.size() == 2 && parts[0] == "cast") {
        // To float32 a float's value is itself; to a 16-bit type, the activations' vectorised rounding.
        step.castTo = parts[1];
        if (parts[1] == "bfloat16" || parts[1] == "float16") {
          step.activation.round = parts[1] == "bfloat16" ? ActivationFn::Round::kBfloat16 : ActivationFn::Round::kFloat16;
        } else if (parts[1] != "float32") {
          step.unary = castFunction(parts[1]);
          if (!step.unary) bad("chain step '" + text.substr(start, end - start) + "'");
        }
      } else if (parts.size() == 1 && (parts[0] == "quantize" || parts[0] == "dequantize")) {
        step.scale = static_cast<float>(alpha[index]);
        step.quantize = parts[0] == "quantize";
        step.dequantize = !step.quantize;
      } else if (parts.size() == 3 && parts[0] == "elementWise" && (parts[2] == "valueLeft" || parts[2] == "valueRight")) {
        step.binary = elementWiseFunction(parts[1]);
        step.arithmetic = parts[1] == "sum" ? '+' : parts[1] == "prod" ? '*' : parts[1] == "sub" ? '-' : 0;
        step.valueLeft = parts[2] == "valueLeft";
        step.operand = operand++;
      } else {
        bad("chain step '" + text.substr(start, end - start) + "'");
      }
      if (parts[0] != "activation" && parts[0] != "cast" && !step.unary && !step.binary && !step.quantize && !step.dequantize) bad("chain step '" + text.substr(start, end - start) + "'");
      steps_.push_back(step);
      start = end + 1;
    }
    if (operand != op.inputs.size()) bad("the chain's steps use " + std::to_string(operand) + " inputs, the layer has " + std::to_string(op.inputs.size()));
    operands_ = operand;
  }
  // Every input has the output's shape, and each value is computed from those at its own index: any layout they
  // all share (blocked ones included) does.
  bool readsBlocked(size_t) const override { return true; }
  bool writesBlocked() const override { return true; }
  std::vector<size_t> blockedLike() const override {
    std::vector<size_t> all(operands_);
    for (size_t i = 0; i < all.size(); i++) all[i] = i;
    return all;
  }
  bool forwardsPreference() const override { return true; }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    for (size_t i = 1; i < in.size(); i++) {
      if (in[i] != in[0]) fail("input " + std::to_string(i) + " has shape " + formatShape(in[i]) + ", the chain's value " + formatShape(in[0]));
    }
    return {in.at(0)};
  }
  // Reads and writes 16-bit storage, chunk by chunk through float32; its output is of the 16-bit type a chain ends
  // by rounding to (the builder's round trips: cast to bfloat16 or float16, then to float32).
  bool takes16BitStorage() const override { return true; }
  Storage writes16BitValues() const override {
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
      if (step->castTo == "float32") continue;
      return step->castTo == "bfloat16" ? Storage::kBfloat16 : step->castTo == "float16" ? Storage::kFloat16 : Storage::kFloat32;
    }
    return Storage::kFloat32;
  }

  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const int64_t n = volume(out[0]->shape);
    Buffer& y = *out[0];
    parallelRanges(n, kChunk, [&](int64_t begin, int64_t end) {
      const int64_t count = end - begin;
      // The chunk's values in float32: in the output itself, or in this thread's chunk when it is held in 16 bits.
      alignas(32) static thread_local float chunk[kChunk], operand[kChunk];
      float* v = y.storage == Storage::kFloat32 ? y.data.data() + begin : chunk;
      const float* first = floatChunk(*in[0], begin, count, v);
      if (first != v) std::copy(first, first + count, v);
      for (const Step& step : steps_) {
        if (step.binary) {
          const float* other = floatChunk(*in[step.operand], begin, count, operand);
          // The arithmetic ops inline (vectorised); the rest through their function.
          if (step.arithmetic == '+') for (int64_t i = 0; i < count; i++) v[i] += other[i];
          else if (step.arithmetic == '*') for (int64_t i = 0; i < count; i++) v[i] *= other[i];
          else if (step.arithmetic == '-' && step.valueLeft) for (int64_t i = 0; i < count; i++) v[i] -= other[i];
          else if (step.arithmetic == '-') for (int64_t i = 0; i < count; i++) v[i] = other[i] - v[i];
          else if (step.valueLeft) for (int64_t i = 0; i < count; i++) v[i] = step.binary(v[i], other[i]);
          else for (int64_t i = 0; i < count; i++) v[i] = step.binary(other[i], v[i]);
        } else if (step.quantize) {
          quantizeValues(v, v, count, step.scale);
        } else if (step.dequantize) {
          for (int64_t i = 0; i < count; i++) v[i] *= step.scale;
        } else if (step.unary) {
          applyUnary(step.vector, step.unary, v, v, count);
        } else if (step.castTo != "float32") {
          step.activation.apply(v, count);
        }
      }
      if (y.storage != Storage::kFloat32) narrowToHalves(v, y.halves() + begin, count, y.storage);
    }, n > 2 * kChunk);
  }

 private:
  size_t operands_ = 1;
  static constexpr int64_t kChunk = 4096;  // 16 KiB: the chunk stays in L1 through every step
  // Values [begin, begin + count) of a buffer as float32: where they lie, or widened into `scratch`.
  static const float* floatChunk(const Buffer& b, int64_t begin, int64_t count, float* scratch) {
    if (b.storage == Storage::kFloat32) return b.data.data() + begin;
    widenHalves(b.halves() + begin, scratch, count, b.storage);
    return scratch;
  }
  struct Step {
    ActivationFn activation;
    float (*unary)(float) = nullptr;
    VectorUnary vector = VectorUnary::kNone;  // the unary op's vector form, if it has one
    float (*binary)(float, float) = nullptr;
    char arithmetic = 0;  // '+', '*' or '-' for the binary ops run inline, decided once here
    bool valueLeft = true;
    bool quantize = false, dequantize = false;
    float scale = 1;
    size_t operand = 0;
    std::string castTo;  // a cast's type
  };
  static std::vector<std::string> split(const std::string& step) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t colon = step.find(':', start);
      parts.push_back(step.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) return parts;
      start = colon + 1;
    }
  }
  std::vector<Step> steps_;
};

}  // namespace

std::unique_ptr<Kernel> makePointwiseChain(const OpDesc& op) { return std::make_unique<PointwiseChain>(op); }

}  // namespace netdef
