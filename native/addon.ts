import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { NetdefError, type ErrorPlace } from "../weights/netdef-error.js";
import { packageRoot, packageVersion } from "../dsl/package-root.js";

/** The native surface, as `native/src/addon.cc` exports it. */
/** An input: float32 values (every type float32 holds exactly), or int32/int64 tensors' integers. */
export interface NativeInput {
  name: string;
  data: Float32Array | Int32Array | BigInt64Array;
  shape: number[];
}

/** An output: float32 values, or an int32/int64 tensor's integers as int64. */
export interface NativeOutput {
  name: string;
  data: Float32Array | BigInt64Array;
  shape: number[];
}

export interface NativeTensor {
  name: string;
  dtype: string;
  shape: number[];
}

export interface NativeResult {
  outputs: NativeOutput[];
  profile?: { layer: string; milliseconds: number }[];
}

export interface NativeContext {
  /** `repeats` (the tuner's): runs back to back, each layer's profile time the fastest of them. */
  execute(inputs: NativeInput[], profile: boolean, repeats?: number): Promise<NativeResult>;
  /** The same on the calling thread. */
  executeSync(inputs: NativeInput[], profile: boolean): NativeResult;
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
  writtenIntoConcatenations(): string[];
  /**
   * At these input shapes, shapes only (nothing allocated): the tensors never allocated (outputs of layers a later one
   * computes along with its own) and the largest tensor with its bytes; each layer's output checked against the
   * plan's declared shape.
   */
  shapesAt(shapes: Record<string, number[]>): { fusedAway: string[]; largest: { tensor: string; bytes: number } };
  bfloat16Products(): string[];
  kernelNames(): Record<string, string>;
  createContext(): NativeContext;
  /** Swaps in the same network compiled with new weights. */
  refit(plan: Uint8Array): Promise<void>;
  dispose(): void;
}

export interface NativeAddon {
  /** `options`: all of EngineOptions, resolved (native/engine-options.ts); defaults where left out. */
  Engine: { deserialize(plan: Uint8Array, options?: object): Promise<NativeEngine> };
  cpuFeatures(): string[];
  int8KernelName(options?: object): string;
  gemmTileName(options?: object): string;
  /** The network the lowering defines on the reference's INetworkDefinition: tensorrt/reference/network.ts types it. */
  referenceTensorRTLowering(plan: Uint8Array): unknown;
  recordTensorRTLowering(plan: Uint8Array): { calls: { target: string; method: string; args: string }[]; weights: { owner: string; values: Float32Array }[] };
  /** The most threads that took items of one parallel loop since the last call (for the thread-cap test). */
  takeMostLoopThreads(): number;
  /** The plan schema the addon was compiled with (native/src/plan_schema.h). */
  planSchema(): { format: string; kinds: Record<string, { name: string; type: string; optional: boolean; values?: string[] }[]>; tactics: string[] };
  /** Whether the addon was built with the TensorRT backend. */
  tensorrt: boolean;
}

/** The native addon cannot be loaded here: no prebuild for this platform and no source build (or a broken one). */
export class AddonUnavailableError extends NetdefError {
  override readonly name = "AddonUnavailableError";
  readonly code = "addon_unavailable";
}

/**
 * Where the addon is looked for, first found first: NETDEF_NATIVE_ADDON (another build: the sanitizer script and
 * A/B timing use it); a checkout's source build (native/build, made by npm ci); the user's own build of this
 * version, kept outside node_modules so that it survives reinstalls (scripts/build-addon.mjs, where no prebuild
 * fits or for TensorRT: $XDG_CACHE_HOME or ~/.cache, netdef/<version>/<platform>-<arch>); the prebuild packed for
 * this platform (prebuilds/<platform>-<arch>).
 */
export function addonCandidates(root = packageRoot, env: NodeJS.ProcessEnv = process.env, platform = `${process.platform}-${process.arch}`, version = packageVersion): string[] {
  if (env.NETDEF_NATIVE_ADDON) return [path.resolve(env.NETDEF_NATIVE_ADDON)];
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME ?? os.homedir(), ".cache");
  return [
    path.join(root, "native/build/Release/netdef_native.node"), path.join(cache, "netdef", version, platform, "Release/netdef_native.node"),
    path.join(root, "prebuilds", platform, "netdef_native.node"),
  ];
}

let loaded: NativeAddon | undefined;

/** The addon, loaded on first use: defining networks, exporting ONNX and inspecting IR never need it. */
export function addon(): NativeAddon {
  if (!loaded) {
    const candidates = addonCandidates();
    const found = candidates.find((file) => existsSync(file));
    if (!found) {
      throw new AddonUnavailableError(`netdef's native addon is not here (no prebuild for ${process.platform}-${process.arch}, no source build; looked for ${candidates.join(", ")}). ` +
        "Build it from source with a C++17 compiler and CMake: npm install --save-dev cmake-js node-addon-api node-api-headers, then node node_modules/netdef/scripts/build-addon.mjs");
    }
    try {
      loaded = createRequire(import.meta.url)(found) as NativeAddon;
    } catch (error) {
      throw new AddonUnavailableError(`netdef's native addon ${found} does not load here (${(error as Error).message.split("\n")[0]}); build it from source: node node_modules/netdef/scripts/build-addon.mjs`);
    }
  }
  return loaded;
}

/** A plan that cannot be trusted or loaded here: truncated, corrupted, of another format, for another CPU. */
export class PlanError extends NetdefError {
  override readonly name = "PlanError";
  readonly code = "plan";
}
/** An execution request that cannot be run: inputs of the wrong shape, type or count; a layer that cannot run them. */
export class ExecutionError extends NetdefError {
  override readonly name = "ExecutionError";
  readonly code = "execution";
}
/** An engine or context used after `dispose()`. */
export class DisposedError extends NetdefError {
  override readonly name = "DisposedError";
  readonly code = "disposed";
}
/** A network the TensorRT lowering cannot express (names the layer and what). */
export class LoweringError extends NetdefError {
  override readonly name = "LoweringError";
  readonly code = "lowering";
}

/** What TensorRT itself refused (a build, a load, an execution, a refit), with the messages its logger gave. */
export class TensorRTError extends NetdefError {
  override readonly name = "TensorRTError";
  readonly code = "tensorrt";
}

const NATIVE_ERRORS: Readonly<Record<string, new (message: string, place?: ErrorPlace) => NetdefError>> = {
  ERR_PLAN: PlanError, ERR_EXECUTION: ExecutionError, ERR_DISPOSED: DisposedError, ERR_LOWERING: LoweringError, ERR_TENSORRT: TensorRTError,
  ERR_NATIVE: ExecutionError,  // what else failed in a native call: out of memory, a library error
};

/**
 * Native errors carry a `code`; this maps them to the typed errors above. A message that starts with a layer's name
 * (the kernels' and the lowering's "name (kind): …") gets that layer's call site from `callSites`; one of TensorRT's,
 * the first layer it names (its messages say "<layer>: …", and every layer bears its DSL name).
 */
export function typedNativeError(error: unknown, callSites: ReadonlyMap<string, string | undefined> = new Map()): Error {
  const { code, message } = error as { code?: string; message: string };
  const Type = code === undefined ? undefined : NATIVE_ERRORS[code];
  if (!Type) return error as Error;
  const layer = /^([^\s:()]+) \(\w+\): /.exec(message)?.[1] ?? (code === "ERR_TENSORRT" ? namedLayer(message, callSites) : undefined);
  return new Type(message, layer !== undefined && callSites.has(layer) ? { layer, callSite: callSites.get(layer) } : {});
}

/** The layer a TensorRT message names first ("conv1: …", "'conv1'", "(conv1)"), of those in `callSites`. */
function namedLayer(message: string, callSites: ReadonlyMap<string, string | undefined>): string | undefined {
  let first: { layer: string; at: number } | undefined;
  for (const layer of callSites.keys()) {
    for (const form of [`${layer}:`, `'${layer}'`, `(${layer})`]) {
      const at = message.indexOf(form);
      const boundary = at <= 0 || /[\s[(:'"]/.test(message[at - 1]!);
      if (at >= 0 && boundary && (!first || at < first.at)) first = { layer, at };
    }
  }
  return first?.layer;
}

/** Each layer's call site, by name, for typedNativeError. */
export const callSitesOf = (layers: readonly { name: string; callSite?: string }[]): Map<string, string | undefined> =>
  new Map(layers.map((l) => [l.name, l.callSite]));
