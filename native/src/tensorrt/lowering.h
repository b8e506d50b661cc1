#pragma once
// The IR (as a plan's Graph) lowered into a TensorRT INetworkDefinition, written once as a template over the API:
// `Api` is TensorRTApi (nvinfer1's real types) or recording::RecordingApi (a stand-in that records every call).
#include <cmath>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "graph.h"

namespace netdef {

class LoweringError : public std::runtime_error {
 public:
  explicit LoweringError(const std::string& message) : std::runtime_error(message) {}
};

template <class Api>
class Lowering {
 public:
  using Network = typename Api::Network;
  using ITensor = typename Api::Tensor;
  using Dims = typename Api::Dims;
  using Weights = typename Api::Weights;
  using DataType = typename Api::DataType;

  // `graph` must outlive the build: TensorRT reads weight buffers until buildSerializedNetwork returns.
  Lowering(Network& network, const Graph& graph) : net_(network), g_(graph), tensors_(graph.tensors.size(), nullptr) {}

  void run() {
    for (int id : g_.inputs) {
      const TensorInfo& t = g_.tensors[id];
      tensors_[id] = net_.addInput(t.name.c_str(), dataType(t.dtype), dims(t.dims));
    }
    for (const OpDesc& op : g_.ops) lower(op);
    for (const auto& [name, id] : g_.outputs) {
      ITensor* t = tensors_[id];
      if (name != t->getName()) {
        // A tensor can carry one name only: an output named apart from its layer gets an identity of its own.
        auto* identity = net_.addIdentity(*t);
        identity->setName((name + ".output").c_str());
        t = identity->getOutput(0);
      }
      t->setName(name.c_str());
      net_.markOutput(*t);
    }
  }

 private:
  // ---- helpers ----------------------------------------------------------------------------------------------
  [[noreturn]] void unsupported(const OpDesc& op, const std::string& what) const {
    throw LoweringError(op.name + " (" + op.kind + "): " + what + " is not supported by the TensorRT lowering");
  }
  static Dims dims(const std::vector<int64_t>& values) {
    if (values.size() > static_cast<size_t>(Dims::MAX_DIMS)) throw LoweringError("more than 8 dimensions");
    Dims d{};
    d.nbDims = static_cast<int32_t>(values.size());
    for (size_t i = 0; i < values.size(); i++) d.d[i] = values[i];
    return d;
  }
  static DataType dataType(const std::string& dtype) {
    static const std::map<std::string, DataType> types = {
        {"float32", DataType::kFLOAT}, {"float16", DataType::kHALF}, {"bfloat16", DataType::kBF16}, {"int8", DataType::kINT8},
        {"uint8", DataType::kUINT8}, {"int32", DataType::kINT32}, {"int64", DataType::kINT64}, {"bool", DataType::kBOOL}};
    return types.at(dtype);
  }
  template <class Enum>
  Enum pick(const OpDesc& op, const std::string& key, const std::map<std::string, Enum>& table) const {
    const std::string& value = op.params.string(op.name, key);
    auto it = table.find(value);
    if (it == table.end()) unsupported(op, key + " '" + value + "'");
    return it->second;
  }
  ITensor& input(const OpDesc& op, size_t i) const { return *tensors_.at(op.inputs.at(i)); }
  const Shape& shapeOf(const OpDesc& op, size_t i) const { return g_.tensors.at(op.inputs.at(i)).dims; }
  static Weights none() { return Weights{DataType::kFLOAT, nullptr, 0}; }
  // A weight of the plan, named with its PyTorch name so that IRefitter can find it.
  Weights named(const OpDesc& op, const std::string& role) {
    const std::vector<float>& values = op.weight(role);
    Weights w{DataType::kFLOAT, values.data(), static_cast<int64_t>(values.size())};
    auto name = op.weightNames.find(role);
    if (name != op.weightNames.end()) net_.setWeightsName(w, name->second.c_str());
    return w;
  }
  // Values computed here (folded, converted): kept alive until the build returns, and named `<layer>.<role>`.
  Weights owned(const OpDesc& op, const std::string& role, std::vector<float> values) {
    owned_.push_back(std::move(values));
    Weights w{DataType::kFLOAT, owned_.back().data(), static_cast<int64_t>(owned_.back().size())};
    net_.setWeightsName(w, (op.name + "." + role).c_str());
    return w;
  }
  ITensor& constant(const std::string& name, const std::vector<int64_t>& shape, Weights w) {
    auto* layer = net_.addConstant(dims(shape), w);
    layer->setName(name.c_str());
    return *layer->getOutput(0);
  }
  template <class Layer>
  void finish(const OpDesc& op, Layer* layer, int outputs = 1) {
    layer->setName(op.name.c_str());
    for (int i = 0; i < outputs; i++) tensors_[op.outputs.at(i)] = layer->getOutput(i);
  }
  // TensorRT broadcasts only between equal ranks: a lower-rank operand gets leading 1s (numpy's alignment).
  ITensor& withRank(const OpDesc& op, size_t i, size_t rank) {
    const Shape& s = shapeOf(op, i);
    if (s.size() == rank) return input(op, i);
    std::vector<int64_t> target(rank - s.size(), 1);
    int dynamic = 0;
    for (int64_t d : s) { target.push_back(d); dynamic += d < 0; }
    if (dynamic > 1) unsupported(op, "broadcasting an input with several dynamic dimensions to a higher rank");
    auto* shuffle = net_.addShuffle(input(op, i));
    shuffle->setReshapeDimensions(dims(target));
    shuffle->setName((op.name + ".broadcast" + std::to_string(i)).c_str());
    return *shuffle->getOutput(0);
  }
  typename Api::PaddingMode paddingMode(const OpDesc& op) const {
    return pick<typename Api::PaddingMode>(op, "paddingMode", {{"explicit_round_down", Api::PaddingMode::kEXPLICIT_ROUND_DOWN},
        {"explicit_round_up", Api::PaddingMode::kEXPLICIT_ROUND_UP}, {"same_upper", Api::PaddingMode::kSAME_UPPER}, {"same_lower", Api::PaddingMode::kSAME_LOWER}});
  }
  static uint32_t mask(const std::vector<int64_t>& axes) {
    uint32_t m = 0;
    for (int64_t a : axes) m |= 1u << a;
    return m;
  }

  // ---- layers -----------------------------------------------------------------------------------------------
  void lower(const OpDesc& op) {
    const std::string& k = op.kind;
    if (k == "convolution") convolution(op);
    else if (k == "deconvolution") deconvolution(op);
    else if (k == "pooling") pooling(op);
    else if (k == "fullyConnected") fullyConnected(op);
    else if (k == "activation") activation(op);
    else if (k == "elementWise") elementWise(op);
    else if (k == "unary") unary(op);
    else if (k == "scale") scale(op);
    else if (k == "batchNorm") batchNorm(op);
    else if (k == "softMax") softMax(op);
    else if (k == "concatenation") concatenation(op);
    else if (k == "shuffle") shuffle(op);
    else if (k == "slice") slice(op);
    else if (k == "matrixMultiply") matrixMultiply(op);
    else if (k == "reduce") reduce(op);
    else if (k == "resize") resize(op);
    else if (k == "padding") padding(op);
    else if (k == "constant") constantLayer(op);
    else if (k == "identity") finish(op, net_.addIdentity(input(op, 0)));
    else if (k == "cast") finish(op, net_.addCast(input(op, 0), dataType(op.params.string(op.name, "to"))));
    else if (k == "gather") finish(op, net_.addGather(input(op, 0), input(op, 1), static_cast<int32_t>(op.params.integer(op.name, "axis"))));
    else if (k == "topK") topK(op);
    else if (k == "normalization") normalization(op);
    else if (k == "select") select(op);
    else if (k == "parametricReLU") parametricReLU(op);
    else if (k == "lrn") finish(op, net_.addLRN(input(op, 0), op.params.integer(op.name, "window"), static_cast<float>(op.params.number(op.name, "alpha")),
                                                static_cast<float>(op.params.number(op.name, "beta")), static_cast<float>(op.params.number(op.name, "k"))));
    else if (k == "quantize" || k == "dequantize") quantization(op);
    else unsupported(op, "layer kind '" + k + "'");
  }

  // Convolution and deconvolution share their arguments; only the layer and the post-padding differ.
  template <class Add>
  void windowed(const OpDesc& op, Add add, const std::vector<int64_t>& postPadding, bool paddingModeToo) {
    // Weights named first, kernel then bias, so the calls come in one order whatever the compiler.
    const Weights kernel = named(op, "kernel");
    const Weights bias = op.hasWeight("bias") ? named(op, "bias") : none();
    auto* l = add(input(op, 0), op.params.integer(op.name, "outChannels"), dims(op.params.integers(op.name, "kernel")), kernel, bias);
    l->setStrideNd(dims(op.params.integers(op.name, "stride")));
    l->setDilationNd(dims(op.params.integers(op.name, "dilation")));
    l->setNbGroups(op.params.integer(op.name, "groups"));
    l->setPrePadding(dims(op.params.integers(op.name, "prePadding")));
    l->setPostPadding(dims(postPadding));
    if (paddingModeToo) l->setPaddingMode(paddingMode(op));
    finish(op, l);
  }

  void convolution(const OpDesc& op) {
    windowed(op, [&](ITensor& in, int64_t maps, Dims k, Weights w, Weights b) { return net_.addConvolutionNd(in, maps, k, w, b); },
             op.params.integers(op.name, "postPadding"), true);
  }

  void deconvolution(const OpDesc& op) {
    // PyTorch's output_padding extends the end of each dimension: TensorRT's post-padding crops, so it shrinks by it.
    std::vector<int64_t> post = op.params.integers(op.name, "postPadding");
    const std::vector<int64_t> extra = op.params.integers(op.name, "outputPadding");
    for (size_t i = 0; i < post.size(); i++) post[i] -= extra.at(i);
    windowed(op, [&](ITensor& in, int64_t maps, Dims k, Weights w, Weights b) { return net_.addDeconvolutionNd(in, maps, k, w, b); }, post, false);
  }

  void pooling(const OpDesc& op) {
    const auto type = pick<typename Api::PoolingType>(op, "type", {{"max", Api::PoolingType::kMAX}, {"average", Api::PoolingType::kAVERAGE},
        {"max_average_blend", Api::PoolingType::kMAX_AVERAGE_BLEND}});
    auto* l = net_.addPoolingNd(input(op, 0), type, dims(op.params.integers(op.name, "kernel")));
    l->setStrideNd(dims(op.params.integers(op.name, "stride")));  // TensorRT's default is 1, PyTorch's the window
    l->setPrePadding(dims(op.params.integers(op.name, "prePadding")));
    l->setPostPadding(dims(op.params.integers(op.name, "postPadding")));
    l->setPaddingMode(paddingMode(op));
    l->setAverageCountExcludesPadding(op.params.number(op.name, "countIncludePad") == 0);
    if (type == Api::PoolingType::kMAX_AVERAGE_BLEND) l->setBlendFactor(static_cast<float>(op.params.number(op.name, "blendFactor")));
    finish(op, l);
  }

  // TensorRT 10 has no fully-connected layer: flatten, multiply by the constant Wᵀ, add the bias row.
  void fullyConnected(const OpDesc& op) {
    const int64_t out = op.params.integer(op.name, "outFeatures"), in = op.params.integer(op.name, "inFeatures");
    auto* flatten = net_.addShuffle(input(op, 0));
    flatten->setReshapeDimensions(dims({0, -1}));
    flatten->setName((op.name + ".flatten").c_str());
    ITensor& w = constant(op.name + ".weight", {out, in}, named(op, "kernel"));
    auto* mm = net_.addMatrixMultiply(*flatten->getOutput(0), Api::MatrixOperation::kNONE, w, Api::MatrixOperation::kTRANSPOSE);
    if (!op.hasWeight("bias")) return finish(op, mm);
    mm->setName((op.name + ".matmul").c_str());
    ITensor& b = constant(op.name + ".bias", {1, out}, named(op, "bias"));
    finish(op, net_.addElementWise(*mm->getOutput(0), b, Api::ElementWiseOperation::kSUM));
  }

  void activation(const OpDesc& op) {
    using A = typename Api::ActivationType;
    const auto type = pick<A>(op, "type", {{"relu", A::kRELU}, {"sigmoid", A::kSIGMOID}, {"tanh", A::kTANH}, {"leaky_relu", A::kLEAKY_RELU},
        {"elu", A::kELU}, {"selu", A::kSELU}, {"softsign", A::kSOFTSIGN}, {"softplus", A::kSOFTPLUS}, {"clip", A::kCLIP},
        {"hard_sigmoid", A::kHARD_SIGMOID}, {"scaled_tanh", A::kSCALED_TANH}, {"thresholded_relu", A::kTHRESHOLDED_RELU},
        {"gelu_erf", A::kGELU_ERF}, {"gelu_tanh", A::kGELU_TANH}});
    auto* l = net_.addActivation(input(op, 0), type);
    l->setAlpha(static_cast<float>(op.params.number(op.name, "alpha")));
    l->setBeta(static_cast<float>(op.params.number(op.name, "beta")));
    finish(op, l);
  }

  void elementWise(const OpDesc& op) {
    using E = typename Api::ElementWiseOperation;
    const auto type = pick<E>(op, "op", {{"sum", E::kSUM}, {"prod", E::kPROD}, {"max", E::kMAX}, {"min", E::kMIN}, {"sub", E::kSUB},
        {"div", E::kDIV}, {"pow", E::kPOW}, {"floor_div", E::kFLOOR_DIV}, {"and", E::kAND}, {"or", E::kOR}, {"xor", E::kXOR},
        {"equal", E::kEQUAL}, {"greater", E::kGREATER}, {"less", E::kLESS}});
    const size_t rank = std::max(shapeOf(op, 0).size(), shapeOf(op, 1).size());
    ITensor& a = withRank(op, 0, rank);
    ITensor& b = withRank(op, 1, rank);
    finish(op, net_.addElementWise(a, b, type));
  }

  void unary(const OpDesc& op) {
    using U = typename Api::UnaryOperation;
    std::map<std::string, U> ops = {{"exp", U::kEXP}, {"log", U::kLOG}, {"sqrt", U::kSQRT}, {"recip", U::kRECIP}, {"abs", U::kABS},
        {"neg", U::kNEG}, {"sin", U::kSIN}, {"cos", U::kCOS}, {"tan", U::kTAN}, {"sinh", U::kSINH}, {"cosh", U::kCOSH}, {"asin", U::kASIN},
        {"acos", U::kACOS}, {"atan", U::kATAN}, {"asinh", U::kASINH}, {"acosh", U::kACOSH}, {"atanh", U::kATANH}, {"ceil", U::kCEIL},
        {"floor", U::kFLOOR}, {"erf", U::kERF}, {"not", U::kNOT}, {"sign", U::kSIGN}, {"round", U::kROUND}, {"isinf", U::kISINF}};
    if constexpr (Api::kVersion >= 1001) ops["isnan"] = U::kISNAN;  // added in TensorRT 10.1
    finish(op, net_.addUnary(input(op, 0), pick<U>(op, "op", ops)));
  }

  void scale(const OpDesc& op) {
    const auto mode = pick<typename Api::ScaleMode>(op, "mode", {{"uniform", Api::ScaleMode::kUNIFORM}, {"channel", Api::ScaleMode::kCHANNEL},
        {"elementwise", Api::ScaleMode::kELEMENTWISE}});
    auto w = [&](const char* role) { return op.hasWeight(role) ? named(op, role) : none(); };
    const Weights shift = w("shift"), scale = w("scale"), power = w("power");
    finish(op, net_.addScaleNd(input(op, 0), mode, shift, scale, power, static_cast<int32_t>(op.params.integer(op.name, "channelAxis"))));
  }

  // BatchNorm folded into a channel scale: scale = γ/√(var+ε), shift = β − mean·scale (computed in double).
  void batchNorm(const OpDesc& op) {
    const auto &gamma = op.weight("weight"), &beta = op.weight("bias"), &mean = op.weight("mean"), &var = op.weight("variance");
    const double eps = op.params.number(op.name, "epsilon");
    std::vector<float> scale(gamma.size()), shift(gamma.size());
    for (size_t c = 0; c < gamma.size(); c++) {
      const double s = gamma[c] / std::sqrt(static_cast<double>(var.at(c)) + eps);
      scale[c] = static_cast<float>(s);
      shift[c] = static_cast<float>(beta.at(c) - mean.at(c) * s);
    }
    Weights shiftW = owned(op, "shift", std::move(shift));
    Weights scaleW = owned(op, "scale", std::move(scale));
    finish(op, net_.addScaleNd(input(op, 0), Api::ScaleMode::kCHANNEL, shiftW, scaleW, none(), 1));
  }

  void softMax(const OpDesc& op) {
    auto* l = net_.addSoftMax(input(op, 0));
    l->setAxes(1u << op.params.integer(op.name, "axis"));  // always set: TensorRT's default axis is rank − 3
    finish(op, l);
  }

  void concatenation(const OpDesc& op) {
    std::vector<ITensor*> inputs;
    for (int t : op.inputs) inputs.push_back(tensors_.at(t));
    auto* l = net_.addConcatenation(inputs.data(), static_cast<int32_t>(inputs.size()));
    l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));  // always set: the default is rank − 3
    finish(op, l);
  }

  static typename Api::Permutation permutation(const std::vector<int64_t>& order) {
    typename Api::Permutation p{};
    for (size_t i = 0; i < order.size(); i++) p.order[i] = static_cast<int32_t>(order[i]);
    return p;
  }

  void shuffle(const OpDesc& op) {
    auto* l = net_.addShuffle(input(op, 0));
    l->setFirstTranspose(permutation(op.params.integers(op.name, "firstTranspose")));
    if (op.params.has("reshape")) {
      l->setReshapeDimensions(dims(op.params.integers(op.name, "reshape")));
      l->setZeroIsPlaceholder(true);
    }
    l->setSecondTranspose(permutation(op.params.integers(op.name, "secondTranspose")));
    finish(op, l);
  }

  void slice(const OpDesc& op) {
    finish(op, net_.addSlice(input(op, 0), dims(op.params.integers(op.name, "start")), dims(op.params.integers(op.name, "size")),
                             dims(op.params.integers(op.name, "stride"))));
  }

  void matrixMultiply(const OpDesc& op) {
    using M = typename Api::MatrixOperation;
    const std::map<std::string, M> ops = {{"none", M::kNONE}, {"transpose", M::kTRANSPOSE}, {"vector", M::kVECTOR}};
    finish(op, net_.addMatrixMultiply(input(op, 0), pick<M>(op, "opA", ops), input(op, 1), pick<M>(op, "opB", ops)));
  }

  void reduce(const OpDesc& op) {
    using R = typename Api::ReduceOperation;
    const auto type = pick<R>(op, "op", {{"sum", R::kSUM}, {"prod", R::kPROD}, {"max", R::kMAX}, {"min", R::kMIN}, {"avg", R::kAVG}});
    finish(op, net_.addReduce(input(op, 0), type, mask(op.params.integers(op.name, "axes")), op.params.number(op.name, "keepDims") != 0));
  }

  void resize(const OpDesc& op) {
    using I = typename Api::InterpolationMode;
    using C = typename Api::ResizeCoordinateTransformation;
    using R = typename Api::ResizeRoundMode;
    auto* l = net_.addResize(input(op, 0));
    l->setResizeMode(pick<I>(op, "mode", {{"nearest", I::kNEAREST}, {"linear", I::kLINEAR}, {"cubic", I::kCUBIC}}));
    if (op.params.has("scales")) {
      std::vector<float> scales;
      for (double s : op.params.list(op.name, "scales")) scales.push_back(static_cast<float>(s));
      l->setScales(scales.data(), static_cast<int32_t>(scales.size()));
    } else {
      std::vector<int64_t> out = op.params.integers(op.name, "outputShape");
      const Shape& in = shapeOf(op, 0);
      for (size_t i = 0; i < out.size(); i++) {
        if (out[i] == -1) out[i] = in.at(i);
        if (out[i] < 0) unsupported(op, "an output shape that keeps a dynamic dimension");
      }
      l->setOutputDimensions(dims(out));
    }
    l->setCoordinateTransformation(pick<C>(op, "coordinateTransformation", {{"asymmetric", C::kASYMMETRIC}, {"align_corners", C::kALIGN_CORNERS}, {"half_pixel", C::kHALF_PIXEL}}));
    l->setNearestRounding(pick<R>(op, "nearestRounding", {{"floor", R::kFLOOR}, {"ceil", R::kCEIL}, {"round_prefer_floor", R::kHALF_DOWN}, {"round_prefer_ceil", R::kHALF_UP}}));
    l->setCubicCoeff(static_cast<float>(op.params.number(op.name, "cubicCoefficient")));
    finish(op, l);
  }

  // Zero padding of the last two dimensions is addPaddingNd; anything else is a slice that reads outside the
  // input (kFILL mode, the fill value as its fifth input).
  void padding(const OpDesc& op) {
    const std::vector<int64_t> pre = op.params.integers(op.name, "pre"), post = op.params.integers(op.name, "post");
    const double value = op.params.number(op.name, "value");
    if (value == 0 && pre.size() == 2) return finish(op, net_.addPaddingNd(input(op, 0), dims(pre), dims(post)));
    const Shape& in = shapeOf(op, 0);
    const Shape& out = g_.tensors.at(op.outputs.at(0)).dims;
    std::vector<int64_t> start(in.size(), 0), stride(in.size(), 1);
    for (size_t i = 0; i < pre.size(); i++) start[in.size() - pre.size() + i] = -pre[i];
    for (int64_t d : out) if (d < 0) unsupported(op, "non-zero or other-than-2-d padding of a dynamic shape");
    auto* l = net_.addSlice(input(op, 0), dims(start), dims(out), dims(stride));
    l->setMode(Api::SampleMode::kFILL);
    ITensor& fill = constant(op.name + ".value", {}, owned(op, "value", {static_cast<float>(value)}));
    l->setInput(4, fill);
    finish(op, l);
  }

  void constantLayer(const OpDesc& op) {
    const std::string& dtype = g_.tensors.at(op.outputs.at(0)).dtype;
    Weights w{};
    if (dtype == "int32") {
      const std::vector<int64_t>& values = op.integerWeight("values");  // int64 in the plan, each within int32
      ints_.emplace_back(values.begin(), values.end());
      w = Weights{DataType::kINT32, ints_.back().data(), static_cast<int64_t>(values.size())};
    } else if (dtype == "int64") {
      const std::vector<int64_t>& values = op.integerWeight("values");
      w = Weights{DataType::kINT64, values.data(), static_cast<int64_t>(values.size())};
    } else {
      w = named(op, "values");
    }
    finish(op, net_.addConstant(dims(op.params.integers(op.name, "shape")), w));
  }

  void topK(const OpDesc& op) {
    const auto type = op.params.string(op.name, "op") == "max" ? Api::TopKOperation::kMAX : Api::TopKOperation::kMIN;
    const auto k = static_cast<int32_t>(op.params.integer(op.name, "k"));
    const uint32_t axes = 1u << op.params.integer(op.name, "axis");
    if constexpr (Api::kVersion >= 1016) finish(op, net_.addTopK(input(op, 0), type, k, axes, DataType::kINT32), 2);
    else finish(op, net_.addTopK(input(op, 0), type, k, axes), 2);
  }

  // Layer norm: scale/bias over the normalised trailing dims. Instance norm: per channel, [1, C, 1…]. Group norm:
  // TensorRT's scale and bias are per group, so the normalisation gets ones/zeros and a channel scale follows
  // with PyTorch's per-channel affine.
  void normalization(const OpDesc& op) {
    const std::string type = op.params.string(op.name, "type");
    const Shape& in = shapeOf(op, 0);
    const std::vector<int64_t> axes = op.params.integers(op.name, "axes");
    const int64_t groups = op.params.integer(op.name, "groups");
    const bool affine = op.hasWeight("scale");
    std::vector<int64_t> paramShape(in.size(), 1);
    int64_t count = 1;
    if (type == "layer") {
      for (int64_t a : axes) { paramShape[a] = in.at(a); count *= in.at(a); }
    } else {
      paramShape[1] = type == "group" ? groups : in.at(1);
      count = paramShape[1];
    }
    const bool perGroupAffine = type == "group" && affine;
    Weights scaleW = affine && !perGroupAffine ? named(op, "scale") : owned(op, "unit_scale", std::vector<float>(count, 1.0f));
    Weights biasW = affine && !perGroupAffine ? named(op, "bias") : owned(op, "zero_bias", std::vector<float>(count, 0.0f));
    ITensor& scale = constant(op.name + ".scale", paramShape, scaleW);
    ITensor& bias = constant(op.name + ".bias", paramShape, biasW);
    auto* l = addNormalization(input(op, 0), scale, bias, mask(axes));
    l->setEpsilon(static_cast<float>(op.params.number(op.name, "epsilon")));
    if (type == "group") l->setNbGroups(groups);
    if (!perGroupAffine) return finish(op, l);
    l->setName((op.name + ".normalize").c_str());
    const Weights channelShift = named(op, "bias"), channelScale = named(op, "scale");
    finish(op, net_.addScaleNd(*l->getOutput(0), Api::ScaleMode::kCHANNEL, channelShift, channelScale, none(), 1));
  }

  auto* addNormalization(ITensor& in, ITensor& scale, ITensor& bias, uint32_t axes) {
    if constexpr (Api::kVersion >= 1015) return net_.addNormalizationV2(in, scale, bias, axes);
    else return net_.addNormalization(in, scale, bias, axes);
  }

  void select(const OpDesc& op) {
    size_t rank = 0;
    for (size_t i = 0; i < 3; i++) rank = std::max(rank, shapeOf(op, i).size());
    ITensor& c = withRank(op, 0, rank);
    ITensor& a = withRank(op, 1, rank);
    ITensor& b = withRank(op, 2, rank);
    finish(op, net_.addSelect(c, a, b));
  }

  void parametricReLU(const OpDesc& op) {
    const Shape& in = shapeOf(op, 0);
    std::vector<int64_t> shape(in.size(), 1);
    const auto& slope = op.weight("slope");
    if (slope.size() > 1) shape.at(1) = static_cast<int64_t>(slope.size());
    ITensor& s = constant(op.name + ".slope", shape, named(op, "slope"));
    finish(op, net_.addParametricReLU(input(op, 0), s));
  }

  void quantization(const OpDesc& op) {
    const bool quantize = op.kind == "quantize";
    const auto& values = op.weight("scale");
    const bool perChannel = op.params.has("axis");
    // A per-tensor scale is a 0-d constant; a per-channel one 1-d along `axis`.
    ITensor& scale = constant(op.name + ".scale", perChannel ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : std::vector<int64_t>{}, named(op, "scale"));
    if (quantize) {
      auto* l = net_.addQuantize(input(op, 0), scale, DataType::kINT8);
      if (perChannel) l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));
      finish(op, l);
    } else {
      auto* l = net_.addDequantize(input(op, 0), scale, dataType(op.params.string(op.name, "to")));
      if (perChannel) l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));
      finish(op, l);
    }
  }

  Network& net_;
  const Graph& g_;
  std::vector<ITensor*> tensors_;
  std::deque<std::vector<float>> owned_;
  std::deque<std::vector<int32_t>> ints_;
};

}  // namespace netdef
