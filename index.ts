/** netdef: write inference networks by hand in TypeScript, build them for the builtin engine or TensorRT. */
export { Network, type NetworkOptions, type LayerHandle } from "./dsl/network.js";
export { Tensor } from "./dsl/tensor.js";
export { NetworkError, type NetworkIssue } from "./dsl/errors.js";
export { DATA_TYPES, type DataType } from "./dsl/dtype.js";
export type { NetworkIR, LayerIR, TensorIR, OutputIR, WeightBindingIR } from "./dsl/ir.js";
export type { NetworkSummary, SummaryRow } from "./dsl/summary.js";
export * from "./layers/index.js";
export { WeightStore } from "./weights/store.js";
export type { WeightSource } from "./weights/source.js";
export { toFloat32, type WeightTensor, type WeightDType, type WeightArray } from "./weights/tensor.js";
export { loadWeights } from "./weights/load.js";
export { parseSafetensors, serializeSafetensors } from "./weights/safetensors.js";
export { parseNpy, serializeNpy } from "./weights/npy.js";
export { parseWts, serializeWts } from "./weights/wts.js";
export { WeightFileError } from "./weights/errors.js";
export { bindingReport, type BindingReport } from "./weights/binding-report.js";
