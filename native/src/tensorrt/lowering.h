#pragma once
// The IR (as a plan's Graph) lowered into a TensorRT INetworkDefinition, written once as a template over the API:
// `Api` is TensorRTApi (nvinfer1's real types) or recording::RecordingApi (a stand-in that records every call).
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "graph.h"
#include "kernels/activation_fn.h"
#include "kernels/buffer.h"

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
      if (!tensors_[id]) throw LoweringError("input '" + t.name + "': TensorRT's addInput refused it (returned nullptr)");
    }
    for (const OpDesc& op : g_.ops) lower(op);
    for (const auto& [name, id] : g_.outputs) {
      ITensor* t = tensors_[id];
      if (name != t->getName()) {
        // A tensor can carry one name only: an output named apart from its layer gets an identity of its own.
        auto* identity = net_.addIdentity(*t);
        if (!identity) throw LoweringError("output '" + name + "': TensorRT's addIdentity refused it (returned nullptr)");
        identity->setName((name + ".output").c_str());
        t = identity->getOutput(0);
      }
      t->setName(name.c_str());
      net_.markOutput(*t);
    }
    nameWeights();
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
  // A weight of the plan under its PyTorch name, for IRefitter: one buffer per name, so that a weight tied between
  // layers is one refittable weight. Named once every layer is added (nameWeights): "The name must be set after the
  // Weights are used in the network" (NvInfer.h, setWeightsName).
  // In the layer's own type: a strongly typed network computes a float16 or bfloat16 layer in that type, and a
  // constant's "output type is weights.type" (NvInfer.h, IConstantLayer::setWeights).
  Weights named(const OpDesc& op, const std::string& role) {
    const std::vector<float>& values = op.weight(role);
    const DataType type = weightType(op);
    auto name = op.weightNames.find(role);
    if (name == op.weightNames.end()) return typed(values, type);
    auto it = weightsByName_.find(name->second);
    if (it == weightsByName_.end()) {
      it = weightsByName_.emplace(name->second, typed(values, type)).first;
      weightNames_.push_back(name->second);
    } else if (it->second.count != static_cast<int64_t>(values.size()) || it->second.type != type) {
      throw LoweringError(op.name + " (" + op.kind + "): weight '" + name->second + "' is used here with " + std::to_string(values.size()) +
                          " values of another type or count than where another layer uses it");
    }
    return it->second;
  }
  // The type of a layer's weights: its input's where that is float16 or bfloat16 (Q/DQ scales stay float32).
  DataType weightType(const OpDesc& op) const {
    if (op.inputs.empty() || op.kind == "quantize" || op.kind == "dequantize") return DataType::kFLOAT;
    const std::string& dtype = g_.tensors.at(op.inputs[0]).dtype;
    return dtype == "float16" ? DataType::kHALF : dtype == "bfloat16" ? DataType::kBF16 : DataType::kFLOAT;
  }
  // `values` as Weights of `type`: in place for float32, else rounded to the 16-bit type (ties to even) and kept alive.
  Weights typed(const std::vector<float>& values, DataType type) {
    if (type == DataType::kFLOAT) return Weights{type, values.data(), static_cast<int64_t>(values.size())};
    const Storage storage = type == DataType::kHALF ? Storage::kFloat16 : Storage::kBfloat16;
    std::vector<uint16_t>& bits = halves_.emplace_back(values.size());
    for (size_t i = 0; i < values.size(); i++) {
      bits[i] = toHalfBits(storage == Storage::kFloat16 ? roundToFloat16(values[i]) : roundToBfloat16(values[i]), storage);
    }
    return Weights{type, bits.data(), static_cast<int64_t>(bits.size())};
  }
  // Values computed here (folded, converted): kept alive until the build returns, and named `<layer>.<role>`.
  Weights owned(const OpDesc& op, const std::string& role, std::vector<float> values) {
    owned_.push_back(std::move(values));
    const Weights w = typed(owned_.back(), weightType(op));
    const std::string name = op.name + "." + role;
    if (!weightsByName_.emplace(name, w).second) throw LoweringError(op.name + " (" + op.kind + "): the weight name '" + name + "' is taken");
    weightNames_.push_back(name);
    return w;
  }
  // Every weight named, once all layers use them; "If the name has already been used for other weights, return false".
  void nameWeights() {
    for (const std::string& name : weightNames_) {
      if (!net_.setWeightsName(weightsByName_.at(name), name.c_str())) throw LoweringError("TensorRT refused the weight name '" + name + "' (setWeightsName returned false)");
    }
  }
  // The layer an add* call made, or a LoweringError naming the layer: "The new … layer, or nullptr if it could not be
  // created" (NvInfer.h, every add* method).
  template <class Layer>
  Layer* checked(const OpDesc& op, Layer* layer) const {
    if (!layer) throw LoweringError(op.name + " (" + op.kind + "): TensorRT refused the layer (its add* call returned nullptr)");
    return layer;
  }
  // A layer that is one step of op's lowering, named `<layer>.<step>`.
  template <class Layer>
  Layer* step(const OpDesc& op, Layer* layer, const std::string& name) const {
    checked(op, layer)->setName((op.name + "." + name).c_str());
    return layer;
  }
  ITensor& constant(const OpDesc& op, const std::string& name, const std::vector<int64_t>& shape, Weights w) {
    return *step(op, net_.addConstant(dims(shape), w), name)->getOutput(0);
  }
  // `in` reshaped (0 copies a dimension, TensorRT's default placeholder), as a step named `name`.
  ITensor& reshaped(const OpDesc& op, ITensor& in, const std::vector<int64_t>& shape, const std::string& name) {
    auto* l = checked(op, net_.addShuffle(in));
    l->setReshapeDimensions(dims(shape));
    return *step(op, l, name)->getOutput(0);
  }
  // A 1-d Int64 constant, an operand of a shape computation.
  ITensor& longs(const OpDesc& op, const std::string& name, const std::vector<int64_t>& values) {
    const std::vector<int64_t>& kept = longs_.emplace_back(values);
    return constant(op, name, {static_cast<int64_t>(kept.size())}, Weights{DataType::kINT64, kept.data(), static_cast<int64_t>(kept.size())});
  }
  ITensor& arithmetic(const OpDesc& op, ITensor& a, ITensor& b, typename Api::ElementWiseOperation operation, const std::string& name) {
    return *step(op, net_.addElementWise(a, b, operation), name)->getOutput(0);
  }
  // Sizes where -2 entries are the inputs' dimensions at run time (layers/dims.ts, FROM_INPUT), as a 1-d Int64
  // tensor: the static runs as constants, each input's dimension gathered from its IShapeLayer, concatenated.
  ITensor& sizes(const OpDesc& op, const std::string& name, const std::vector<int64_t>& values, const std::vector<int64_t>& dimsFrom) {
    std::vector<ITensor*> pieces;
    std::vector<int64_t> run;
    size_t next = 0;
    auto flush = [&] {
      if (!run.empty()) pieces.push_back(&longs(op, name + "_static" + std::to_string(pieces.size()), run));
      run.clear();
    };
    for (int64_t v : values) {
      if (v != -2) { run.push_back(v); continue; }
      flush();
      const int64_t from = dimsFrom.at(next), axis = dimsFrom.at(next + 1);
      next += 2;
      const std::string piece = name + "_dim" + std::to_string(pieces.size());
      ITensor& shape = *step(op, net_.addShape(input(op, static_cast<size_t>(from))), piece + "_shape")->getOutput(0);
      const std::vector<int32_t>& index = ints_.emplace_back(1, static_cast<int32_t>(axis));
      ITensor& at = constant(op, piece + "_axis", {1}, Weights{DataType::kINT32, index.data(), 1});
      pieces.push_back(step(op, net_.addGather(shape, at, 0), piece)->getOutput(0));
    }
    flush();
    if (pieces.size() == 1) return *pieces[0];
    auto* joined = step(op, net_.addConcatenation(pieces.data(), static_cast<int32_t>(pieces.size())), name);
    joined->setAxis(0);
    return *joined->getOutput(0);
  }
  // A computed shape as a slice's start or size: "a 1D tensor of type Int32 or Int64" from 10.4, "a 1D Int32 shape
  // tensor" before (ISliceLayer::setInput).
  ITensor& shapeInput(const OpDesc& op, ITensor& computed, const std::string& name) {
    if constexpr (Api::kVersion >= 1004) return (void)op, (void)name, computed;
    else return *step(op, net_.addCast(computed, DataType::kINT32), name)->getOutput(0);
  }
  template <class Layer>
  void finish(const OpDesc& op, Layer* layer, int outputs = 1) {
    checked(op, layer)->setName(op.name.c_str());
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
    return reshaped(op, input(op, i), target, "broadcast" + std::to_string(i));
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
    else if (k == "expand") expand(op);
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

  // Convolution, deconvolution and pooling take 2-d or 3-d windows ("Only 2D or 3D convolution is supported",
  // NvInfer.h): a 1-d one runs as 2-d on the input with a trailing dimension of 1, squeezed off after (as
  // onnx-tensorrt does). `windowInput` gives the input so and the window parameters with their second entry.
  bool oneD(const OpDesc& op) const { return op.params.integers(op.name, "kernel").size() == 1; }
  ITensor& windowInput(const OpDesc& op) {
    return oneD(op) ? reshaped(op, input(op, 0), {0, 0, 0, 1}, "unsqueeze") : input(op, 0);
  }
  std::vector<int64_t> windowParam(const OpDesc& op, const std::string& key, int64_t second) const {
    std::vector<int64_t> v = op.params.integers(op.name, key);
    if (v.size() == 1) v.push_back(second);
    return v;
  }
  // The layer's output, squeezed back to 1-d where it was unsqueezed.
  template <class Layer>
  void finishWindow(const OpDesc& op, Layer* layer) {
    if (!oneD(op)) return finish(op, layer);
    ITensor& out = *step(op, layer, "2d")->getOutput(0);
    auto* squeeze = net_.addShuffle(out);
    if (squeeze) squeeze->setReshapeDimensions(dims({0, 0, 0}));
    finish(op, squeeze);
  }
  // PyTorch's ceil_mode: TensorRT's kEXPLICIT_ROUND_UP keeps a last window that starts in the trailing padding, which
  // PyTorch drops ("O = ceil((M - F) / S) + 1"), so ceil mode is floor mode with the post-padding that reaches
  // PyTorch's extent (from the output shapes the DSL inferred).
  std::vector<int64_t> postPaddingOf(const OpDesc& op) const {
    std::vector<int64_t> post = op.params.integers(op.name, "postPadding");
    if (op.params.number(op.name, "ceilMode") == 0) return post;
    const Shape &in = shapeOf(op, 0), &out = g_.tensors.at(op.outputs.at(0)).dims;
    const std::vector<int64_t> kernel = op.params.integers(op.name, "kernel"), stride = op.params.integers(op.name, "stride"), pre = op.params.integers(op.name, "prePadding");
    const std::vector<int64_t> dilation = op.params.has("dilation") ? op.params.integers(op.name, "dilation") : std::vector<int64_t>(kernel.size(), 1);
    for (size_t i = 0; i < post.size(); i++) {
      const int64_t size = in.at(2 + i), extent = out.at(2 + i);
      if (size < 0 || extent < 0) unsupported(op, "ceilMode on a dynamic spatial dimension");
      const int64_t extra = (extent - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - (size + pre[i] + post[i]);
      if (extra <= 0) continue;
      if (op.kind == "pooling" && op.params.string(op.name, "type") != "max" && op.params.number(op.name, "countIncludePad") != 0) {
        unsupported(op, "ceil-mode average pooling that counts padding (PyTorch's divisor stops at the padding)");
      }
      post[i] += extra;
    }
    return post;
  }
  template <class Layer>
  void setWindow(const OpDesc& op, Layer* l, const std::vector<int64_t>& postPadding) {
    checked(op, l);
    l->setStrideNd(dims(windowParam(op, "stride", 1)));
    l->setPrePadding(dims(windowParam(op, "prePadding", 0)));
    std::vector<int64_t> post = postPadding;
    if (post.size() == 1) post.push_back(0);
    l->setPostPadding(dims(post));
  }

  void convolution(const OpDesc& op) {
    // Weights named first, kernel then bias, so the calls come in one order whatever the compiler.
    const Weights kernel = named(op, "kernel");
    const Weights bias = op.hasWeight("bias") ? named(op, "bias") : none();
    auto* l = net_.addConvolutionNd(windowInput(op), op.params.integer(op.name, "outChannels"), dims(windowParam(op, "kernel", 1)), kernel, bias);
    setWindow(op, l, postPaddingOf(op));
    l->setDilationNd(dims(windowParam(op, "dilation", 1)));
    l->setNbGroups(op.params.integer(op.name, "groups"));
    l->setPaddingMode(paddingMode(op));
    finishWindow(op, l);
  }

  // PyTorch's output_padding extends the end of each dimension: TensorRT's post-padding crops, so it shrinks by it.
  // Where that would make it negative ("Negative padding is not supported"), the deconvolution crops nothing there
  // and a fill slice extends its output by the rest, the bias added after, as onnx-tensorrt does.
  void deconvolution(const OpDesc& op) {
    std::vector<int64_t> post = op.params.integers(op.name, "postPadding");
    const std::vector<int64_t> extra = op.params.integers(op.name, "outputPadding");
    std::vector<int64_t> beyond(post.size(), 0);
    bool extend = false;
    for (size_t i = 0; i < post.size(); i++) {
      post[i] -= extra.at(i);
      if (post[i] < 0) { beyond[i] = -post[i]; post[i] = 0; extend = true; }
    }
    const Weights kernel = named(op, "kernel");
    const bool bias = op.hasWeight("bias");
    const Weights biasW = bias && !extend ? named(op, "bias") : none();
    auto* l = net_.addDeconvolutionNd(windowInput(op), op.params.integer(op.name, "outChannels"), dims(windowParam(op, "kernel", 1)), kernel, biasW);
    setWindow(op, l, post);
    l->setDilationNd(dims(windowParam(op, "dilation", 1)));
    l->setNbGroups(op.params.integer(op.name, "groups"));
    if (!extend) return finishWindow(op, l);
    // Output shapes are static here (the DSL infers them): the slice reads past the end, filling zeros.
    const Shape& out = g_.tensors.at(op.outputs.at(0)).dims;
    for (int64_t d : out) if (d < 0) unsupported(op, "output padding beyond the padding on a dynamic shape");
    std::vector<int64_t> size = out, start(out.size(), 0), stride(out.size(), 1);
    if (oneD(op)) size.push_back(1), start.push_back(0), stride.push_back(1);
    auto* fill = checked(op, net_.addSlice(*step(op, l, "deconvolution")->getOutput(0), dims(start), dims(size), dims(stride)));
    fill->setMode(Api::SampleMode::kFILL);
    fill->setInput(4, constant(op, "fill", {}, owned(op, "fill", {0.0f})));
    if (!bias && !oneD(op)) return finish(op, fill);
    fill->setName((op.name + ".output_padding").c_str());
    ITensor* result = fill->getOutput(0);
    if (bias) {
      std::vector<int64_t> biasShape(size.size(), 1);
      biasShape[1] = op.params.integer(op.name, "outChannels");
      ITensor& b = constant(op, "bias", biasShape, named(op, "bias"));
      auto* sum = net_.addElementWise(*result, b, Api::ElementWiseOperation::kSUM);
      if (!oneD(op)) return finish(op, sum);
      result = step(op, sum, "2d")->getOutput(0);
    }
    auto* squeeze = net_.addShuffle(*result);
    if (squeeze) squeeze->setReshapeDimensions(dims({0, 0, 0}));
    finish(op, squeeze);
  }

  void pooling(const OpDesc& op) {
    const auto type = pick<typename Api::PoolingType>(op, "type", {{"max", Api::PoolingType::kMAX}, {"average", Api::PoolingType::kAVERAGE},
        {"max_average_blend", Api::PoolingType::kMAX_AVERAGE_BLEND}});
    auto* l = net_.addPoolingNd(windowInput(op), type, dims(windowParam(op, "kernel", 1)));
    setWindow(op, l, postPaddingOf(op));  // stride always set: TensorRT's default is 1, PyTorch's the window
    l->setPaddingMode(paddingMode(op));
    l->setAverageCountExcludesPadding(op.params.number(op.name, "countIncludePad") == 0);
    // "(1-blendFactor)*maxPool + blendFactor*avgPool": the DSL's blendFactor means the same.
    if (type == Api::PoolingType::kMAX_AVERAGE_BLEND) l->setBlendFactor(static_cast<float>(op.params.number(op.name, "blendFactor")));
    finishWindow(op, l);
  }

  // TensorRT 10 has no fully-connected layer: flatten, multiply by the constant Wᵀ, add the bias row.
  void fullyConnected(const OpDesc& op) {
    const int64_t out = op.params.integer(op.name, "outFeatures"), in = op.params.integer(op.name, "inFeatures");
    ITensor& flat = reshaped(op, input(op, 0), {0, -1}, "flatten");
    ITensor& w = constant(op, "weight", {out, in}, named(op, "kernel"));
    auto* mm = net_.addMatrixMultiply(flat, Api::MatrixOperation::kNONE, w, Api::MatrixOperation::kTRANSPOSE);
    if (!op.hasWeight("bias")) return finish(op, mm);
    ITensor& product = *step(op, mm, "matmul")->getOutput(0);
    ITensor& b = constant(op, "bias", {1, out}, named(op, "bias"));
    finish(op, net_.addElementWise(product, b, Api::ElementWiseOperation::kSUM));
  }

  void activation(const OpDesc& op) {
    using A = typename Api::ActivationType;
    const std::string& name = op.params.string(op.name, "type");
    if (name == "silu" || name == "hardswish" || name == "mish") return gatedActivation(op, name);
    const auto type = pick<A>(op, "type", {{"relu", A::kRELU}, {"sigmoid", A::kSIGMOID}, {"tanh", A::kTANH}, {"leaky_relu", A::kLEAKY_RELU},
        {"elu", A::kELU}, {"selu", A::kSELU}, {"softsign", A::kSOFTSIGN}, {"softplus", A::kSOFTPLUS}, {"clip", A::kCLIP},
        {"hard_sigmoid", A::kHARD_SIGMOID}, {"scaled_tanh", A::kSCALED_TANH}, {"thresholded_relu", A::kTHRESHOLDED_RELU},
        {"gelu_erf", A::kGELU_ERF}, {"gelu_tanh", A::kGELU_TANH}});
    auto* l = checked(op, net_.addActivation(input(op, 0), type));
    l->setAlpha(static_cast<float>(op.params.number(op.name, "alpha")));
    l->setBeta(static_cast<float>(op.params.number(op.name, "beta")));
    finish(op, l);
  }

  // TensorRT has no SiLU, hardswish or Mish activation: x times a gate of x — sigmoid(x), hard_sigmoid(x) with
  // α = 1/6, β = 1/2 (PyTorch's Hardswish: x·relu6(x + 3)/6), tanh(softplus(x)) — which TensorRT's builder fuses.
  void gatedActivation(const OpDesc& op, const std::string& name) {
    using A = typename Api::ActivationType;
    ITensor& x = input(op, 0);
    auto activate = [&](ITensor& in, A type, float alpha, float beta, const std::string& stepName) -> ITensor& {
      auto* l = checked(op, net_.addActivation(in, type));
      l->setAlpha(alpha);
      l->setBeta(beta);
      return *step(op, l, stepName)->getOutput(0);
    };
    ITensor& gate = name == "silu" ? activate(x, A::kSIGMOID, 0, 0, "gate")
                    : name == "hardswish" ? activate(x, A::kHARD_SIGMOID, 1.0f / 6.0f, 0.5f, "gate")
                                          : activate(activate(x, A::kSOFTPLUS, 1, 1, "softplus"), A::kTANH, 0, 0, "gate");
    finish(op, net_.addElementWise(x, gate, Api::ElementWiseOperation::kPROD));
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
    const std::string& name = op.params.string(op.name, "op");
    const std::string& dtype = g_.tensors.at(op.inputs.at(0)).dtype;
    // "Generally the input must have a floating-point type (or kINT8 as a quantized float), except …: kSIGN accepts a
    // floating-point or Int32 tensor." Integer negation is 0 − x and its absolute value max(x, 0 − x), as in
    // onnx-tensorrt; int8 here holds integers, not TensorRT's quantized floats.
    if (dtype == "int8") unsupported(op, "'" + name + "' on int8 (TensorRT takes int8 as quantized floats)");
    if ((dtype == "int32" || dtype == "int64") && name != "sign") {
      const size_t rank = shapeOf(op, 0).size();
      Weights zero = dtype == "int32" ? Weights{DataType::kINT32, ints_.emplace_back(1, 0).data(), 1} : Weights{DataType::kINT64, longs_.emplace_back(1, 0).data(), 1};
      ITensor& zeros = constant(op, "zero", std::vector<int64_t>(rank, 1), zero);
      auto* negated = net_.addElementWise(zeros, input(op, 0), Api::ElementWiseOperation::kSUB);
      if (name == "neg") return finish(op, negated);
      return finish(op, net_.addElementWise(input(op, 0), *step(op, negated, "negated")->getOutput(0), Api::ElementWiseOperation::kMAX));
    }
    if (dtype == "int64") unsupported(op, "'sign' on int64 (TensorRT's kSIGN takes int32)");
    finish(op, net_.addUnary(input(op, 0), pick<U>(op, "op", ops)));
  }

  // IScaleLayer: "The input tensor is required to have at least 4 dimensions": a rank-2 or rank-3 input is scaled
  // with trailing dimensions of 1 (which change no weight count) and reshaped back.
  template <class Add>
  void scaled(const OpDesc& op, ITensor& x, Add add) {
    const size_t rank = shapeOf(op, 0).size();
    if (rank >= 4) return finish(op, add(x));
    if (rank < 2) unsupported(op, "a scale of a rank-" + std::to_string(rank) + " tensor");
    std::vector<int64_t> wide(rank, 0);
    wide.resize(4, 1);
    auto* l = add(reshaped(op, x, wide, "unsqueeze"));
    auto* back = net_.addShuffle(*step(op, l, "4d")->getOutput(0));
    if (back) back->setReshapeDimensions(dims(std::vector<int64_t>(rank, 0)));
    finish(op, back);
  }

  void scale(const OpDesc& op) {
    const auto mode = pick<typename Api::ScaleMode>(op, "mode", {{"uniform", Api::ScaleMode::kUNIFORM}, {"channel", Api::ScaleMode::kCHANNEL},
        {"elementwise", Api::ScaleMode::kELEMENTWISE}});
    auto w = [&](const char* role) { return op.hasWeight(role) ? named(op, role) : none(); };
    const Weights shift = w("shift"), scale = w("scale"), power = w("power");
    const auto axis = static_cast<int32_t>(op.params.integer(op.name, "channelAxis"));
    scaled(op, input(op, 0), [&](ITensor& in) { return net_.addScaleNd(in, mode, shift, scale, power, axis); });
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
    scaled(op, input(op, 0), [&](ITensor& in) { return net_.addScaleNd(in, Api::ScaleMode::kCHANNEL, shiftW, scaleW, none(), 1); });
  }

  void softMax(const OpDesc& op) {
    auto* l = checked(op, net_.addSoftMax(input(op, 0)));
    l->setAxes(1u << op.params.integer(op.name, "axis"));  // always set: TensorRT's default axis is rank − 3
    finish(op, l);
  }

  void concatenation(const OpDesc& op) {
    std::vector<ITensor*> inputs;
    for (int t : op.inputs) inputs.push_back(tensors_.at(t));
    auto* l = checked(op, net_.addConcatenation(inputs.data(), static_cast<int32_t>(inputs.size())));
    l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));  // always set: the default is rank − 3
    finish(op, l);
  }

  static typename Api::Permutation permutation(const std::vector<int64_t>& order) {
    typename Api::Permutation p{};
    for (size_t i = 0; i < order.size(); i++) p.order[i] = static_cast<int32_t>(order[i]);
    return p;
  }

  // With a first transpose, which dimension a 0 placeholder copies is not documented: it is resolved here, from the
  // transposed input shape (a dynamic one becomes the reshape's one -1).
  void shuffle(const OpDesc& op) {
    auto* l = checked(op, net_.addShuffle(input(op, 0)));
    const std::vector<int64_t> first = op.params.integers(op.name, "firstTranspose");
    l->setFirstTranspose(permutation(first));
    if (op.params.has("reshape")) {
      std::vector<int64_t> shape = op.params.integers(op.name, "reshape");
      bool identity = true;
      for (size_t i = 0; i < first.size(); i++) identity = identity && first[i] == static_cast<int64_t>(i);
      if (!identity) {
        const Shape& in = shapeOf(op, 0);
        for (size_t i = 0; i < shape.size(); i++) {
          if (shape[i] != 0) continue;
          const int64_t d = in.at(first.at(i));
          if (d < 0 && std::count(shape.begin(), shape.end(), int64_t{-1})) unsupported(op, "a reshape after a transpose that copies a dynamic dimension beside a -1");
          shape[i] = d < 0 ? -1 : d;
        }
      }
      if (op.params.has("dimsFrom")) l->setInput(1, shapeInput(op, sizes(op, "shape", shape, op.params.integers(op.name, "dimsFrom")), "shape_int32"));
      else l->setReshapeDimensions(dims(shape));
      l->setZeroIsPlaceholder(true);
    }
    l->setSecondTranspose(permutation(op.params.integers(op.name, "secondTranspose")));
    finish(op, l);
  }

  // Where the IR counts from the end of a dynamic dimension (a negative start or size), the window is computed from
  // the input's shape, IShapeLayer's "1D tensor of type Int64 with the dimensions of the input tensor": start
  // = S + B·shape, size = C + ⌊(A·shape + D) / stride⌋ elementwise, given as the slice's inputs 1 and 2.
  void slice(const OpDesc& op) {
    const std::vector<int64_t> start = op.params.integers(op.name, "start"), size = op.params.integers(op.name, "size"), stride = op.params.integers(op.name, "stride");
    const size_t rank = start.size();
    std::vector<int64_t> s(rank), b(rank), c(rank), a(rank), d(rank), staticStart(rank), staticSize(rank);
    bool fromEndStart = false, fromEndSize = false;
    for (size_t i = 0; i < rank; i++) {
      s[i] = start[i];
      b[i] = start[i] < 0;
      const bool counted = size[i] > 0;
      c[i] = counted ? size[i] : 1;
      a[i] = !counted && start[i] >= 0;
      d[i] = counted ? 0 : size[i] - start[i];
      staticStart[i] = std::max<int64_t>(start[i], 0);
      staticSize[i] = std::max<int64_t>(size[i], 0);
      fromEndStart = fromEndStart || b[i];
      fromEndSize = fromEndSize || !counted;
    }
    auto* l = checked(op, net_.addSlice(input(op, 0), dims(staticStart), dims(staticSize), dims(stride)));
    if (!fromEndStart && !fromEndSize) return finish(op, l);
    using E = typename Api::ElementWiseOperation;
    ITensor& shape = *step(op, net_.addShape(input(op, 0)), "shape")->getOutput(0);
    if (fromEndStart) l->setInput(1, shapeInput(op, arithmetic(op, arithmetic(op, shape, longs(op, "start_from_end", b), E::kPROD, "start_offset"), longs(op, "start", s), E::kSUM, "start_at"), "start_int32"));
    if (fromEndSize) {
      ITensor& span = arithmetic(op, arithmetic(op, shape, longs(op, "size_from_end", a), E::kPROD, "size_extent"), longs(op, "size_offset", d), E::kSUM, "size_span");
      ITensor& counted = arithmetic(op, arithmetic(op, span, longs(op, "stride", stride), E::kFLOOR_DIV, "size_steps"), longs(op, "size", c), E::kSUM, "size_count");
      l->setInput(2, shapeInput(op, counted, "size_int32"));
    }
    finish(op, l);
  }

  // PyTorch's expand as a slice of the input (given the output's rank) that wraps — "kWRAP: Coordinates wrap around
  // periodically" (NvInfer.h, SampleMode) — so that a dimension of 1 read over a larger size repeats its value; the
  // size computed from the inputs' shapes where it is dynamic.
  void expand(const OpDesc& op) {
    const std::vector<int64_t> shape = op.params.integers(op.name, "shape");
    const std::vector<int64_t> dimsFrom = op.params.has("dimsFrom") ? op.params.integers(op.name, "dimsFrom") : std::vector<int64_t>{};
    const Shape& in = shapeOf(op, 0);
    const size_t rank = shape.size(), lead = rank - in.size();
    std::vector<int64_t> size, from;
    size_t next = 0;
    for (size_t i = 0; i < rank; i++) {
      const int64_t kept = i >= lead ? in.at(i - lead) : 1;
      if (shape[i] == -2) {
        from.push_back(dimsFrom.at(next)), from.push_back(dimsFrom.at(next + 1)), next += 2;
        size.push_back(-2);
      } else if (shape[i] == -1 && kept < 0) {
        from.push_back(0), from.push_back(static_cast<int64_t>(i - lead));
        size.push_back(-2);
      } else {
        size.push_back(shape[i] == -1 ? kept : shape[i]);
      }
    }
    std::vector<int64_t> staticSize(rank);
    for (size_t i = 0; i < rank; i++) staticSize[i] = std::max<int64_t>(size[i], 0);
    auto* l = checked(op, net_.addSlice(withRank(op, 0, rank), dims(std::vector<int64_t>(rank, 0)), dims(staticSize), dims(std::vector<int64_t>(rank, 1))));
    l->setMode(Api::SampleMode::kWRAP);
    if (!from.empty()) l->setInput(2, shapeInput(op, sizes(op, "size", size, from), "size_int32"));
    finish(op, l);
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
    auto* l = checked(op, net_.addResize(input(op, 0)));
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
    auto* l = checked(op, net_.addSlice(input(op, 0), dims(start), dims(out), dims(stride)));
    l->setMode(Api::SampleMode::kFILL);
    l->setInput(4, fillValue(op, value));
    finish(op, l);
  }

  // The fill value of a kFILL slice, a 0-d constant of the input's type: it "should either be the same or be
  // implicitly convertible to the input data type … among kFLOAT, kHALF, kINT8, and kFP8" (ISliceLayer::setInput).
  ITensor& fillValue(const OpDesc& op, double value) {
    const std::string& dtype = g_.tensors.at(op.inputs.at(0)).dtype;
    if (dtype == "int32") return constant(op, "value", {}, Weights{DataType::kINT32, ints_.emplace_back(1, static_cast<int32_t>(value)).data(), 1});
    if (dtype == "int64") return constant(op, "value", {}, Weights{DataType::kINT64, longs_.emplace_back(1, static_cast<int64_t>(value)).data(), 1});
    if (dtype == "uint8" || dtype == "bool") {
      const DataType type = dtype == "bool" ? DataType::kBOOL : DataType::kUINT8;
      return constant(op, "value", {}, Weights{type, bytes_.emplace_back(1, static_cast<uint8_t>(dtype == "bool" ? value != 0 : value)).data(), 1});
    }
    return constant(op, "value", {}, owned(op, "value", {static_cast<float>(value)}));
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
    // The 5-argument form from 10.14, where the 4-argument one is deprecated.
    if constexpr (Api::kVersion >= 1014) finish(op, net_.addTopK(input(op, 0), type, k, axes, DataType::kINT32), 2);
    else finish(op, net_.addTopK(input(op, 0), type, k, axes), 2);
  }

  // Layer norm: scale/bias over the normalised trailing dims. Instance and group norm: per channel, [1, C, 1…] —
  // "In the case of InstanceNorm or GroupNorm, the shapes of scale and bias are expected to be [1, C, 1, 1]"
  // (addNormalizationV2, 10.15) — but before 10.15 group norm's are "[1, G, 1, 1]": there it gets ones and zeros per
  // group, and PyTorch's per-channel affine follows as a channel scale.
  void normalization(const OpDesc& op) {
    const std::string type = op.params.string(op.name, "type");
    const Shape& in = shapeOf(op, 0);
    const std::vector<int64_t> axes = op.params.integers(op.name, "axes");
    const int64_t groups = op.params.integer(op.name, "groups");
    const bool affine = op.hasWeight("scale");
    const bool perGroup = type == "group" && Api::kVersion < 1015;
    std::vector<int64_t> paramShape(in.size(), 1);
    int64_t count = 1;
    if (type == "layer") {
      for (int64_t a : axes) { paramShape[a] = in.at(a); count *= in.at(a); }
    } else {
      paramShape[1] = perGroup ? groups : in.at(1);
      count = paramShape[1];
    }
    const bool affineAfter = perGroup && affine;
    Weights scaleW = affine && !affineAfter ? named(op, "scale") : owned(op, "unit_scale", std::vector<float>(count, 1.0f));
    Weights biasW = affine && !affineAfter ? named(op, "bias") : owned(op, "zero_bias", std::vector<float>(count, 0.0f));
    ITensor& scale = constant(op, "scale", paramShape, scaleW);
    ITensor& bias = constant(op, "bias", paramShape, biasW);
    auto* l = checked(op, addNormalization(input(op, 0), scale, bias, mask(axes)));
    l->setEpsilon(static_cast<float>(op.params.number(op.name, "epsilon")));
    if (type == "group") l->setNbGroups(groups);
    if (!affineAfter) return finish(op, l);
    ITensor& normalized = *step(op, l, "normalize")->getOutput(0);
    const Weights channelShift = named(op, "bias"), channelScale = named(op, "scale");
    scaled(op, normalized, [&](ITensor& x) { return net_.addScaleNd(x, Api::ScaleMode::kCHANNEL, channelShift, channelScale, none(), 1); });
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
    ITensor& s = constant(op, "slope", shape, named(op, "slope"));
    finish(op, net_.addParametricReLU(input(op, 0), s));
  }

  // "Per-channel quantization is supported only for weight inputs" and a per-channel dequantize only "for input that
  // is rooted at an IConstantLayer" (NvInfer.h, IQuantizeLayer / IDequantizeLayer): activations go per tensor.
  void quantization(const OpDesc& op) {
    const bool quantize = op.kind == "quantize";
    const auto& values = op.weight("scale");
    const bool perChannel = op.params.has("axis");
    if (perChannel && !producedByConstant(op.inputs.at(0))) unsupported(op, "per-channel quantization of an activation (TensorRT quantizes weights per channel, activations per tensor)");
    // A per-tensor scale is a 0-d constant; a per-channel one 1-d along `axis`.
    ITensor& scale = constant(op, "scale", perChannel ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : std::vector<int64_t>{}, named(op, "scale"));
    if (quantize) {
      auto* l = checked(op, net_.addQuantize(input(op, 0), scale, DataType::kINT8));
      if (perChannel) l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));
      finish(op, l);
    } else {
      auto* l = checked(op, net_.addDequantize(input(op, 0), scale, dataType(op.params.string(op.name, "to"))));
      if (perChannel) l->setAxis(static_cast<int32_t>(op.params.integer(op.name, "axis")));
      finish(op, l);
    }
  }

  // Whether a constant layer writes the tensor, or a quantize of one (a weight's Q/DQ pair).
  bool producedByConstant(int tensor) const {
    for (const OpDesc& op : g_.ops) {
      if (std::find(op.outputs.begin(), op.outputs.end(), tensor) == op.outputs.end()) continue;
      return op.kind == "constant" || (op.kind == "quantize" && producedByConstant(op.inputs.at(0)));
    }
    return false;
  }

  Network& net_;
  const Graph& g_;
  std::vector<ITensor*> tensors_;
  std::deque<std::vector<float>> owned_;
  std::deque<std::vector<int32_t>> ints_;
  std::deque<std::vector<int64_t>> longs_;
  std::deque<std::vector<uint16_t>> halves_;
  std::deque<std::vector<uint8_t>> bytes_;
  std::map<std::string, Weights> weightsByName_;  // every named weight, by its name
  std::vector<std::string> weightNames_;          // in the order first used
};

}  // namespace netdef
