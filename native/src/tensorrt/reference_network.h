#pragma once
// The network half of the TensorRT-semantics reference: the lowering's template argument beside RecordingApi. It
// keeps every call as data — arguments under their header names, weights by value, setters in call order — for the
// reference in tensorrt/reference/, which validates, infers shapes and executes it by TensorRT's rules. Like
// TensorRT, it returns nullptr from the add* calls its headers document as refused (definition_rules.h).
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensorrt/recording_api.h"

namespace netdef::reference {

using recording::ActivationType;
using recording::DataType;
using recording::Dims;
using recording::ElementWiseOperation;
using recording::InterpolationMode;
using recording::MatrixOperation;
using recording::PaddingMode;
using recording::Permutation;
using recording::PoolingType;
using recording::ReduceOperation;
using recording::ResizeCoordinateTransformation;
using recording::ResizeRoundMode;
using recording::SampleMode;
using recording::ScaleMode;
using recording::TopKOperation;
using recording::UnaryOperation;
using recording::Weights;

// One argument of an add* call or one setter's value.
struct Value {
  enum class Kind { kNumber, kNumbers, kBoolean, kText, kTensor, kTensors, kWeights };
  Kind kind = Kind::kNumber;
  std::vector<double> numbers;  // a number, dims, a permutation, scales; setInput's index
  std::string text;             // an enum's name
  std::vector<int> tensors;     // tensor ids
  int weights = -1;             // index in Network::weights; -1 for empty Weights
};

// Weights by value, as TensorRT keeps them until the build: one record per values pointer (a weight used by several
// layers is one record), with the names setWeightsName gave it.
struct WeightsRecord {
  DataType type;
  int64_t count;
  std::vector<uint8_t> bytes;
  const void* address;
  std::vector<std::string> names;
};

struct Refusal {
  std::string method;
  std::string rule;
};

class Network;

class ITensor {
 public:
  ITensor(int id, std::string name) : id_(id), name_(std::move(name)) {}
  void setName(char const* name) { name_ = name; }
  char const* getName() const { return name_.c_str(); }
  int id() const { return id_; }

 private:
  int id_;
  std::string name_;
};

class ILayer {
 public:
  ILayer(Network& network, std::string method, std::string kind, int index, std::vector<std::pair<std::string, Value>> args, int outputs);
  void setName(char const* name) { name_ = name; }
  char const* getName() const { return name_.c_str(); }
  ITensor* getOutput(int32_t index) const { return outputs_.at(index); }
  int32_t getNbOutputs() const { return static_cast<int32_t>(outputs_.size()); }
  void setInput(int32_t index, ITensor& tensor);
  void setStrideNd(Dims const& v) { set("setStrideNd", dims(v)); }
  void setPrePadding(Dims const& v) { set("setPrePadding", dims(v)); }
  void setPostPadding(Dims const& v) { set("setPostPadding", dims(v)); }
  void setPaddingMode(PaddingMode v) { set("setPaddingMode", text(recording::toString(v))); }
  void setDilationNd(Dims const& v) { set("setDilationNd", dims(v)); }
  void setNbGroups(int64_t v) { set("setNbGroups", number(static_cast<double>(v))); }
  void setAverageCountExcludesPadding(bool v) { set("setAverageCountExcludesPadding", boolean(v)); }
  void setBlendFactor(float v) { set("setBlendFactor", number(v)); }
  void setAlpha(float v) { set("setAlpha", number(v)); }
  void setBeta(float v) { set("setBeta", number(v)); }
  void setAxes(uint32_t v) { set("setAxes", number(v)); }
  void setAxis(int32_t v) { set("setAxis", number(v)); }
  void setFirstTranspose(Permutation v) { set("setFirstTranspose", permutation(v)); }
  void setSecondTranspose(Permutation v) { set("setSecondTranspose", permutation(v)); }
  void setReshapeDimensions(Dims const& v) { set("setReshapeDimensions", dims(v)); }
  void setZeroIsPlaceholder(bool v) { set("setZeroIsPlaceholder", boolean(v)); }
  void setResizeMode(InterpolationMode v) { set("setResizeMode", text(recording::toString(v))); }
  void setScales(float const* scales, int32_t count);
  void setOutputDimensions(Dims const& v) { set("setOutputDimensions", dims(v)); }
  void setCoordinateTransformation(ResizeCoordinateTransformation v) { set("setCoordinateTransformation", text(recording::toString(v))); }
  void setNearestRounding(ResizeRoundMode v) { set("setNearestRounding", text(recording::toString(v))); }
  void setCubicCoeff(float v) { set("setCubicCoeff", number(v)); }
  void setEpsilon(float v) { set("setEpsilon", number(v)); }
  void setMode(SampleMode v) { set("setMode", text(recording::toString(v))); }

  static Value number(double v);
  static Value boolean(bool v);
  static Value text(std::string v);
  static Value dims(Dims const& v);
  static Value permutation(Permutation const& v);

  const std::string method;
  const std::vector<std::pair<std::string, Value>> args;
  std::vector<std::pair<std::string, Value>> calls;  // setters, in call order

 private:
  void set(const char* method, Value value) { calls.emplace_back(method, std::move(value)); }
  std::string name_;
  std::vector<ITensor*> outputs_;
};

class INetworkDefinition {
 public:
  explicit INetworkDefinition(Network& network) : n_(network) {}
  ITensor* addInput(char const* name, DataType type, Dims const& dims);
  void markOutput(ITensor& tensor);
  bool setWeightsName(Weights weights, char const* name);
  ILayer* addConvolutionNd(ITensor& input, int64_t nbOutputMaps, Dims const& kernelSize, Weights kernel, Weights bias);
  ILayer* addDeconvolutionNd(ITensor& input, int64_t nbOutputMaps, Dims kernelSize, Weights kernel, Weights bias);
  ILayer* addPoolingNd(ITensor& input, PoolingType type, Dims const& window);
  ILayer* addActivation(ITensor& input, ActivationType type);
  ILayer* addElementWise(ITensor& a, ITensor& b, ElementWiseOperation op);
  ILayer* addUnary(ITensor& input, UnaryOperation op);
  ILayer* addScaleNd(ITensor& input, ScaleMode mode, Weights shift, Weights scale, Weights power, int32_t channelAxis);
  ILayer* addSoftMax(ITensor& input);
  ILayer* addConcatenation(ITensor* const* inputs, int32_t count);
  ILayer* addShuffle(ITensor& input);
  ILayer* addShape(ITensor& input);
  ILayer* addSlice(ITensor& input, Dims const& start, Dims const& size, Dims const& stride);
  ILayer* addMatrixMultiply(ITensor& a, MatrixOperation opA, ITensor& b, MatrixOperation opB);
  ILayer* addReduce(ITensor& input, ReduceOperation op, uint32_t axes, bool keepDimensions);
  ILayer* addResize(ITensor& input);
  ILayer* addPaddingNd(ITensor& input, Dims const& pre, Dims const& post);
  ILayer* addConstant(Dims const& dims, Weights weights);
  ILayer* addIdentity(ITensor& input);
  ILayer* addCast(ITensor& input, DataType to);
  ILayer* addGather(ITensor& data, ITensor& indices, int32_t axis);
  ILayer* addTopK(ITensor& input, TopKOperation op, int32_t k, uint32_t axes, DataType indicesType);
  ILayer* addNormalizationV2(ITensor& input, ITensor& scale, ITensor& bias, uint32_t axesMask);
  ILayer* addSelect(ITensor& condition, ITensor& a, ITensor& b);
  ILayer* addParametricReLU(ITensor& input, ITensor& slope);
  ILayer* addLRN(ITensor& input, int64_t window, float alpha, float beta, float k);
  ILayer* addQuantize(ITensor& input, ITensor& scale, DataType outputType);
  ILayer* addDequantize(ITensor& input, ITensor& scale, DataType outputType);

 private:
  ILayer* layer(const char* method, const char* kind, std::vector<std::pair<std::string, Value>> args, int outputs = 1);
  Value tensor(ITensor& t) const;
  Value weights(const Weights& w);
  Network& n_;
};

// Everything the lowering defined.
class Network {
 public:
  std::deque<std::unique_ptr<ITensor>> tensors;  // by id
  std::vector<int> inputs;
  std::vector<std::pair<DataType, Dims>> inputTypes;  // by input
  std::deque<std::unique_ptr<ILayer>> layers;
  std::vector<int> outputs;
  std::vector<WeightsRecord> weights;
  std::vector<Refusal> refusals;

  ITensor* newTensor(std::string name);
};

// The recording's types (the API's enums, Dims, Weights, Permutation) and version, with this network and tensor.
struct ReferenceApi : recording::RecordingApi {
  using Network = INetworkDefinition;
  using Tensor = ITensor;
};

// Lowers a plan's graph into `network`.
void lower(const uint8_t* plan, size_t size, Network& network);

}  // namespace netdef::reference
