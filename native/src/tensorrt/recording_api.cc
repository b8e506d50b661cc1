#include "tensorrt/recording_api.h"

#include <sstream>

#include "tensorrt/definition_rules.h"

namespace netdef::recording {

namespace {

template <class Enum, size_t N>
std::string name(Enum v, const char* const (&names)[N]) {
  const auto i = static_cast<size_t>(v);
  return i < N ? names[i] : "?";
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string permutation(const Permutation& p, int n) {
  std::string s = "(";
  for (int i = 0; i < n; i++) s += (i ? "," : "") + std::to_string(p.order[i]);
  return s + ")";
}

}  // namespace

std::string toString(const Dims& d) {
  std::string s = "[";
  for (int i = 0; i < d.nbDims; i++) s += (i ? "," : "") + std::to_string(d.d[i]);
  return s + "]";
}
std::string toString(DataType v) { static const char* const n[] = {"kFLOAT", "kHALF", "kINT8", "kINT32", "kBOOL", "kUINT8", "kFP8", "kBF16", "kINT64", "kINT4", "kFP4"}; return name(v, n); }
std::string toString(PoolingType v) { static const char* const n[] = {"kMAX", "kAVERAGE", "kMAX_AVERAGE_BLEND"}; return name(v, n); }
std::string toString(ActivationType v) {
  static const char* const n[] = {"kRELU", "kSIGMOID", "kTANH", "kLEAKY_RELU", "kELU", "kSELU", "kSOFTSIGN", "kSOFTPLUS", "kCLIP", "kHARD_SIGMOID", "kSCALED_TANH", "kTHRESHOLDED_RELU", "kGELU_ERF", "kGELU_TANH"};
  return name(v, n);
}
std::string toString(ElementWiseOperation v) {
  static const char* const n[] = {"kSUM", "kPROD", "kMAX", "kMIN", "kSUB", "kDIV", "kPOW", "kFLOOR_DIV", "kAND", "kOR", "kXOR", "kEQUAL", "kGREATER", "kLESS"};
  return name(v, n);
}
std::string toString(UnaryOperation v) {
  static const char* const n[] = {"kEXP", "kLOG", "kSQRT", "kRECIP", "kABS", "kNEG", "kSIN", "kCOS", "kTAN", "kSINH", "kCOSH", "kASIN", "kACOS", "kATAN",
                                  "kASINH", "kACOSH", "kATANH", "kCEIL", "kFLOOR", "kERF", "kNOT", "kSIGN", "kROUND", "kISINF", "kISNAN"};
  return name(v, n);
}
std::string toString(ScaleMode v) { static const char* const n[] = {"kUNIFORM", "kCHANNEL", "kELEMENTWISE"}; return name(v, n); }
std::string toString(ReduceOperation v) { static const char* const n[] = {"kSUM", "kPROD", "kMAX", "kMIN", "kAVG"}; return name(v, n); }
std::string toString(MatrixOperation v) { static const char* const n[] = {"kNONE", "kTRANSPOSE", "kVECTOR"}; return name(v, n); }
std::string toString(InterpolationMode v) { static const char* const n[] = {"kNEAREST", "kLINEAR", "kCUBIC"}; return name(v, n); }
std::string toString(ResizeCoordinateTransformation v) { static const char* const n[] = {"kALIGN_CORNERS", "kASYMMETRIC", "kHALF_PIXEL"}; return name(v, n); }
std::string toString(ResizeRoundMode v) { static const char* const n[] = {"kHALF_UP", "kHALF_DOWN", "kFLOOR", "kCEIL"}; return name(v, n); }
std::string toString(TopKOperation v) { static const char* const n[] = {"kMAX", "kMIN"}; return name(v, n); }
std::string toString(PaddingMode v) { static const char* const n[] = {"kEXPLICIT_ROUND_DOWN", "kEXPLICIT_ROUND_UP", "kSAME_UPPER", "kSAME_LOWER"}; return name(v, n); }
std::string toString(SampleMode v) { static const char* const n[] = {"kSTRICT_BOUNDS", "kWRAP", "kCLAMP", "kFILL", "kREFLECT"}; return name(v, n); }

std::string Recorder::describe(const Weights& w) {
  if (w.values == nullptr || w.count == 0) return "Weights{}";
  return "Weights{" + toString(w.type) + "," + std::to_string(w.count) + "}";
}

std::string Recorder::use(const Weights& w) {
  if (w.values != nullptr && w.count != 0) used.push_back(w);
  return describe(w);
}

void ITensor::setName(char const* name) {
  recorder_.calls.push_back({name_, "setName", name});
  name_ = name;
}

ILayer::ILayer(Recorder& recorder, std::string id, int outputs) : recorder_(recorder), name_(std::move(id)) {
  for (int i = 0; i < outputs; i++) outputs_.push_back(std::make_unique<ITensor>(recorder, name_ + (i ? ":" + std::to_string(i) : "")));
}
void ILayer::record(const char* method, const std::string& args) { recorder_.calls.push_back({name_, method, args}); }
void ILayer::setName(char const* name) {
  record("setName", name);
  // Tensors keep their own names (TensorRT derives them from the layer's at creation); ours follow for readability.
  for (size_t i = 0; i < outputs_.size(); i++) {
    const std::string tensorName = std::string(name) + (i ? ":" + std::to_string(i) : "");
    outputs_[i]->followLayerName(tensorName);
  }
  name_ = name;
}
void ILayer::setInput(int32_t index, ITensor& tensor) { record("setInput", std::to_string(index) + "," + tensor.getName()); }
void ILayer::setStrideNd(Dims const& v) { record("setStrideNd", toString(v)); }
void ILayer::setPrePadding(Dims const& v) { record("setPrePadding", toString(v)); }
void ILayer::setPostPadding(Dims const& v) { record("setPostPadding", toString(v)); }
void ILayer::setPaddingMode(PaddingMode v) { record("setPaddingMode", toString(v)); }
void ILayer::setDilationNd(Dims const& v) { record("setDilationNd", toString(v)); }
void ILayer::setNbGroups(int64_t v) { record("setNbGroups", std::to_string(v)); }
void ILayer::setAverageCountExcludesPadding(bool v) { record("setAverageCountExcludesPadding", v ? "true" : "false"); }
void ILayer::setBlendFactor(float v) { record("setBlendFactor", number(v)); }
void ILayer::setAlpha(float v) { record("setAlpha", number(v)); }
void ILayer::setBeta(float v) { record("setBeta", number(v)); }
void ILayer::setAxes(uint32_t v) { record("setAxes", std::to_string(v)); }
void ILayer::setAxis(int32_t v) { record("setAxis", std::to_string(v)); }
void ILayer::setFirstTranspose(Permutation v) { record("setFirstTranspose", permutation(v, Dims::MAX_DIMS)); }
void ILayer::setSecondTranspose(Permutation v) { record("setSecondTranspose", permutation(v, Dims::MAX_DIMS)); }
void ILayer::setReshapeDimensions(Dims const& v) { record("setReshapeDimensions", toString(v)); }
void ILayer::setZeroIsPlaceholder(bool v) { record("setZeroIsPlaceholder", v ? "true" : "false"); }
void ILayer::setResizeMode(InterpolationMode v) { record("setResizeMode", toString(v)); }
void ILayer::setScales(float const* scales, int32_t count) {
  std::string s = "[";
  for (int32_t i = 0; i < count; i++) s += (i ? "," : "") + number(scales[i]);
  record("setScales", s + "]");
}
void ILayer::setOutputDimensions(Dims const& v) { record("setOutputDimensions", toString(v)); }
void ILayer::setCoordinateTransformation(ResizeCoordinateTransformation v) { record("setCoordinateTransformation", toString(v)); }
void ILayer::setNearestRounding(ResizeRoundMode v) { record("setNearestRounding", toString(v)); }
void ILayer::setCubicCoeff(float v) { record("setCubicCoeff", number(v)); }
void ILayer::setEpsilon(float v) { record("setEpsilon", number(v)); }
void ILayer::setMode(SampleMode v) { record("setMode", toString(v)); }

ILayer* INetworkDefinition::refused(const std::string& method, const std::string& args) {
  r_.calls.push_back({"network", method, args + " → nullptr"});
  return nullptr;
}

ILayer* INetworkDefinition::layer(const std::string& method, const std::string& args, int outputs) {
  const std::string id = "(Unnamed Layer* " + std::to_string(r_.nextLayer++) + ")";
  r_.calls.push_back({"network", method, args});
  r_.layers.push_back(std::make_unique<ILayer>(r_, id, outputs));
  return r_.layers.back().get();
}

ITensor* INetworkDefinition::addInput(char const* name, DataType type, Dims const& dims) {
  r_.calls.push_back({"network", "addInput", std::string(name) + "," + toString(type) + "," + toString(dims)});
  r_.inputs.push_back(std::make_unique<ITensor>(r_, name));
  return r_.inputs.back().get();
}
void INetworkDefinition::markOutput(ITensor& tensor) { r_.calls.push_back({"network", "markOutput", tensor.getName()}); }
// "Associate a name with all current uses of the given weights. The name must be set after the Weights are used in
// the network. … If Weights with a matching value pointer, but different type or count exists in the network, … the
// name is rejected, and return false. If the name has already been used for other weights, return false."
bool INetworkDefinition::setWeightsName(Weights weights, char const* name) {
  r_.calls.push_back({"network", "setWeightsName", r_.describe(weights) + "," + name});
  bool inUse = false;
  for (const Weights& w : r_.used) {
    if (w.values != weights.values) continue;
    if (w.type != weights.type || w.count != weights.count) return false;
    inUse = true;
  }
  if (!inUse) return false;
  for (const auto& [other, w] : r_.names) if (other == name && w.values != weights.values) return false;
  r_.names.emplace_back(name, weights);
  // Kept by name so that tests can read the values a layer was given (a folded BatchNorm's, say).
  if (weights.type == DataType::kFLOAT) {
    const float* v = static_cast<const float*>(weights.values);
    r_.weightValues.emplace_back(name, std::vector<float>(v, v + weights.count));
  }
  return true;
}
ILayer* INetworkDefinition::addConvolutionNd(ITensor& input, int64_t maps, Dims const& kernel, Weights k, Weights b) {
  const std::string args = std::string(input.getName()) + "," + std::to_string(maps) + "," + toString(kernel) + "," + r_.use(k) + "," + r_.use(b);
  return definition_rules::windowSupported(kernel.nbDims) ? layer("addConvolutionNd", args) : refused("addConvolutionNd", args);
}
ILayer* INetworkDefinition::addDeconvolutionNd(ITensor& input, int64_t maps, Dims kernel, Weights k, Weights b) {
  const std::string args = std::string(input.getName()) + "," + std::to_string(maps) + "," + toString(kernel) + "," + r_.use(k) + "," + r_.use(b);
  return definition_rules::windowSupported(kernel.nbDims) ? layer("addDeconvolutionNd", args) : refused("addDeconvolutionNd", args);
}
ILayer* INetworkDefinition::addPoolingNd(ITensor& input, PoolingType type, Dims const& window) {
  const std::string args = std::string(input.getName()) + "," + toString(type) + "," + toString(window);
  return definition_rules::windowSupported(window.nbDims) ? layer("addPoolingNd", args) : refused("addPoolingNd", args);
}
ILayer* INetworkDefinition::addActivation(ITensor& input, ActivationType type) { return layer("addActivation", std::string(input.getName()) + "," + toString(type)); }
ILayer* INetworkDefinition::addElementWise(ITensor& a, ITensor& b, ElementWiseOperation op) {
  return layer("addElementWise", std::string(a.getName()) + "," + b.getName() + "," + toString(op));
}
ILayer* INetworkDefinition::addUnary(ITensor& input, UnaryOperation op) { return layer("addUnary", std::string(input.getName()) + "," + toString(op)); }
ILayer* INetworkDefinition::addScaleNd(ITensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power, int32_t axis) {
  return layer("addScaleNd", std::string(input.getName()) + "," + toString(mode) + "," + r_.use(shift) + "," + r_.use(scale) + "," + r_.use(power) + "," +
                                 std::to_string(axis));
}
ILayer* INetworkDefinition::addSoftMax(ITensor& input) { return layer("addSoftMax", input.getName()); }
ILayer* INetworkDefinition::addConcatenation(ITensor* const* inputs, int32_t count) {
  std::string args;
  for (int32_t i = 0; i < count; i++) args += (i ? "," : "") + std::string(inputs[i]->getName());
  return layer("addConcatenation", args);
}
ILayer* INetworkDefinition::addShuffle(ITensor& input) { return layer("addShuffle", input.getName()); }
ILayer* INetworkDefinition::addShape(ITensor& input) { return layer("addShape", input.getName()); }
ILayer* INetworkDefinition::addSlice(ITensor& input, Dims const& start, Dims const& size, Dims const& stride) {
  return layer("addSlice", std::string(input.getName()) + "," + toString(start) + "," + toString(size) + "," + toString(stride));
}
ILayer* INetworkDefinition::addMatrixMultiply(ITensor& a, MatrixOperation opA, ITensor& b, MatrixOperation opB) {
  return layer("addMatrixMultiply", std::string(a.getName()) + "," + toString(opA) + "," + b.getName() + "," + toString(opB));
}
ILayer* INetworkDefinition::addReduce(ITensor& input, ReduceOperation op, uint32_t axes, bool keep) {
  return layer("addReduce", std::string(input.getName()) + "," + toString(op) + "," + std::to_string(axes) + "," + (keep ? "true" : "false"));
}
ILayer* INetworkDefinition::addResize(ITensor& input) { return layer("addResize", input.getName()); }
ILayer* INetworkDefinition::addPaddingNd(ITensor& input, Dims const& pre, Dims const& post) {
  return layer("addPaddingNd", std::string(input.getName()) + "," + toString(pre) + "," + toString(post));
}
ILayer* INetworkDefinition::addConstant(Dims const& dims, Weights weights) { return layer("addConstant", toString(dims) + "," + r_.use(weights)); }
ILayer* INetworkDefinition::addIdentity(ITensor& input) { return layer("addIdentity", input.getName()); }
ILayer* INetworkDefinition::addCast(ITensor& input, DataType to) { return layer("addCast", std::string(input.getName()) + "," + toString(to)); }
ILayer* INetworkDefinition::addGather(ITensor& data, ITensor& indices, int32_t axis) {
  return layer("addGather", std::string(data.getName()) + "," + indices.getName() + "," + std::to_string(axis));
}
ILayer* INetworkDefinition::addTopK(ITensor& input, TopKOperation op, int32_t k, uint32_t axes, DataType indicesType) {
  const std::string args = std::string(input.getName()) + "," + toString(op) + "," + std::to_string(k) + "," + std::to_string(axes) + "," + toString(indicesType);
  return definition_rules::topKSupported(k) ? layer("addTopK", args, 2) : refused("addTopK", args);
}
ILayer* INetworkDefinition::addNormalizationV2(ITensor& input, ITensor& scale, ITensor& bias, uint32_t axes) {
  return layer("addNormalizationV2", std::string(input.getName()) + "," + scale.getName() + "," + bias.getName() + "," + std::to_string(axes));
}
ILayer* INetworkDefinition::addSelect(ITensor& c, ITensor& a, ITensor& b) { return layer("addSelect", std::string(c.getName()) + "," + a.getName() + "," + b.getName()); }
ILayer* INetworkDefinition::addParametricReLU(ITensor& input, ITensor& slope) { return layer("addParametricReLU", std::string(input.getName()) + "," + slope.getName()); }
ILayer* INetworkDefinition::addLRN(ITensor& input, int64_t window, float alpha, float beta, float k) {
  return layer("addLRN", std::string(input.getName()) + "," + std::to_string(window) + "," + number(alpha) + "," + number(beta) + "," + number(k));
}
ILayer* INetworkDefinition::addQuantize(ITensor& input, ITensor& scale, DataType t) { return layer("addQuantize", std::string(input.getName()) + "," + scale.getName() + "," + toString(t)); }
ILayer* INetworkDefinition::addDequantize(ITensor& input, ITensor& scale, DataType t) { return layer("addDequantize", std::string(input.getName()) + "," + scale.getName() + "," + toString(t)); }

}  // namespace netdef::recording
