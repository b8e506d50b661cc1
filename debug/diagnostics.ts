/** "netdef/diagnostics": what the engine runs on this CPU, and the calls the TensorRT lowering makes. */
export { gemmTileName, int8KernelName } from "../runtime/builtin-engine.js";
export { recordTensorRTLowering, type LoweringCall } from "../tensorrt/recording.js";
