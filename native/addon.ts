import { createRequire } from "node:module";
import path from "node:path";
import { packageRoot } from "./package-root.js";

/** The native surface, as `native/src/addon.cc` exports it. */
export interface NativeIO {
  name: string;
  data: Float32Array;
  shape: number[];
}

export interface NativeTensor {
  name: string;
  dtype: string;
  shape: number[];
}

export interface NativeResult {
  outputs: NativeIO[];
  profile?: { layer: string; milliseconds: number }[];
}

export interface NativeContext {
  /** `repeats` (the tuner's): runs back to back, each layer's profile time the fastest of them. */
  execute(inputs: NativeIO[], profile: boolean, repeats?: number): Promise<NativeResult>;
  /** The same on the calling thread. */
  executeSync(inputs: NativeIO[], profile: boolean): NativeResult;
  dispose(): void;
}

export interface NativeEngine {
  header(): string;
  /** The IO tensors as the plan's body declares them. */
  io(): { inputs: NativeTensor[]; outputs: NativeTensor[] };
  /** The tensors the engine holds in each 16-bit storage between layers. */
  halfStorage(): { bfloat16: string[]; float16: string[] };
  /** The tensors the engine holds channel-blocked between layers, and the layers that read or write one. */
  channelBlocked(): { tensors: string[]; layers: string[] };
  /** The tensors never allocated at these input shapes: outputs of layers a later one computes along with its own. */
  fusedAway(shapes: Record<string, number[]>): string[];
  bfloat16Products(): string[];
  kernelNames(): Record<string, string>;
  createContext(): NativeContext;
  /** Swaps in the same network compiled with new weights. */
  refit(plan: Uint8Array): Promise<void>;
  dispose(): void;
}

export interface NativeAddon {
  Engine: { deserialize(plan: Uint8Array): Promise<NativeEngine> };
  cpuFeatures(): string[];
  int8KernelName(): string;
  gemmTileName(): string;
  recordTensorRTLowering(plan: Uint8Array): { calls: { target: string; method: string; args: string }[]; weights: { owner: string; values: Float32Array }[] };
  /** The plan schema the addon was compiled with (native/src/plan_schema.h). */
  planSchema(): { format: string; kinds: Record<string, { name: string; type: string; optional: boolean; values?: string[] }[]>; tactics: string[] };
  /** Whether the addon was built with the TensorRT backend. */
  tensorrt: boolean;
}

// NETDEF_NATIVE_ADDON points at another build of the addon (the sanitizer script and A/B timing use it), a path
// relative to the working directory or absolute.
const addonPath = process.env.NETDEF_NATIVE_ADDON ? path.resolve(process.env.NETDEF_NATIVE_ADDON) : path.join(packageRoot, "native/build/Release/netdef_native.node");
let loaded: NativeAddon | undefined;

/** The addon, loaded on first use (a DSL-only user never needs it built). */
export function addon(): NativeAddon {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)(addonPath) as NativeAddon;
    } catch (error) {
      throw new Error(`netdef's native addon is not built (${(error as Error).message.split("\n")[0]}); run \`npm install\` (or \`npx cmake-js compile --directory native --out native/build\`) in the netdef package`);
    }
  }
  return loaded;
}

/** Typed errors for the codes the addon sets. */
export class PlanError extends Error {
  override readonly name = "PlanError";
}
export class ExecutionError extends Error {
  override readonly name = "ExecutionError";
}
export class DisposedError extends Error {
  override readonly name = "DisposedError";
}
/** A network the TensorRT lowering cannot express (names the layer and what). */
export class LoweringError extends Error {
  override readonly name = "LoweringError";
}

/** Native errors carry a `code`; this maps them to the typed errors above. */
export function typedNativeError(error: unknown): Error {
  const { code, message } = error as { code?: string; message: string };
  if (code === "ERR_PLAN") return new PlanError(message);
  if (code === "ERR_EXECUTION") return new ExecutionError(message);
  if (code === "ERR_DISPOSED") return new DisposedError(message);
  if (code === "ERR_LOWERING") return new LoweringError(message);
  return error as Error;
}
