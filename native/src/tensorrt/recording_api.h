#pragma once
// A stand-in for the part of TensorRT's INetworkDefinition API that the lowering uses: the same type, enum and
// member names, so the lowering (a template over the API) compiles against either. Every call is recorded, for
// tests that pin what the lowering asks of a network without TensorRT installed.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace netdef::recording {

enum class DataType : int32_t { kFLOAT = 0, kHALF = 1, kINT8 = 2, kINT32 = 3, kBOOL = 4, kUINT8 = 5, kFP8 = 6, kBF16 = 7, kINT64 = 8, kINT4 = 9, kFP4 = 10 };
enum class PoolingType : int32_t { kMAX = 0, kAVERAGE = 1, kMAX_AVERAGE_BLEND = 2 };
enum class ActivationType : int32_t { kRELU = 0, kSIGMOID, kTANH, kLEAKY_RELU, kELU, kSELU, kSOFTSIGN, kSOFTPLUS, kCLIP, kHARD_SIGMOID, kSCALED_TANH, kTHRESHOLDED_RELU, kGELU_ERF, kGELU_TANH };
enum class ElementWiseOperation : int32_t { kSUM = 0, kPROD, kMAX, kMIN, kSUB, kDIV, kPOW, kFLOOR_DIV, kAND, kOR, kXOR, kEQUAL, kGREATER, kLESS };
enum class UnaryOperation : int32_t { kEXP = 0, kLOG, kSQRT, kRECIP, kABS, kNEG, kSIN, kCOS, kTAN, kSINH, kCOSH, kASIN, kACOS, kATAN, kASINH, kACOSH, kATANH, kCEIL, kFLOOR, kERF, kNOT, kSIGN, kROUND, kISINF, kISNAN };
enum class ScaleMode : int32_t { kUNIFORM = 0, kCHANNEL = 1, kELEMENTWISE = 2 };
enum class ReduceOperation : int32_t { kSUM = 0, kPROD, kMAX, kMIN, kAVG };
enum class MatrixOperation : int32_t { kNONE = 0, kTRANSPOSE, kVECTOR };
enum class InterpolationMode : int32_t { kNEAREST = 0, kLINEAR = 1, kCUBIC = 2 };
enum class ResizeCoordinateTransformation : int32_t { kALIGN_CORNERS = 0, kASYMMETRIC = 1, kHALF_PIXEL = 2 };
enum class ResizeRoundMode : int32_t { kHALF_UP = 0, kHALF_DOWN = 1, kFLOOR = 2, kCEIL = 3 };
enum class TopKOperation : int32_t { kMAX = 0, kMIN = 1 };
enum class PaddingMode : int32_t { kEXPLICIT_ROUND_DOWN = 0, kEXPLICIT_ROUND_UP = 1, kSAME_UPPER = 2, kSAME_LOWER = 3 };
enum class SampleMode : int32_t { kSTRICT_BOUNDS = 0, kWRAP = 1, kCLAMP = 2, kFILL = 3, kREFLECT = 4 };

struct Dims {
  static constexpr int32_t MAX_DIMS = 8;
  int32_t nbDims = 0;
  int64_t d[MAX_DIMS] = {};
};
struct Weights {
  DataType type;
  void const* values;
  int64_t count;
};
struct Permutation {
  int32_t order[Dims::MAX_DIMS];
};

// One recorded call: the layer (or tensor) it concerns, the method and its arguments as text.
struct Call {
  std::string target;
  std::string method;
  std::string args;
};

std::string toString(const Dims& d);
std::string toString(DataType v);
std::string toString(PoolingType v);
std::string toString(ActivationType v);
std::string toString(ElementWiseOperation v);
std::string toString(UnaryOperation v);
std::string toString(ScaleMode v);
std::string toString(ReduceOperation v);
std::string toString(MatrixOperation v);
std::string toString(InterpolationMode v);
std::string toString(ResizeCoordinateTransformation v);
std::string toString(ResizeRoundMode v);
std::string toString(TopKOperation v);
std::string toString(PaddingMode v);
std::string toString(SampleMode v);

class Recorder;

class ITensor {
 public:
  ITensor(Recorder& recorder, std::string name) : recorder_(recorder), name_(std::move(name)) {}
  void setName(char const* name);
  char const* getName() const { return name_.c_str(); }
  // Follows the owning layer's name without recording a call (TensorRT names output tensors after their layer).
  void followLayerName(std::string name) { name_ = std::move(name); }

 private:
  Recorder& recorder_;
  std::string name_;
};

// Every layer kind's setters on one class: the lowering calls on each layer only what TensorRT's layer of that
// kind has, which the compile check against TensorRT's headers verifies.
class ILayer {
 public:
  ILayer(Recorder& recorder, std::string id, int outputs);
  void setName(char const* name);
  char const* getName() const { return name_.c_str(); }
  ITensor* getOutput(int32_t index) const { return outputs_.at(index).get(); }
  void setInput(int32_t index, ITensor& tensor);
  void setStrideNd(Dims const& v);
  void setPrePadding(Dims const& v);
  void setPostPadding(Dims const& v);
  void setPaddingMode(PaddingMode v);
  void setDilationNd(Dims const& v);
  void setNbGroups(int64_t v);
  void setAverageCountExcludesPadding(bool v);
  void setBlendFactor(float v);
  void setAlpha(float v);
  void setBeta(float v);
  void setAxes(uint32_t v);
  void setAxis(int32_t v);
  void setFirstTranspose(Permutation v);
  void setSecondTranspose(Permutation v);
  void setReshapeDimensions(Dims const& v);
  void setZeroIsPlaceholder(bool v);
  void setResizeMode(InterpolationMode v);
  void setScales(float const* scales, int32_t count);
  void setOutputDimensions(Dims const& v);
  void setCoordinateTransformation(ResizeCoordinateTransformation v);
  void setNearestRounding(ResizeRoundMode v);
  void setCubicCoeff(float v);
  void setEpsilon(float v);
  void setMode(SampleMode v);

 private:
  void record(const char* method, const std::string& args);
  Recorder& recorder_;
  std::string name_;
  std::vector<std::unique_ptr<ITensor>> outputs_;
};

class Recorder {
 public:
  std::vector<Call> calls;
  // The values of every Weights a call received, by the address TensorRT would keep: tests read folded values.
  std::vector<std::pair<std::string, std::vector<float>>> weightValues;
  int nextLayer = 0;
  std::deque<std::unique_ptr<ILayer>> layers;
  std::deque<std::unique_ptr<ITensor>> inputs;
  std::vector<Weights> used;                                  // every Weights a layer was given
  std::vector<std::pair<std::string, Weights>> names;          // setWeightsName's accepted names
  std::string describe(const Weights& w);
  // `describe`, the weights then in use (what setWeightsName can name).
  std::string use(const Weights& w);
};

class INetworkDefinition {
 public:
  explicit INetworkDefinition(Recorder& recorder) : r_(recorder) {}
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
  ILayer* layer(const std::string& method, const std::string& args, int outputs = 1);
  // A call TensorRT documents as failing: recorded, and nullptr returned.
  ILayer* refused(const std::string& method, const std::string& args);
  Recorder& r_;
};

// The recording API as the lowering's template argument; `kVersion` picks the newest TensorRT idioms.
struct RecordingApi {
  static constexpr int kVersion = 1101;
  using Network = INetworkDefinition;
  using Tensor = ITensor;
  using Dims = recording::Dims;
  using Weights = recording::Weights;
  using Permutation = recording::Permutation;
  using DataType = recording::DataType;
  using PoolingType = recording::PoolingType;
  using ActivationType = recording::ActivationType;
  using ElementWiseOperation = recording::ElementWiseOperation;
  using UnaryOperation = recording::UnaryOperation;
  using ScaleMode = recording::ScaleMode;
  using ReduceOperation = recording::ReduceOperation;
  using MatrixOperation = recording::MatrixOperation;
  using InterpolationMode = recording::InterpolationMode;
  using ResizeCoordinateTransformation = recording::ResizeCoordinateTransformation;
  using ResizeRoundMode = recording::ResizeRoundMode;
  using TopKOperation = recording::TopKOperation;
  using PaddingMode = recording::PaddingMode;
  using SampleMode = recording::SampleMode;
};

}  // namespace netdef::recording
