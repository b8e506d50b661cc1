/** "netdef/diagnostics": what the engine runs on this CPU, the calls the TensorRT lowering makes, and the TensorRT reference. */
export { gemmTileName, int8KernelName } from "../runtime/builtin-engine.js";
export { recordTensorRTLowering, type LoweringCall } from "../tensorrt/recording.js";
export { TensorRTReference, TensorRTRuleError, type ReferenceInput, type ReferenceRun } from "../tensorrt/reference/reference.js";
