/** netdef: write inference networks by hand in TypeScript, build them for the builtin engine or TensorRT. */
export { Network, type NetworkOptions, type LayerHandle } from "./dsl/network.js";
export { Tensor } from "./dsl/tensor.js";
export { NetdefError, OptionError, type NetdefErrorCode } from "./core/errors.js";
export { NetworkError, type NetworkIssue } from "./dsl/errors.js";
export { DATA_TYPES, type DataType } from "./dsl/dtype.js";
export type { NetworkIR, LayerIR, TensorIR, OutputIR, WeightBindingIR } from "./dsl/ir.js";
export type { NetworkSummary, SummaryRow } from "./dsl/summary.js";
// Layer definitions and their constant lists are in "netdef/layers"; here only the parameter types a user writes.
export type {
  ActivationParams, ActivationType, BatchNormParams, CastParams, ConcatenationParams, ConstantParams,
  ConvolutionParams, CoordinateTransformation, DeconvolutionParams, DequantizeParams, ElementWiseOp, FullyConnectedParams,
  GatherParams, LRNParams, MatrixMultiplyParams, MatrixOperation, NearestRounding, NormalizationParams,
  NormalizationType, PaddingMode, PaddingParams, ParametricReLUParams, PoolingParams, PoolingType,
  QuantizeParams, ReduceOp, ReduceParams, ResizeMode, ResizeParams, ScaleMode,
  ScaleParams, ShuffleParams, SliceParams, SoftMaxParams, TopKParams, UnaryOp,
  WindowParams,
} from "./layers/index.js";
export { WeightStore } from "./weights/store.js";
export type { WeightSource } from "./weights/source.js";
export { toFloat32, type WeightTensor, type WeightDType, type WeightArray } from "./weights/tensor.js";
export { loadWeights } from "./weights/load.js";
export { parseSafetensors, serializeSafetensors } from "./weights/safetensors.js";
export { parseNpy, serializeNpy } from "./weights/npy.js";
export { parseWts, serializeWts } from "./weights/wts.js";
export { WeightFileError } from "./weights/errors.js";
export { bindingReport, type BindingReport } from "./dsl/binding-report.js";
export { buildEngine, type BuildableNetwork } from "./api/build.js";
export { refit } from "./api/refit.js";
export { Engine, ExecutionContext, type InputValue, type OutputValue, type ExecuteOptions, type EngineInspection, type InspectedLayer } from "./runtime/engine.js";
export type { IOTensor, PlanHeader, ShapeRange, TacticChoice } from "./plan/header.js";
export type { ActivationMemory } from "./plan/memory.js";
export type { TuningLevel } from "./builder/autotune.js";
export { PlanError, ExecutionError, DisposedError, LoweringError } from "./native/addon.js";
export type { EngineOptions } from "./native/engine-options.js";
export { TensorRTUnavailableError, type TensorRTTarget } from "./native/tensorrt.js";
export { BuildError, BuildCancelledError, RefitError } from "./builder/errors.js";
export type { BuildOptions, BuildProgress, OptimizationProfile } from "./builder/build.js";
export { TensorRTEngine } from "./runtime/tensorrt-engine.js";
export type { TensorRTBuildOptions } from "./tensorrt/build.js";
export { exportOnnx, ONNX_OPSET } from "./onnx/export.js";
export { OnnxExportError } from "./onnx/errors.js";
export { compareLayers, type LayerReport, type LayerComparison, type ActivationReference, type CompareOptions } from "./debug/compare-layers.js";
export { calibrate, quantisedInputs, type CalibrateOptions } from "./api/calibrate.js";
export { quantize, type CalibrationTable, type QuantizeOptions } from "./precision/quantize.js";
export { reducedFloat, roundToBfloat16, roundToFloat16, type ReducedFloatOptions } from "./precision/reduced-float.js";
