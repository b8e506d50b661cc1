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
    promise: Promise<{ engine: Uint8Array; timingCache: Uint8Array; target: TensorRTTarget }>;
    cancel(): void;
  };
  TensorRTEngine: { deserialize(bytes: Uint8Array): Promise<NativeTensorRTEngine> };
  tensorrtTarget(): TensorRTTarget;
}
export interface NativeTensorRTEngine {
  execute(inputs: { name: string; data: Float32Array; shape: number[] }[]): Promise<{ name: string; data: Float32Array; shape: number[] }[]>;
  refit(weights: Record<string, Float32Array>): Promise<void>;
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
