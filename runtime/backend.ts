import type { DataType } from "../dsl/dtype.js";
import type { IOTensor } from "../plan/header.js";
import type { InputArray, OutputValue } from "./io.js";

/** The backends an engine runs on. */
export type Backend = "builtin" | "tensorrt";

/** An input as the ExecutionContext checked it: the engine's name and data type, the caller's array, its shape. */
export interface CheckedInput {
  name: string;
  dtype: DataType;
  data: InputArray;
  shape: number[];
}

/** What an execution gives back: the outputs in their types' arrays, and each layer's time when asked for. */
export interface BackendResult {
  outputs: Record<string, OutputValue>;
  profile?: { layer: string; milliseconds: number }[];
}

/** What a backend gives Engine and ExecutionContext, which hold everything the two have in common. */
export interface EngineBackend {
  readonly kind: Backend;
  readonly network: string;
  readonly inputs: readonly IOTensor[];
  readonly outputs: readonly IOTensor[];
  /** Each layer's call site, by name, for errors about a layer. */
  readonly callSites: ReadonlyMap<string, string | undefined>;
  serialize(): Uint8Array;
  /** A context on optimization profile `profile` (TensorRT: one profile per context; on the caller's CUDA `stream` if given). */
  createContext(profile: number, stream?: bigint): BackendContext & Partial<DeviceContext>;
  dispose(): void;
}

/** Device memory in place (the TensorRT backend's): each tensor's CUDA address, inputs with their shapes. */
export type DeviceBindings = Readonly<Record<string, { readonly address: bigint; readonly shape?: readonly number[] }>>;

/** A context that runs on device memory given in place (TensorRT's setTensorAddress + enqueueV3). */
export interface DeviceContext {
  /** Resolves to the outputs' shapes, once enqueued on the caller's stream, or once done on the context's own. */
  enqueue(bindings: DeviceBindings): Promise<Record<string, number[]>>;
}

/** One execution context of a backend: inputs checked by the ExecutionContext, converted here as the backend needs. */
export interface BackendContext {
  execute(inputs: CheckedInput[], profile: boolean): Promise<BackendResult>;
  executeSync(inputs: CheckedInput[], profile: boolean): BackendResult;
  dispose(): void;
}
