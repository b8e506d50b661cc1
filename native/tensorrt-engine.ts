import { readFile, writeFile } from "node:fs/promises";
import type { NetworkIR } from "../dsl/ir.js";
import { buildGraph } from "../builder/graph.js";
import { BuildCancelledError, BuildError } from "../builder/errors.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32 } from "../weights/tensor.js";
import { addon, DisposedError, PlanError, typedNativeError } from "./addon.js";
import type { IOTensor, OutputValue, ShapeRange } from "./engine.js";
import { packageVersion } from "./package-root.js";
import { encodePlan, fnv1a64 } from "./plan.js";

/** The native TensorRT surface, present only in addons built with NETDEF_WITH_TENSORRT. */
interface NativeTensorRT {
  tensorrtBuild(plan: Uint8Array, config: object, onProgress: (phase: string, step: number, steps: number) => void): {
    promise: Promise<{ engine: Uint8Array; timingCache: Uint8Array; target: TensorRTTarget }>;
    cancel(): void;
  };
  TensorRTEngine: { deserialize(bytes: Uint8Array): Promise<NativeTensorRTEngine> };
  tensorrtTarget(): TensorRTTarget;
}
interface NativeTensorRTEngine {
  execute(inputs: { name: string; data: Float32Array; shape: number[] }[]): Promise<{ name: string; data: Float32Array; shape: number[] }[]>;
  refit(weights: Record<string, Float32Array>): Promise<void>;
  dispose(): void;
}

/** The TensorRT version (major·10000 + minor·100 + patch) and GPU compute capability (major·10 + minor) a plan is for. */
export interface TensorRTTarget {
  tensorrtVersion: number;
  computeCapability: number;
}

export interface TensorRTBuildOptions {
  profiles?: readonly Record<string, ShapeRange>[];
  onProgress?: (progress: { phase: string; step: number; steps: number }) => void;
  signal?: AbortSignal;
  weights?: WeightSource;
  /** TensorRT's workspace memory pool limit. Default 1 GiB. */
  workspaceBytes?: number;
  /** Builder optimization level 0…5 (TensorRT's default 3): higher searches longer for faster kernels. */
  optimizationLevel?: number;
  /** A timing cache file: read when present, written after the build, so that later builds skip measured tactics. */
  timingCacheFile?: string;
  /** "all": any weight refittable by name; "identical": same values only (with stripPlan, a weightless plan). */
  refit?: "none" | "all" | "identical";
  stripPlan?: boolean;
}

const MAGIC = "NETDEFTR";

interface TensorRTHeader {
  netdef: string;
  network: string;
  backend: "tensorrt";
  target: TensorRTTarget;
  config: Omit<TensorRTBuildOptions, "onProgress" | "signal" | "weights">;
  inputs: IOTensor[];
  outputs: IOTensor[];
  weights: string[];
}

const version = (v: number) => `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;

/** The addon's TensorRT surface, or a BuildError saying how to rebuild the addon with TensorRT. */
export function requireTensorRT(): NativeTensorRT {
  const native = addon();
  if (!native.tensorrt) {
    throw new BuildError("the TensorRT backend is not available: netdef's addon was built without TensorRT. Install TensorRT 10 (or 11) and CUDA, then rebuild with `npx cmake-js compile --directory native --out native/build --CDNETDEF_WITH_TENSORRT=ON --CDTENSORRT_ROOT=/path/to/TensorRT`");
  }
  return native as unknown as NativeTensorRT;
}

/** An engine built by TensorRT: the same run API as the builtin Engine, plus refit through IRefitter. */
export class TensorRTEngine {
  readonly #native: NativeTensorRTEngine;
  readonly #file: Uint8Array;
  readonly header: TensorRTHeader;
  #disposed = false;

  private constructor(native: NativeTensorRTEngine, header: TensorRTHeader, file: Uint8Array) {
    this.#native = native;
    this.header = header;
    this.#file = file;
  }

  /** Builds `network` with TensorRT (see `Network.build({ backend: "tensorrt" })`). */
  static async build(network: { toJSON(): NetworkIR; weights: WeightSource }, inputs: IOTensor[], options: TensorRTBuildOptions): Promise<TensorRTEngine> {
    const native = requireTensorRT();
    const ir = network.toJSON();
    const plan = encodePlan(buildGraph(ir, options.weights ?? network.weights), {});
    const timingCache = options.timingCacheFile ? await readFile(options.timingCacheFile).then((b) => new Uint8Array(b), () => undefined) : undefined;
    const { signal, onProgress, weights: _weights, ...config } = options;
    const handle = native.tensorrtBuild(plan, { ...config, timingCache }, (phase, step, steps) => onProgress?.({ phase, step, steps }));
    const abort = () => handle.cancel();
    signal?.addEventListener("abort", abort);
    try {
      const built = await handle.promise.catch((error: unknown) => {
        if (signal?.aborted) throw new BuildCancelledError(`TensorRT build of "${ir.name}" cancelled`);
        throw typedNativeError(error);
      });
      if (options.timingCacheFile && built.timingCache.length) await writeFile(options.timingCacheFile, built.timingCache);
      const header: TensorRTHeader = {
        netdef: packageVersion, network: ir.name, backend: "tensorrt", target: built.target, config, inputs,
        outputs: ir.outputs.map((o) => { const t = ir.tensors.find((x) => x.name === o.tensor) ?? ir.inputs.find((x) => x.name === o.tensor)!; return { name: o.name, dtype: t.dtype, shape: [...t.shape] }; }),
        weights: [...new Set(ir.layers.flatMap((l) => Object.values(l.weights).map((w) => w.name)))],
      };
      return TensorRTEngine.deserialize(TensorRTEngine.#container(header, built.engine));
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  /** Our header (target, config, IO, weight names), TensorRT's engine, and a checksum over both. */
  static #container(header: TensorRTHeader, engine: Uint8Array): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + 4 + json.length + engine.length + 8);
    out.set(new TextEncoder().encode(MAGIC));
    new DataView(out.buffer).setUint32(8, json.length, true);
    out.set(json, 12);
    out.set(engine, 12 + json.length);
    new DataView(out.buffer).setBigUint64(out.length - 8, fnv1a64(out.subarray(0, out.length - 8)), true);
    return out;
  }

  /**
   * Loads a TensorRT plan file written by `serialize`/`save`. Refused with a PlanError that says which and why
   * when it was built by another TensorRT version or for a GPU of another compute capability.
   */
  static async deserialize(file: Uint8Array): Promise<TensorRTEngine> {
    const native = requireTensorRT();
    if (file.length < 20 || new TextDecoder().decode(file.subarray(0, 8)) !== MAGIC) throw new PlanError("not a netdef TensorRT plan (the magic NETDEFTR is missing)");
    if (fnv1a64(file.subarray(0, file.length - 8)) !== new DataView(file.buffer, file.byteOffset).getBigUint64(file.length - 8, true)) {
      throw new PlanError("TensorRT plan is corrupted: its checksum does not match its contents");
    }
    const headerLength = new DataView(file.buffer, file.byteOffset).getUint32(8, true);
    if (12 + headerLength > file.length - 8) throw new PlanError("TensorRT plan is corrupted: its header runs past its end");
    const header = JSON.parse(new TextDecoder().decode(file.subarray(12, 12 + headerLength))) as TensorRTHeader;
    const here = native.tensorrtTarget();
    if (header.target.tensorrtVersion !== here.tensorrtVersion) {
      throw new PlanError(`this plan was built by TensorRT ${version(header.target.tensorrtVersion)} but this addon uses TensorRT ${version(here.tensorrtVersion)}: TensorRT engines load only in the version that built them; rebuild the plan here`);
    }
    if (header.target.computeCapability !== here.computeCapability) {
      throw new PlanError(`this plan was built for a GPU of compute capability ${header.target.computeCapability / 10} but this GPU has ${here.computeCapability / 10}: TensorRT engines are tuned for one GPU architecture; rebuild the plan here`);
    }
    const engine = await native.TensorRTEngine.deserialize(file.subarray(12 + headerLength, file.length - 8)).catch((e: unknown) => { throw typedNativeError(e); });
    return new TensorRTEngine(engine, header, Uint8Array.from(file));
  }

  static async load(path: string): Promise<TensorRTEngine> {
    return TensorRTEngine.deserialize(new Uint8Array(await readFile(path)));
  }

  get inputs(): readonly IOTensor[] { return this.header.inputs; }
  get outputs(): readonly IOTensor[] { return this.header.outputs; }

  serialize(): Uint8Array {
    this.#check();
    return Uint8Array.from(this.#file);
  }

  async save(path: string): Promise<void> {
    await writeFile(path, this.serialize());
  }

  /** One context per engine in this version: executions are serialised on the engine's CUDA stream. */
  createExecutionContext(): { execute(inputs: Record<string, { data: Float32Array; shape: readonly number[] }>): Promise<Record<string, OutputValue>> } {
    this.#check();
    return {
      execute: async (inputs) => {
        this.#check();
        const outputs = await this.#native.execute(this.inputs.map((t) => {
          const value = inputs[t.name];
          if (!value) throw new PlanError(`missing input '${t.name}'`);
          return { name: t.name, data: value.data, shape: [...value.shape] };
        })).catch((e: unknown) => { throw typedNativeError(e); });
        return Object.fromEntries(outputs.map((o) => [o.name, { data: o.data, shape: o.shape, dtype: this.outputs.find((t) => t.name === o.name)?.dtype ?? "float32" }]));
      },
    };
  }

  /** New weights by PyTorch name, through TensorRT's IRefitter (the engine must be built with `refit`). */
  async refit(weights: WeightSource): Promise<void> {
    this.#check();
    const values = Object.fromEntries(weights.names().map((n) => [n, toFloat32(weights.get(n)!)]));
    await this.#native.refit(values).catch((e: unknown) => { throw typedNativeError(e); });
  }

  dispose(): void {
    this.#disposed = true;
    this.#native.dispose();
  }

  #check(): void {
    if (this.#disposed) throw new DisposedError(`TensorRT engine "${this.header.network}" has been disposed`);
  }
}
