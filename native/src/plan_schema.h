// Generated from plan/schema.ts by `npm run generate:plan-schema`: do not edit. A test fails while it is stale.
#pragma once
#include <cstddef>

namespace netdef::schema {

enum class FieldType { kNumber, kInteger, kNumbers, kIntegers, kBoolean, kString };

struct Field {
  const char* name;
  FieldType type;
  bool optional;
  const char* const* values;  // the strings allowed (nullptr: any)
  size_t valueCount;
};

struct Kind {
  const char* name;
  const Field* fields;
  size_t fieldCount;
  size_t minInputs, maxInputs, outputs;
};

inline constexpr const char kPlanFormat[] = "0.1.0+804bc8cf168f";

inline constexpr const char* k_activation_type[] = {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "softsign", "softplus", "clip", "hard_sigmoid", "scaled_tanh", "thresholded_relu", "gelu_erf", "gelu_tanh", "silu", "hardswish", "mish"};
inline constexpr Field k_activation[] = {
    {"type", FieldType::kString, false, k_activation_type, 17},
    {"alpha", FieldType::kNumber, false, nullptr, 0},
    {"beta", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr Field k_batchNorm[] = {
    {"epsilon", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr const char* k_cast_to[] = {"float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"};
inline constexpr Field k_cast[] = {
    {"to", FieldType::kString, false, k_cast_to, 8},
};
inline constexpr Field k_concatenation[] = {
    {"axis", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr Field k_constant[] = {
    {"shape", FieldType::kIntegers, false, nullptr, 0},
};
inline constexpr const char* k_convolution_paddingMode[] = {"explicit_round_down", "explicit_round_up", "same_upper", "same_lower"};
inline constexpr const char* k_convolution_activation[] = {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "softsign", "softplus", "clip", "hard_sigmoid", "scaled_tanh", "thresholded_relu", "gelu_erf", "gelu_tanh", "silu", "hardswish", "mish"};
inline constexpr const char* k_convolution_roundTo[] = {"float16", "bfloat16"};
inline constexpr const char* k_convolution_tactic[] = {"implicit_gemm_k128", "implicit_gemm_k256", "implicit_gemm_k512", "direct_c16", "direct_rows", "winograd_2x2_3x3", "winograd_4x4_3x3", "pointwise_gemm", "depthwise_direct", "int8_implicit_gemm"};
inline constexpr Field k_convolution[] = {
    {"kernel", FieldType::kIntegers, false, nullptr, 0},
    {"stride", FieldType::kIntegers, false, nullptr, 0},
    {"dilation", FieldType::kIntegers, false, nullptr, 0},
    {"prePadding", FieldType::kIntegers, false, nullptr, 0},
    {"postPadding", FieldType::kIntegers, false, nullptr, 0},
    {"paddingMode", FieldType::kString, false, k_convolution_paddingMode, 4},
    {"ceilMode", FieldType::kBoolean, false, nullptr, 0},
    {"outChannels", FieldType::kInteger, false, nullptr, 0},
    {"groups", FieldType::kInteger, false, nullptr, 0},
    {"bias", FieldType::kBoolean, false, nullptr, 0},
    {"activation", FieldType::kString, true, k_convolution_activation, 17},
    {"activationAlpha", FieldType::kNumber, true, nullptr, 0},
    {"activationBeta", FieldType::kNumber, true, nullptr, 0},
    {"roundTo", FieldType::kString, true, k_convolution_roundTo, 2},
    {"inputScale", FieldType::kNumber, true, nullptr, 0},
    {"outputScale", FieldType::kNumber, true, nullptr, 0},
    {"residual", FieldType::kBoolean, true, nullptr, 0},
    {"tactic", FieldType::kString, true, k_convolution_tactic, 10},
};
inline constexpr const char* k_deconvolution_paddingMode[] = {"explicit_round_down", "explicit_round_up", "same_upper", "same_lower"};
inline constexpr Field k_deconvolution[] = {
    {"kernel", FieldType::kIntegers, false, nullptr, 0},
    {"stride", FieldType::kIntegers, false, nullptr, 0},
    {"dilation", FieldType::kIntegers, false, nullptr, 0},
    {"prePadding", FieldType::kIntegers, false, nullptr, 0},
    {"postPadding", FieldType::kIntegers, false, nullptr, 0},
    {"paddingMode", FieldType::kString, false, k_deconvolution_paddingMode, 4},
    {"ceilMode", FieldType::kBoolean, false, nullptr, 0},
    {"outChannels", FieldType::kInteger, false, nullptr, 0},
    {"groups", FieldType::kInteger, false, nullptr, 0},
    {"bias", FieldType::kBoolean, false, nullptr, 0},
    {"outputPadding", FieldType::kIntegers, false, nullptr, 0},
};
inline constexpr const char* k_dequantize_to[] = {"float32", "float16", "bfloat16"};
inline constexpr Field k_dequantize[] = {
    {"axis", FieldType::kInteger, true, nullptr, 0},
    {"to", FieldType::kString, false, k_dequantize_to, 3},
};
inline constexpr const char* k_elementWise_op[] = {"sum", "prod", "max", "min", "sub", "div", "pow", "floor_div", "and", "or", "xor", "equal", "greater", "less"};
inline constexpr Field k_elementWise[] = {
    {"op", FieldType::kString, false, k_elementWise_op, 14},
};
inline constexpr Field k_expand[] = {
    {"shape", FieldType::kIntegers, false, nullptr, 0},
    {"dimsFrom", FieldType::kIntegers, true, nullptr, 0},
};
inline constexpr const char* k_fullyConnected_activation[] = {"relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "softsign", "softplus", "clip", "hard_sigmoid", "scaled_tanh", "thresholded_relu", "gelu_erf", "gelu_tanh", "silu", "hardswish", "mish"};
inline constexpr const char* k_fullyConnected_roundTo[] = {"float16", "bfloat16"};
inline constexpr const char* k_fullyConnected_tactic[] = {"int8_gemm"};
inline constexpr Field k_fullyConnected[] = {
    {"outFeatures", FieldType::kInteger, false, nullptr, 0},
    {"inFeatures", FieldType::kInteger, false, nullptr, 0},
    {"bias", FieldType::kBoolean, false, nullptr, 0},
    {"activation", FieldType::kString, true, k_fullyConnected_activation, 17},
    {"activationAlpha", FieldType::kNumber, true, nullptr, 0},
    {"activationBeta", FieldType::kNumber, true, nullptr, 0},
    {"roundTo", FieldType::kString, true, k_fullyConnected_roundTo, 2},
    {"inputScale", FieldType::kNumber, true, nullptr, 0},
    {"outputScale", FieldType::kNumber, true, nullptr, 0},
    {"tactic", FieldType::kString, true, k_fullyConnected_tactic, 1},
};
inline constexpr Field k_gather[] = {
    {"axis", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr Field k_lrn[] = {
    {"window", FieldType::kInteger, false, nullptr, 0},
    {"alpha", FieldType::kNumber, false, nullptr, 0},
    {"beta", FieldType::kNumber, false, nullptr, 0},
    {"k", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr const char* k_matrixMultiply_opA[] = {"none", "transpose", "vector"};
inline constexpr const char* k_matrixMultiply_opB[] = {"none", "transpose", "vector"};
inline constexpr Field k_matrixMultiply[] = {
    {"opA", FieldType::kString, false, k_matrixMultiply_opA, 3},
    {"opB", FieldType::kString, false, k_matrixMultiply_opB, 3},
    {"alpha", FieldType::kNumber, true, nullptr, 0},
    {"softMax", FieldType::kBoolean, true, nullptr, 0},
};
inline constexpr const char* k_normalization_type[] = {"layer", "instance", "group"};
inline constexpr Field k_normalization[] = {
    {"type", FieldType::kString, false, k_normalization_type, 3},
    {"axes", FieldType::kIntegers, false, nullptr, 0},
    {"groups", FieldType::kInteger, false, nullptr, 0},
    {"epsilon", FieldType::kNumber, false, nullptr, 0},
    {"affine", FieldType::kBoolean, false, nullptr, 0},
};
inline constexpr Field k_padding[] = {
    {"pre", FieldType::kIntegers, false, nullptr, 0},
    {"post", FieldType::kIntegers, false, nullptr, 0},
    {"value", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr Field k_parametricReLU[] = {
    {"numParameters", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr const char* k_pooling_paddingMode[] = {"explicit_round_down", "explicit_round_up", "same_upper", "same_lower"};
inline constexpr const char* k_pooling_type[] = {"max", "average", "max_average_blend"};
inline constexpr Field k_pooling[] = {
    {"kernel", FieldType::kIntegers, false, nullptr, 0},
    {"stride", FieldType::kIntegers, false, nullptr, 0},
    {"dilation", FieldType::kIntegers, false, nullptr, 0},
    {"prePadding", FieldType::kIntegers, false, nullptr, 0},
    {"postPadding", FieldType::kIntegers, false, nullptr, 0},
    {"paddingMode", FieldType::kString, false, k_pooling_paddingMode, 4},
    {"ceilMode", FieldType::kBoolean, false, nullptr, 0},
    {"type", FieldType::kString, false, k_pooling_type, 3},
    {"countIncludePad", FieldType::kBoolean, false, nullptr, 0},
    {"blendFactor", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr Field k_quantize[] = {
    {"axis", FieldType::kInteger, true, nullptr, 0},
};
inline constexpr const char* k_reduce_op[] = {"sum", "prod", "max", "min", "avg"};
inline constexpr Field k_reduce[] = {
    {"op", FieldType::kString, false, k_reduce_op, 5},
    {"axes", FieldType::kIntegers, false, nullptr, 0},
    {"keepDims", FieldType::kBoolean, false, nullptr, 0},
};
inline constexpr const char* k_resize_mode[] = {"nearest", "linear", "cubic"};
inline constexpr const char* k_resize_coordinateTransformation[] = {"asymmetric", "align_corners", "half_pixel"};
inline constexpr const char* k_resize_nearestRounding[] = {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"};
inline constexpr Field k_resize[] = {
    {"mode", FieldType::kString, false, k_resize_mode, 3},
    {"scales", FieldType::kNumbers, true, nullptr, 0},
    {"outputShape", FieldType::kIntegers, true, nullptr, 0},
    {"coordinateTransformation", FieldType::kString, false, k_resize_coordinateTransformation, 3},
    {"nearestRounding", FieldType::kString, false, k_resize_nearestRounding, 4},
    {"cubicCoefficient", FieldType::kNumber, false, nullptr, 0},
};
inline constexpr const char* k_scale_mode[] = {"uniform", "channel", "elementwise"};
inline constexpr Field k_scale[] = {
    {"mode", FieldType::kString, false, k_scale_mode, 3},
    {"channelAxis", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr Field k_shuffle[] = {
    {"firstTranspose", FieldType::kIntegers, false, nullptr, 0},
    {"reshape", FieldType::kIntegers, true, nullptr, 0},
    {"dimsFrom", FieldType::kIntegers, true, nullptr, 0},
    {"secondTranspose", FieldType::kIntegers, false, nullptr, 0},
};
inline constexpr Field k_slice[] = {
    {"start", FieldType::kIntegers, false, nullptr, 0},
    {"size", FieldType::kIntegers, false, nullptr, 0},
    {"stride", FieldType::kIntegers, false, nullptr, 0},
};
inline constexpr Field k_softMax[] = {
    {"axis", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr const char* k_topK_op[] = {"max", "min"};
inline constexpr Field k_topK[] = {
    {"op", FieldType::kString, false, k_topK_op, 2},
    {"k", FieldType::kInteger, false, nullptr, 0},
    {"axis", FieldType::kInteger, false, nullptr, 0},
};
inline constexpr const char* k_unary_op[] = {"exp", "log", "sqrt", "recip", "abs", "neg", "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "ceil", "floor", "erf", "not", "sign", "round", "isinf", "isnan"};
inline constexpr Field k_unary[] = {
    {"op", FieldType::kString, false, k_unary_op, 25},
};
inline constexpr Field k_pointwiseChain[] = {
    {"steps", FieldType::kString, false, nullptr, 0},
    {"alpha", FieldType::kNumbers, false, nullptr, 0},
    {"beta", FieldType::kNumbers, false, nullptr, 0},
};
inline constexpr Field k_logSoftMax[] = {
    {"axis", FieldType::kInteger, false, nullptr, 0},
};

inline constexpr Kind kKinds[] = {
    {"activation", k_activation, 3, 1, 1, 1},
    {"batchNorm", k_batchNorm, 1, 1, 1, 1},
    {"cast", k_cast, 1, 1, 1, 1},
    {"concatenation", k_concatenation, 1, 1, 65535, 1},
    {"constant", k_constant, 1, 0, 0, 1},
    {"convolution", k_convolution, 18, 1, 2, 1},
    {"deconvolution", k_deconvolution, 11, 1, 1, 1},
    {"dequantize", k_dequantize, 2, 1, 1, 1},
    {"elementWise", k_elementWise, 1, 2, 2, 1},
    {"expand", k_expand, 2, 1, 65, 1},
    {"fullyConnected", k_fullyConnected, 10, 1, 1, 1},
    {"gather", k_gather, 1, 2, 2, 1},
    {"identity", nullptr, 0, 1, 1, 1},
    {"lrn", k_lrn, 4, 1, 1, 1},
    {"matrixMultiply", k_matrixMultiply, 4, 2, 2, 1},
    {"normalization", k_normalization, 5, 1, 1, 1},
    {"padding", k_padding, 3, 1, 1, 1},
    {"parametricReLU", k_parametricReLU, 1, 1, 1, 1},
    {"pooling", k_pooling, 10, 1, 1, 1},
    {"quantize", k_quantize, 1, 1, 1, 1},
    {"reduce", k_reduce, 3, 1, 1, 1},
    {"resize", k_resize, 6, 1, 1, 1},
    {"scale", k_scale, 2, 1, 1, 1},
    {"select", nullptr, 0, 3, 3, 1},
    {"shuffle", k_shuffle, 4, 1, 65, 1},
    {"slice", k_slice, 3, 1, 1, 1},
    {"softMax", k_softMax, 1, 1, 1, 1},
    {"topK", k_topK, 3, 1, 1, 2},
    {"unary", k_unary, 1, 1, 1, 1},
    {"pointwiseChain", k_pointwiseChain, 3, 1, 65535, 1},
    {"logSoftMax", k_logSoftMax, 1, 1, 1, 1},
};

inline constexpr const char* kConvolutionTactics[] = {"implicit_gemm_k128", "implicit_gemm_k256", "implicit_gemm_k512", "direct_c16", "direct_rows", "winograd_2x2_3x3", "winograd_4x4_3x3", "pointwise_gemm", "depthwise_direct"};

}  // namespace netdef::schema
