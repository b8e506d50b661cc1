#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "graph.h"
#include "kernels/buffer.h"
#include "kernels/shapes.h"

namespace netdef {

// One layer's implementation. Kernels are immutable once made, so one engine serves many execution contexts.
class Kernel {
 public:
  explicit Kernel(const OpDesc& op) : name_(op.name), kind_(op.kind) {}
  virtual ~Kernel() = default;
  // Output shapes for concrete input shapes; throws ExecutionError when the shapes do not fit the layer.
  virtual std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const = 0;
  // Computes the outputs, already sized to outputShapes() in their storage.
  virtual void run(const std::vector<const Buffer*>& inputs, const std::vector<Buffer*>& outputs) const = 0;
  // Whether run() reads and writes buffers in 16-bit storage (those not taking it only ever see float32).
  virtual bool takes16BitStorage() const { return false; }
  // Whether run() reads and writes int32/int64 tensors in integer storage; the engine refuses a plan that gives
  // integer tensors to a layer whose kernel does not (Engine::checkIntegers).
  virtual bool computesIntegers() const { return false; }
  // The 16-bit type every value written belongs to, rounded by the kernel itself (kFloat32: none).
  virtual Storage writes16BitValues() const { return Storage::kFloat32; }
  // Whether the outputs are values of the inputs' 16-bit type whenever the inputs are (max pooling: it only selects).
  virtual bool keeps16BitValues() const { return false; }
  // Whether it multiplies in bfloat16 (AVX-512 BF16) when its first input is held in `input` storage.
  virtual bool multipliesInBfloat16(Storage input) const { (void)input; return false; }
  // The implementation run() takes once the layouts are settled, where a layer kind has several and the plan's tactic
  // does not say which (inspect() shows it beside the tactic); empty otherwise.
  virtual std::string kernelName() const { return {}; }
  // Whether run() reads input `input`, and writes its output, channel-blocked when the engine holds them so (float32
  // tensors of 4 dimensions whose channels are a multiple of 8); `blockedLike`: inputs laid out as the output.
  virtual bool readsBlocked(size_t input) const { (void)input; return false; }
  virtual bool writesBlocked() const { return false; }
  // Whether it writes a blocked output fast enough when its first input is (or is not) blocked.
  virtual bool writesBlockedFrom(bool inputBlocked) const { (void)inputBlocked; return writesBlocked(); }
  virtual std::vector<size_t> blockedLike() const { return {}; }
  // Whether reading input `input` blocked is much faster than planar (a convolution with a window: its planar kernels
  // took twice as long), and whether this layer transposes inputs in the other layout than its output's: where every
  // reader of its output prefers it blocked, its blockedLike inputs may then be in either layout.
  virtual bool prefersBlocked(size_t input) const { (void)input; return false; }
  virtual bool transposesInputs() const { return false; }
  // Whether its inputs are preferred blocked wherever its output is (an element-wise chain, which runs on any layout
  // its inputs and output share: a reduced-float network's rounding after a concatenation, before a 3×3).
  virtual bool forwardsPreference() const { return false; }
  // Told once, before the layouts are chosen, the plan's declared shapes of its inputs and outputs (-1 where
  // dynamic): a kernel whose layouts depend on them (element-wise broadcasting) decides there.
  virtual void declareShapes(const std::vector<Shape>& inputs, const std::vector<Shape>& outputs) { (void)inputs, (void)outputs; }
  // Told once, when the engine is made (before any run), whether its first input and its output are blocked: a kernel
  // may drop what it then never uses (a 1×1 convolution's weights are packed for both layouts until then).
  virtual void settleLayouts(bool inputBlocked, bool outputBlocked) { (void)inputBlocked, (void)outputBlocked; }
  // Concatenations without copies: a producer that writes its output into channels [offset, offset + its channels)
  // of a larger 4-d tensor of the same batch, pixels, layout and storage (`whole`: the output of a concatenation on
  // the channels, its only reader), instead of a tensor of its own (writesIntoChannels: whether it can); and the
  // concatenation, told once when the engine is made which of its inputs are written so (takesWrittenInputs:
  // whether it can take them), copies only the others.
  virtual bool writesIntoChannels() const { return false; }
  virtual void runIntoChannels(const std::vector<const Buffer*>& inputs, Buffer& whole, int64_t offset) const { (void)inputs, (void)whole, (void)offset; }
  virtual bool takesWrittenInputs() const { return false; }
  virtual void settleWrittenInputs(const std::vector<bool>& written) { (void)written; }
  // Producer fusion: this layer computes the layers before it that lead to its first input along with its own work,
  // so that the tensors between them are never written (a depthwise convolution inside the 1×1 after it, and the 1×1
  // expansion before the depthwise one). canFuseProducers: whether it can for this chain of layers (in execution
  // order, each the only reader of the one before, the last writing this layer's first input); fusesProducerAt:
  // whether it does with a tensor of this shape between `producer` and the next; runFused: the run, given each
  // producer's inputs (the tensors between, never written, only have shapes).
  virtual bool canFuseProducers(const std::vector<const Kernel*>& chain) const { (void)chain; return false; }
  virtual bool fusesProducerAt(const Kernel& producer, const Shape& between) const { (void)producer, (void)between; return false; }
  // Whether this layer does nothing but multiply input `full` (the output's shape) by one value per image and channel
  // of input `scale` ([N|1, C|1, 1, 1]): a squeeze-excitation scale, which a 1×1 convolution reading its output alone
  // computes by scaling its own weights for each image.
  virtual bool scalesChannels(size_t& full, size_t& scale) const { (void)full, (void)scale; return false; }
  virtual void runFused(const std::vector<const Kernel*>& chain, const std::vector<std::vector<const Buffer*>>& chainInputs, const std::vector<const Buffer*>& inputs,
                        const std::vector<Buffer*>& outputs) const {
    (void)chain, (void)chainInputs, (void)inputs, (void)outputs;
  }

 protected:
  [[noreturn]] void fail(const std::string& message) const { throw ExecutionError(name_ + " (" + kind_ + "): " + message); }
  // A parameter or weight the plan holds in the wrong form.
  [[noreturn]] void bad(const std::string& message) const { throw PlanError(name_ + " (" + kind_ + "): " + message); }

  std::string name_;
  std::string kind_;
};

std::unique_ptr<Kernel> makeKernel(const OpDesc& op);

// Factories, one per kernel family file.
std::unique_ptr<Kernel> makeConvolution(const OpDesc& op);
std::unique_ptr<Kernel> makeInt8Convolution(const OpDesc& op);  // a convolution with an inputScale
std::unique_ptr<Kernel> makeDeconvolution(const OpDesc& op);
std::unique_ptr<Kernel> makePooling(const OpDesc& op);
std::unique_ptr<Kernel> makeFullyConnected(const OpDesc& op);
std::unique_ptr<Kernel> makeInt8Dense(const OpDesc& op);  // a dense layer with an inputScale
std::unique_ptr<Kernel> makeMatrixMultiply(const OpDesc& op);
std::unique_ptr<Kernel> makeActivation(const OpDesc& op);
std::unique_ptr<Kernel> makeUnary(const OpDesc& op);
std::unique_ptr<Kernel> makeElementWise(const OpDesc& op);
std::unique_ptr<Kernel> makeScale(const OpDesc& op);
std::unique_ptr<Kernel> makeSelect(const OpDesc& op);
std::unique_ptr<Kernel> makeParametricReLU(const OpDesc& op);
std::unique_ptr<Kernel> makeCast(const OpDesc& op);
std::unique_ptr<Kernel> makePointwiseChain(const OpDesc& op);
std::unique_ptr<Kernel> makeQuantize(const OpDesc& op);
std::unique_ptr<Kernel> makeDequantize(const OpDesc& op);
std::unique_ptr<Kernel> makeIdentity(const OpDesc& op);
std::unique_ptr<Kernel> makeConstant(const OpDesc& op);
std::unique_ptr<Kernel> makeShuffle(const OpDesc& op);
std::unique_ptr<Kernel> makeSlice(const OpDesc& op);
std::unique_ptr<Kernel> makeExpand(const OpDesc& op);
std::unique_ptr<Kernel> makeConcatenation(const OpDesc& op);
std::unique_ptr<Kernel> makePadding(const OpDesc& op);
std::unique_ptr<Kernel> makeGather(const OpDesc& op);
std::unique_ptr<Kernel> makeResize(const OpDesc& op);
std::unique_ptr<Kernel> makeSoftMax(const OpDesc& op);
std::unique_ptr<Kernel> makeReduce(const OpDesc& op);
std::unique_ptr<Kernel> makeTopK(const OpDesc& op);
std::unique_ptr<Kernel> makeNormalization(const OpDesc& op);
std::unique_ptr<Kernel> makeLRN(const OpDesc& op);

// A layer's optional bias, checked to hold one value per output channel.
std::vector<float> optionalBias(const OpDesc& op, int64_t channels);

}  // namespace netdef
