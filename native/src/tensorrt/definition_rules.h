#pragma once
// The add* calls that TensorRT's headers document as refused at definition time (the call returns nullptr), shared
// by the recording and the reference networks so that both refuse exactly what TensorRT does.
#include <cstdint>
#include <string>

namespace netdef::definition_rules {

// "Only 2D or 3D convolution is supported" (likewise deconvolution and pooling; NvInfer.h, addConvolutionNd,
// addDeconvolutionNd, addPoolingNd): other windows get nullptr, "if it could not be created".
inline bool windowSupported(int32_t nbDims) { return nbDims == 2 || nbDims == 3; }
inline const char* const kWindowRule = "Only 2D or 3D convolution is supported. (NvInfer.h, addConvolutionNd; likewise addDeconvolutionNd, addPoolingNd)";

// "Currently only values of K up to 3840 are supported." (NvInfer.h, addTopK)
inline bool topKSupported(int64_t k) { return k >= 1 && k <= 3840; }
inline const char* const kTopKRule = "Currently only values of K up to 3840 are supported. (NvInfer.h, addTopK)";

}  // namespace netdef::definition_rules
