import { readFile, writeFile } from "node:fs/promises";
import { DisposedError, PlanError, typedNativeError } from "../native/addon.js";
import { requireTensorRT, type NativeTensorRTEngine } from "../native/tensorrt.js";
import { fnv1a64 } from "../plan/encode.js";
import type { IOTensor } from "../plan/header.js";
import { TENSORRT_MAGIC, type TensorRTHeader } from "../plan/tensorrt-container.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32 } from "../weights/tensor.js";
import type { OutputValue } from "./engine.js";

const version = (v: number) => `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;

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

  /**
   * Loads a TensorRT plan file written by `serialize`/`save`. Refused with a PlanError that says which and why
   * when it was built by another TensorRT version or for a GPU of another compute capability.
   */
  static async deserialize(file: Uint8Array): Promise<TensorRTEngine> {
    const native = requireTensorRT();
    if (file.length < 20 || new TextDecoder().decode(file.subarray(0, 8)) !== TENSORRT_MAGIC) throw new PlanError("not a netdef TensorRT plan (the magic NETDEFTR is missing)");
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
