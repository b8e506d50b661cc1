#pragma once
// nvinfer1's types as the lowering's template argument. Compiled only where TensorRT's headers are present.
#include <NvInfer.h>
#include <NvInferVersion.h>

namespace netdef {

struct TensorRTApi {
  static constexpr int kVersion = NV_TENSORRT_MAJOR * 100 + NV_TENSORRT_MINOR;
  using Network = nvinfer1::INetworkDefinition;
  using Tensor = nvinfer1::ITensor;
  using Dims = nvinfer1::Dims;
  using Weights = nvinfer1::Weights;
  using Permutation = nvinfer1::Permutation;
  using DataType = nvinfer1::DataType;
  using PoolingType = nvinfer1::PoolingType;
  using ActivationType = nvinfer1::ActivationType;
  using ElementWiseOperation = nvinfer1::ElementWiseOperation;
  using UnaryOperation = nvinfer1::UnaryOperation;
  using ScaleMode = nvinfer1::ScaleMode;
  using ReduceOperation = nvinfer1::ReduceOperation;
  using MatrixOperation = nvinfer1::MatrixOperation;
  using InterpolationMode = nvinfer1::InterpolationMode;
  using ResizeCoordinateTransformation = nvinfer1::ResizeCoordinateTransformation;
  using ResizeRoundMode = nvinfer1::ResizeRoundMode;
  using TopKOperation = nvinfer1::TopKOperation;
  using PaddingMode = nvinfer1::PaddingMode;
  using SampleMode = nvinfer1::SampleMode;
};

}  // namespace netdef
