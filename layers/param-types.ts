/** The parameter types a user writes for each layer kind, and the unions of their allowed values. */
export type {
  ActivationParams, ActivationType, BatchNormParams, CastParams, ConcatenationParams, ConstantParams,
  ConvolutionParams, CoordinateTransformation, DeconvolutionParams, DequantizeParams, ElementWiseOp, ExpandParams, FullyConnectedParams,
  GatherParams, LRNParams, MatrixMultiplyParams, MatrixOperation, NearestRounding, NormalizationParams,
  NormalizationType, PaddingMode, PaddingParams, ParametricReLUParams, PoolingParams, PoolingType,
  QuantizeParams, ReduceOp, ReduceParams, ResizeMode, ResizeParams, ScaleMode,
  ScaleParams, ShuffleParams, SliceParams, SoftMaxParams, TopKParams, UnaryOp,
  WindowParams, InputDim, SizeSpec,
} from "./index.js";
