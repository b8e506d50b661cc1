import type { DataType } from "../dsl/dtype.js";
import { ExecutionError, PlanError, typedNativeError } from "../native/addon.js";
import { requireTensorRT, type NativeTensorRTContext, type NativeTensorRTEngine, type TensorRTTarget } from "../native/tensorrt.js";
import { fnv1a64 } from "../plan/encode.js";
import type { IOTensor } from "../plan/header.js";
import { TENSORRT_MAGIC, tensorrtVersionText, type TensorRTHeader } from "../plan/tensorrt-container.js";
import type { BackendContext, DeviceContext, EngineBackend } from "./backend.js";
import { inputBytes, outputFromBytes } from "./io.js";


/** What an engine built by TensorRT tells about itself (TensorRT's own engine inspector is not wired yet). */
export interface TensorRTInspection {
  backend: "tensorrt";
  /** The TensorRT version and GPU the engine was built for. */
  target: TensorRTTarget;
  /** That TensorRT version as major.minor.patch. */
  tensorrt: string;
  /** The build options that shaped the engine. */
  config: Record<string, unknown>;
  /** The weights the engine was built from, by their state_dict names (what refit takes). */
  weights: string[];
}

/** The TensorRT backend of an Engine: our header and TensorRT's serialized engine, run through the addon. */
export class TensorRTEngine implements EngineBackend {
  readonly kind = "tensorrt";
  readonly #native: NativeTensorRTEngine;
  readonly #file: Uint8Array;
  readonly header: TensorRTHeader;
  readonly callSites: ReadonlyMap<string, string | undefined> = new Map();
  /** A plan built with stripPlan holds no weights: it runs once a refit has given them all. */
  #weightless: boolean;

  private constructor(native: NativeTensorRTEngine, header: TensorRTHeader, file: Uint8Array) {
    this.#native = native;
    this.header = header;
    this.#file = file;
    this.#weightless = header.config.stripPlan === true;
  }

  /**
   * A TensorRT plan file as `serialize` writes it. Refused with a PlanError that says which and why when it was built
   * by another TensorRT version or for a GPU of another compute capability.
   */
  static async deserialize(file: Uint8Array, device = 0): Promise<TensorRTEngine> {
    const native = requireTensorRT();
    if (file.length < 20 || new TextDecoder().decode(file.subarray(0, 8)) !== TENSORRT_MAGIC) throw new PlanError("not a netdef TensorRT plan (the magic NETDEFTR is missing)");
    if (fnv1a64(file.subarray(0, file.length - 8)) !== new DataView(file.buffer, file.byteOffset).getBigUint64(file.length - 8, true)) {
      throw new PlanError("TensorRT plan is corrupted: its checksum does not match its contents");
    }
    const headerLength = new DataView(file.buffer, file.byteOffset).getUint32(8, true);
    if (12 + headerLength > file.length - 8) throw new PlanError("TensorRT plan is corrupted: its header runs past its end");
    const header = JSON.parse(new TextDecoder().decode(file.subarray(12, 12 + headerLength))) as TensorRTHeader;
    const here = native.tensorrtTarget(device);
    if (header.target.tensorrtVersion !== here.tensorrtVersion) {
      throw new PlanError(`this plan was built by TensorRT ${tensorrtVersionText(header.target.tensorrtVersion)} but this addon uses TensorRT ${tensorrtVersionText(here.tensorrtVersion)}: TensorRT engines load only in the version that built them; rebuild the plan here`);
    }
    if (header.target.computeCapability !== here.computeCapability) {
      throw new PlanError(`this plan was built for a GPU of compute capability ${header.target.computeCapability / 10} but this GPU has ${here.computeCapability / 10}: TensorRT engines are tuned for one GPU architecture; rebuild the plan here`);
    }
    const engine = await native.TensorRTEngine.deserialize(file.subarray(12 + headerLength, file.length - 8), device).catch((e: unknown) => { throw typedNativeError(e); });
    return new TensorRTEngine(engine, header, Uint8Array.from(file));
  }

  get network(): string { return this.header.network; }
  get inputs(): readonly IOTensor[] { return this.header.inputs; }
  get outputs(): readonly IOTensor[] { return this.header.outputs; }

  inspect(): TensorRTInspection {
    return { backend: "tensorrt", target: { ...this.header.target }, tensorrt: tensorrtVersionText(this.header.target.tensorrtVersion), config: { ...this.header.config }, weights: [...this.header.weights] };
  }

  serialize(): Uint8Array { return Uint8Array.from(this.#file); }

  /**
   * A TensorRT execution context on optimization profile `profile`, with a CUDA stream of its own (made on its first
   * execution); inputs and outputs cross as their types' bytes.
   */
  createContext(profile: number, stream?: bigint): BackendContext & DeviceContext {
    let native: Promise<NativeTensorRTContext> | undefined;
    const context = async () => (native ??= this.#native.createContext(profile, stream)).catch((e: unknown) => { throw typedNativeError(e); });
    return {
      execute: async (inputs, profiled) => {
        if (profiled) throw new ExecutionError("profile: per-layer times are not wired to TensorRT's IProfiler yet");
        this.#checkWeights();
        // Copied before the first await: the caller may refill its arrays as soon as execute returns.
        const tensors = inputs.map((i) => ({ name: i.name, dtype: i.dtype, data: inputBytes(i).slice(), shape: i.shape }));
        const outputs = await (await context()).execute(tensors).catch((e: unknown) => { throw typedNativeError(e); });
        return { outputs: Object.fromEntries(outputs.map((o) => [o.name, outputFromBytes(o.dtype as DataType, o.data, o.shape)])) };
      },
      executeSync: () => { throw new ExecutionError("executeSync: the TensorRT backend runs asynchronously only; use execute"); },
      enqueue: async (bindings) => {
        this.#checkWeights();
        const shapes = await (await context()).enqueue(Object.entries(bindings).map(([name, b]) => ({ name, address: b.address, ...(b.shape ? { shape: [...b.shape] } : {}) })))
          .catch((e: unknown) => { throw typedNativeError(e); });
        return Object.fromEntries(shapes.map((s) => [s.name, s.shape]));
      },
      dispose: () => { void native?.then((c) => c.dispose(), () => undefined); },
    };
  }

  /** A plan built with stripPlan runs only once a refit has given it every weight. */
  #checkWeights(): void {
    if (this.#weightless) throw new ExecutionError(`"${this.header.network}" was built with stripPlan and holds no weights: refit it with every weight before running it`);
  }

  /**
   * New values for the weights the engine holds, by their names there (api/refit.ts maps PyTorch's names onto them),
   * through TensorRT's IRefitter; the engine must be built with `refit`.
   */
  async refit(values: Readonly<Record<string, Float32Array>>): Promise<void> {
    const bytes = Object.fromEntries(Object.entries(values).map(([name, v]) => [name, { dtype: "float32", data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) }]));
    await this.#native.refit(bytes).catch((e: unknown) => { throw typedNativeError(e); });
    this.#weightless = false;  // the refitter refuses a refit that leaves any weight missing
  }

  dispose(): void { this.#native.dispose(); }
}
