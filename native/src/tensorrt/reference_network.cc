#include "tensorrt/reference_network.h"

#include <cstring>

#include "plan_reader.h"
#include "tensorrt/definition_rules.h"
#include "tensorrt/lowering.h"

namespace netdef::reference {

namespace {

size_t bytesPerValue(DataType type) {
  switch (type) {
    case DataType::kFLOAT: case DataType::kINT32: return 4;
    case DataType::kHALF: case DataType::kBF16: return 2;
    case DataType::kINT64: return 8;
    case DataType::kINT8: case DataType::kUINT8: case DataType::kBOOL: case DataType::kFP8: return 1;
    default: throw LoweringError("weights of type " + recording::toString(type) + " are not modelled by the reference");
  }
}

}  // namespace

Value ILayer::number(double v) { Value r; r.kind = Value::Kind::kNumber; r.numbers = {v}; return r; }
Value ILayer::boolean(bool v) { Value r; r.kind = Value::Kind::kBoolean; r.numbers = {v ? 1.0 : 0.0}; return r; }
Value ILayer::text(std::string v) { Value r; r.kind = Value::Kind::kText; r.text = std::move(v); return r; }
Value ILayer::dims(Dims const& v) {
  Value r;
  r.kind = Value::Kind::kNumbers;
  // nbDims outside 0…8 is kept as given: the reference reports it, as TensorRT would refuse it.
  for (int i = 0; i < std::min(std::max(v.nbDims, 0), Dims::MAX_DIMS); i++) r.numbers.push_back(static_cast<double>(v.d[i]));
  return r;
}
Value ILayer::permutation(Permutation const& v) {
  Value r;
  r.kind = Value::Kind::kNumbers;
  for (int32_t i : v.order) r.numbers.push_back(i);
  return r;
}

ILayer::ILayer(Network& network, std::string method_, std::string kind, int index, std::vector<std::pair<std::string, Value>> args_, int outputs)
    : method(std::move(method_)), args(std::move(args_)) {
  // TensorRT's default names: "(Unnamed Layer* 3) [Convolution]", its output "(Unnamed Layer* 3) [Convolution]_output".
  name_ = "(Unnamed Layer* " + std::to_string(index) + ") [" + kind + "]";
  for (int i = 0; i < outputs; i++) outputs_.push_back(network.newTensor(name_ + "_output" + (outputs > 1 ? "_" + std::to_string(i) : "")));
}

void ILayer::setInput(int32_t index, ITensor& tensor) {
  Value v;
  v.kind = Value::Kind::kTensor;
  v.numbers = {static_cast<double>(index)};
  v.tensors = {tensor.id()};
  set("setInput", std::move(v));
}

void ILayer::setScales(float const* scales, int32_t count) {
  Value v;
  v.kind = Value::Kind::kNumbers;
  for (int32_t i = 0; i < count; i++) v.numbers.push_back(scales[i]);
  set("setScales", std::move(v));
}

ITensor* Network::newTensor(std::string name) {
  tensors.push_back(std::make_unique<ITensor>(static_cast<int>(tensors.size()), std::move(name)));
  return tensors.back().get();
}

Value INetworkDefinition::tensor(ITensor& t) const {
  Value v;
  v.kind = Value::Kind::kTensor;
  v.tensors = {t.id()};
  return v;
}

// Weights by their values pointer: the same pointer, type and count is the same weights (tied between layers).
Value INetworkDefinition::weights(const Weights& w) {
  Value v;
  v.kind = Value::Kind::kWeights;
  if (w.values == nullptr || w.count == 0) return v;
  for (size_t i = 0; i < n_.weights.size(); i++) {
    const WeightsRecord& r = n_.weights[i];
    if (r.address == w.values && r.type == w.type && r.count == w.count) {
      v.weights = static_cast<int>(i);
      return v;
    }
  }
  if (w.count < 0) throw LoweringError("weights with a negative count");
  const size_t bytes = bytesPerValue(w.type) * static_cast<size_t>(w.count);
  const auto* data = static_cast<const uint8_t*>(w.values);
  n_.weights.push_back(WeightsRecord{w.type, w.count, std::vector<uint8_t>(data, data + bytes), w.values, {}});
  v.weights = static_cast<int>(n_.weights.size() - 1);
  return v;
}

ILayer* INetworkDefinition::layer(const char* method, const char* kind, std::vector<std::pair<std::string, Value>> args, int outputs) {
  n_.layers.push_back(std::make_unique<ILayer>(n_, method, kind, static_cast<int>(n_.layers.size()), std::move(args), outputs));
  return n_.layers.back().get();
}

ITensor* INetworkDefinition::addInput(char const* name, DataType type, Dims const& dims) {
  ITensor* t = n_.newTensor(name);
  n_.inputs.push_back(t->id());
  n_.inputTypes.emplace_back(type, dims);
  return t;
}
void INetworkDefinition::markOutput(ITensor& tensor) { n_.outputs.push_back(tensor.id()); }

// "Associate a name with all current uses of the given weights. The name must be set after the Weights are used in
// the network. … If Weights with a matching value pointer, but different type or count exists in the network, … the
// name is rejected, and return false. If the name has already been used for other weights, return false."
// (NvInfer.h, setWeightsName)
bool INetworkDefinition::setWeightsName(Weights w, char const* name) {
  WeightsRecord* match = nullptr;
  for (WeightsRecord& r : n_.weights) {
    if (r.address != w.values) continue;
    if (r.type != w.type || r.count != w.count) return false;
    match = &r;
  }
  if (!match) return false;
  for (const WeightsRecord& r : n_.weights) {
    if (&r == match) continue;
    for (const std::string& other : r.names) if (other == name) return false;
  }
  match->names.push_back(name);
  return true;
}

ILayer* INetworkDefinition::addConvolutionNd(ITensor& input, int64_t maps, Dims const& kernel, Weights k, Weights b) {
  if (!definition_rules::windowSupported(kernel.nbDims)) return n_.refusals.push_back({"addConvolutionNd", definition_rules::kWindowRule}), nullptr;
  return layer("addConvolutionNd", "Convolution", {{"input", tensor(input)}, {"nbOutputMaps", ILayer::number(static_cast<double>(maps))}, {"kernelSize", ILayer::dims(kernel)},
                                                   {"kernelWeights", weights(k)}, {"biasWeights", weights(b)}});
}
ILayer* INetworkDefinition::addDeconvolutionNd(ITensor& input, int64_t maps, Dims kernel, Weights k, Weights b) {
  if (!definition_rules::windowSupported(kernel.nbDims)) return n_.refusals.push_back({"addDeconvolutionNd", definition_rules::kWindowRule}), nullptr;
  return layer("addDeconvolutionNd", "Deconvolution", {{"input", tensor(input)}, {"nbOutputMaps", ILayer::number(static_cast<double>(maps))}, {"kernelSize", ILayer::dims(kernel)},
                                                       {"kernelWeights", weights(k)}, {"biasWeights", weights(b)}});
}
ILayer* INetworkDefinition::addPoolingNd(ITensor& input, PoolingType type, Dims const& window) {
  if (!definition_rules::windowSupported(window.nbDims)) return n_.refusals.push_back({"addPoolingNd", definition_rules::kWindowRule}), nullptr;
  return layer("addPoolingNd", "Pooling", {{"input", tensor(input)}, {"type", ILayer::text(recording::toString(type))}, {"windowSize", ILayer::dims(window)}});
}
ILayer* INetworkDefinition::addActivation(ITensor& input, ActivationType type) {
  return layer("addActivation", "Activation", {{"input", tensor(input)}, {"type", ILayer::text(recording::toString(type))}});
}
ILayer* INetworkDefinition::addElementWise(ITensor& a, ITensor& b, ElementWiseOperation op) {
  return layer("addElementWise", "ElementWise", {{"input1", tensor(a)}, {"input2", tensor(b)}, {"op", ILayer::text(recording::toString(op))}});
}
ILayer* INetworkDefinition::addUnary(ITensor& input, UnaryOperation op) {
  return layer("addUnary", "Unary", {{"input", tensor(input)}, {"operation", ILayer::text(recording::toString(op))}});
}
ILayer* INetworkDefinition::addScaleNd(ITensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power, int32_t axis) {
  return layer("addScaleNd", "Scale", {{"input", tensor(input)}, {"mode", ILayer::text(recording::toString(mode))}, {"shift", weights(shift)}, {"scale", weights(scale)},
                                       {"power", weights(power)}, {"channelAxis", ILayer::number(axis)}});
}
ILayer* INetworkDefinition::addSoftMax(ITensor& input) { return layer("addSoftMax", "Softmax", {{"input", tensor(input)}}); }
ILayer* INetworkDefinition::addConcatenation(ITensor* const* inputs, int32_t count) {
  Value v;
  v.kind = Value::Kind::kTensors;
  for (int32_t i = 0; i < count; i++) v.tensors.push_back(inputs[i]->id());
  return layer("addConcatenation", "Concatenation", {{"inputs", std::move(v)}});
}
ILayer* INetworkDefinition::addShuffle(ITensor& input) { return layer("addShuffle", "Shuffle", {{"input", tensor(input)}}); }
ILayer* INetworkDefinition::addShape(ITensor& input) { return layer("addShape", "Shape", {{"input", tensor(input)}}); }
ILayer* INetworkDefinition::addSlice(ITensor& input, Dims const& start, Dims const& size, Dims const& stride) {
  return layer("addSlice", "Slice", {{"input", tensor(input)}, {"start", ILayer::dims(start)}, {"size", ILayer::dims(size)}, {"stride", ILayer::dims(stride)}});
}
ILayer* INetworkDefinition::addMatrixMultiply(ITensor& a, MatrixOperation opA, ITensor& b, MatrixOperation opB) {
  return layer("addMatrixMultiply", "Matrix Multiply", {{"input0", tensor(a)}, {"op0", ILayer::text(recording::toString(opA))}, {"input1", tensor(b)},
                                                        {"op1", ILayer::text(recording::toString(opB))}});
}
ILayer* INetworkDefinition::addReduce(ITensor& input, ReduceOperation op, uint32_t axes, bool keep) {
  return layer("addReduce", "Reduce", {{"input", tensor(input)}, {"operation", ILayer::text(recording::toString(op))}, {"reduceAxes", ILayer::number(axes)},
                                       {"keepDimensions", ILayer::boolean(keep)}});
}
ILayer* INetworkDefinition::addResize(ITensor& input) { return layer("addResize", "Resize", {{"input", tensor(input)}}); }
ILayer* INetworkDefinition::addPaddingNd(ITensor& input, Dims const& pre, Dims const& post) {
  return layer("addPaddingNd", "Padding", {{"input", tensor(input)}, {"prePadding", ILayer::dims(pre)}, {"postPadding", ILayer::dims(post)}});
}
ILayer* INetworkDefinition::addConstant(Dims const& dims, Weights w) { return layer("addConstant", "Constant", {{"dimensions", ILayer::dims(dims)}, {"weights", weights(w)}}); }
ILayer* INetworkDefinition::addIdentity(ITensor& input) { return layer("addIdentity", "Identity", {{"input", tensor(input)}}); }
ILayer* INetworkDefinition::addCast(ITensor& input, DataType to) { return layer("addCast", "Cast", {{"input", tensor(input)}, {"toType", ILayer::text(recording::toString(to))}}); }
ILayer* INetworkDefinition::addGather(ITensor& data, ITensor& indices, int32_t axis) {
  return layer("addGather", "Gather", {{"data", tensor(data)}, {"indices", tensor(indices)}, {"axis", ILayer::number(axis)}});
}
ILayer* INetworkDefinition::addTopK(ITensor& input, TopKOperation op, int32_t k, uint32_t axes, DataType indicesType) {
  if (!definition_rules::topKSupported(k)) return n_.refusals.push_back({"addTopK", definition_rules::kTopKRule}), nullptr;
  return layer("addTopK", "TopK", {{"input", tensor(input)}, {"op", ILayer::text(recording::toString(op))}, {"k", ILayer::number(k)}, {"reduceAxes", ILayer::number(axes)},
                                   {"indicesType", ILayer::text(recording::toString(indicesType))}}, 2);
}
ILayer* INetworkDefinition::addNormalizationV2(ITensor& input, ITensor& scale, ITensor& bias, uint32_t axes) {
  return layer("addNormalizationV2", "Normalization", {{"input", tensor(input)}, {"scale", tensor(scale)}, {"bias", tensor(bias)}, {"axesMask", ILayer::number(axes)}});
}
ILayer* INetworkDefinition::addSelect(ITensor& c, ITensor& a, ITensor& b) {
  return layer("addSelect", "Select", {{"condition", tensor(c)}, {"thenInput", tensor(a)}, {"elseInput", tensor(b)}});
}
ILayer* INetworkDefinition::addParametricReLU(ITensor& input, ITensor& slope) {
  return layer("addParametricReLU", "ParametricReLU", {{"input", tensor(input)}, {"slope", tensor(slope)}});
}
ILayer* INetworkDefinition::addLRN(ITensor& input, int64_t window, float alpha, float beta, float k) {
  return layer("addLRN", "LRN", {{"input", tensor(input)}, {"window", ILayer::number(static_cast<double>(window))}, {"alpha", ILayer::number(alpha)}, {"beta", ILayer::number(beta)},
                                 {"k", ILayer::number(k)}});
}
ILayer* INetworkDefinition::addQuantize(ITensor& input, ITensor& scale, DataType t) {
  return layer("addQuantize", "Quantize", {{"input", tensor(input)}, {"scale", tensor(scale)}, {"outputType", ILayer::text(recording::toString(t))}});
}
ILayer* INetworkDefinition::addDequantize(ITensor& input, ITensor& scale, DataType t) {
  return layer("addDequantize", "Dequantize", {{"input", tensor(input)}, {"scale", tensor(scale)}, {"outputType", ILayer::text(recording::toString(t))}});
}

void lower(const uint8_t* plan, size_t size, Network& network) {
  const Graph graph = readPlan(plan, size);
  INetworkDefinition definition(network);
  Lowering<ReferenceApi> lowering(definition, graph);
  lowering.run();
}

}  // namespace netdef::reference
