import { NetdefError } from "../weights/netdef-error.js";
import { addon } from "./addon.js";

/** The TensorRT version (major·10000 + minor·100 + patch) and GPU compute capability (major·10 + minor) a plan is for. */
export interface TensorRTTarget {
  tensorrtVersion: number;
  computeCapability: number;
}

/** The native TensorRT surface, present only in addons built with NETDEF_WITH_TENSORRT. */
export interface NativeTensorRT {
  tensorrtBuild(plan: Uint8Array, config: object, onProgress: (phase: string, step: number, steps: number) => void): {
    promise: Promise<{ engine: Uint8Array; timingCache: Uint8Array; target: TensorRTTarget; warnings: string[] }>;
    cancel(): void;
  };
  TensorRTEngine: { deserialize(bytes: Uint8Array, device: number): Promise<NativeTensorRTEngine> };
  tensorrtTarget(device: number): TensorRTTarget;
  /** Device memory for enqueue's bindings: `bytes` on CUDA device `device`, copied synchronously. */
  tensorrtDeviceBuffer(bytes: number, device: number): NativeDeviceBuffer;
}
export interface NativeDeviceBuffer {
  readonly address: bigint;
  write(bytes: Uint8Array): void;
  read(): Uint8Array;
  free(): void;
}
/** A tensor crossing to or from TensorRT: its data type's name and the bytes of its values. */
export interface NativeTensorBytes {
  name: string;
  dtype: string;
  data: Uint8Array;
  shape: number[];
}
export interface NativeTensorRTEngine {
  /** A context (device buffers, a stream of its own or the caller's `stream`) on optimization profile `profile`. */
  createContext(profile: number, stream?: bigint): Promise<NativeTensorRTContext>;
  refit(weights: Record<string, { dtype: string; data: Uint8Array }>): Promise<void>;
  dispose(): void;
}
export interface NativeTensorRTContext {
  execute(inputs: NativeTensorBytes[]): Promise<NativeTensorBytes[]>;
  /** Device memory in place: each tensor's CUDA address (inputs with their shapes); resolves to the outputs' shapes. */
  enqueue(bindings: { name: string; address: bigint; shape?: number[] }[]): Promise<{ name: string; shape: number[] }[]>;
  dispose(): void;
}

/** The addon's TensorRT surface, or a TensorRTUnavailableError saying how to rebuild the addon with TensorRT. */
export function requireTensorRT(): NativeTensorRT {
  const native = addon();
  if (!native.tensorrt) {
    throw new TensorRTUnavailableError("the TensorRT backend is not available: netdef's addon was built without TensorRT. Install TensorRT 10 (or 11) and CUDA, then rebuild with `npx cmake-js compile --directory native --out native/build --CDNETDEF_WITH_TENSORRT=ON --CDTENSORRT_ROOT=/path/to/TensorRT`");
  }
  return native as unknown as NativeTensorRT;
}

/** The addon was built without TensorRT (the message says how to rebuild it with TensorRT). */
export class TensorRTUnavailableError extends NetdefError {
  override readonly name = "TensorRTUnavailableError";
  readonly code = "tensorrt_unavailable";
}
