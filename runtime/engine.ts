import { readFile, writeFile } from "node:fs/promises";
import { DisposedError, ExecutionError, PlanError, typedNativeError } from "../native/addon.js";
import type { EngineOptions } from "../native/engine-options.js";
import type { IOTensor, PlanHeader } from "../plan/header.js";
import { TENSORRT_MAGIC, type TensorRTHeader } from "../plan/tensorrt-container.js";
import type { WeightSource } from "../weights/source.js";
import { OptionError } from "../weights/netdef-error.js";
import type { Backend, BackendContext, BackendResult, CheckedInput, DeviceBindings, DeviceContext, EngineBackend } from "./backend.js";
import { BuiltinEngine, type BuiltinInspection } from "./builtin-engine.js";
import { checkedInputs, type InputArray, type InputValue, type OutputValue } from "./io.js";
import { TensorRTEngine, type TensorRTInspection } from "./tensorrt-engine.js";

interface Backends {
  builtin: { implementation: BuiltinEngine; header: PlanHeader; inspection: BuiltinInspection };
  tensorrt: { implementation: TensorRTEngine; header: TensorRTHeader; inspection: TensorRTInspection };
}

/** What `inspect()` tells: the builtin engine's layers, fusions and memory, or what a TensorRT engine was built for. */
export type EngineInspection<B extends Backend = Backend> = Backends[B]["inspection"];

/** How an engine loads: the builtin engine's options; `device`, the CUDA device a TensorRT plan runs on (default 0). */
export type LoadOptions = EngineOptions & { device?: number };

export interface ExecuteOptions {
  /** Measure each layer's time; the result's `profile` lists them in execution order. */
  profile?: boolean;
}

export type Outputs = Record<string, OutputValue>;
export type ProfiledOutputs = Outputs & { profile: { layer: string; milliseconds: number }[] };

/**
 * A built network, ready to run: TensorRT's ICudaEngine, for either backend (`backend` says which). Deserialised
 * from a plan; any number of execution contexts share it.
 */
export class Engine<B extends Backend = Backend> {
  readonly #backend: Backends[B]["implementation"];
  #disposed = false;

  private constructor(backend: Backends[B]["implementation"]) {
    this.#backend = backend;
  }

  /**
   * An engine from plan bytes, of either backend (told apart by the plan's magic); the builtin one runs as `options`
   * say (environment defaults for what they leave out). A truncated, corrupted, foreign or incompatible plan is a
   * PlanError; a TensorRT plan where the addon has no TensorRT a TensorRTUnavailableError.
   */
  static async deserialize(plan: Uint8Array, options: LoadOptions & { /** @internal */ weights?: WeightSource } = {}): Promise<Engine<"builtin"> | Engine<"tensorrt">> {
    if (!(plan instanceof Uint8Array)) throw new PlanError("Engine.deserialize(plan): plan must be a Uint8Array");
    const { weights, device, ...engineOptions } = options;
    if (new TextDecoder().decode(plan.subarray(0, TENSORRT_MAGIC.length)) === TENSORRT_MAGIC) return new Engine<"tensorrt">(await TensorRTEngine.deserialize(plan, device));
    if (device !== undefined) throw new OptionError("Engine.deserialize: device is the TensorRT backend's (a CUDA device); a builtin plan runs on the CPU");
    return new Engine<"builtin">(await BuiltinEngine.deserialize(plan, engineOptions, weights));
  }

  /** An engine from a plan file written by `save`, run as `options` say. */
  static async load(file: string, options: LoadOptions = {}): Promise<Engine<"builtin"> | Engine<"tensorrt">> {
    return Engine.deserialize(new Uint8Array(await readFile(file)), options);
  }

  /** Which backend runs the engine. */
  get backend(): B { return this.#backend.kind as B; }

  /** Whether `backend` runs the engine; narrows `header` and `inspect()` to that backend's. */
  is<K extends Backend>(backend: K): this is Engine<K> {
    return this.#backend.kind === backend;
  }

  /** The plan's header: the network, its IO and (builtin) what the builder did. */
  get header(): Backends[B]["header"] { return this.#backend.header; }

  /** The builtin engine's options, every one resolved (the TensorRT backend has none: an empty object). */
  get options(): Readonly<Partial<Required<EngineOptions>>> {
    return this.#backend instanceof BuiltinEngine ? this.#backend.options : {};
  }

  get inputs(): readonly IOTensor[] { return this.#backend.inputs; }
  get outputs(): readonly IOTensor[] { return this.#backend.outputs; }

  /** The builtin engine's fused groups, passes and activation memory (naive sum vs live-set peak); a TensorRT engine's target. */
  inspect(): EngineInspection<B> {
    return this.#backend.inspect() as EngineInspection<B>;
  }

  /** The plan's bytes, for Engine.deserialize on a compatible machine. */
  serialize(): Uint8Array {
    this.#check();
    return this.#backend.serialize();
  }

  async save(file: string): Promise<void> {
    await writeFile(file, this.serialize());
  }

  /**
   * A new execution context: its own activation memory; contexts of one engine run concurrently. `profile` makes it
   * a context of that optimization profile, whose ranges its inputs must then keep (TensorRT: one profile per
   * context, the first by default); without it a builtin context takes the shapes of every profile.
   */
  createExecutionContext(options: { profile?: number; /** The caller's cudaStream_t (TensorRT backend). */ stream?: bigint } = {}): ExecutionContext {
    this.#check();
    const { profile, stream } = options;
    if (stream !== undefined && this.#backend.kind !== "tensorrt") throw new OptionError("createExecutionContext: stream is the TensorRT backend's (a cudaStream_t); builtin contexts run on the CPU");
    const profiles = Math.max(1, ...this.inputs.map((t) => t.profiles?.length ?? 0));
    if (profile !== undefined && !(Number.isInteger(profile) && profile >= 0 && profile < profiles)) {
      throw new OptionError(`createExecutionContext: profile must be an integer from 0 to ${profiles - 1} (the engine has ${profiles}), received ${String(profile)}`);
    }
    const chosen = profile ?? (this.#backend.kind === "tensorrt" ? 0 : undefined);
    return new ExecutionContext(this.#backend, chosen, this.#backend.createContext(chosen ?? 0, stream));
  }

  /** @internal The backend itself (refit's way in); a DisposedError once disposed. */
  get implementation(): Backends[B]["implementation"] {
    this.#check();
    return this.#backend;
  }

  /** Releases the engine; contexts already made keep what they need until disposed. */
  dispose(): void {
    this.#disposed = true;
    this.#backend.dispose();
  }

  #check(): void {
    if (this.#disposed) throw new DisposedError(`engine "${this.#backend.network}" has been disposed`);
  }
}

/** TensorRT's IExecutionContext: runs the engine on inputs; one execution at a time (later calls queue). */
export class ExecutionContext {
  readonly #engine: EngineBackend;
  readonly #profile: number | undefined;
  readonly #native: BackendContext & Partial<DeviceContext>;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;  // executions queued or running
  #disposed = false;

  /** @internal Made by Engine.createExecutionContext. */
  constructor(engine: EngineBackend, profile: number | undefined, native: BackendContext & Partial<DeviceContext>) {
    this.#engine = engine;
    this.#profile = profile;
    this.#native = native;
  }

  /**
   * Runs the network. Inputs by name, each in the typed array of its data type (Float32Array for float32,
   * Int32Array, BigInt64Array for int64, Uint8Array for bool, Uint16Array of 16-bit patterns for float16/bfloat16):
   * the array alone where the input's shape is static, `{ data, shape }` where it is dynamic. Resolves to the outputs
   * by name, each with data (in its type's array), shape and dtype (and `profile` when asked for). The builtin
   * engine's output arrays may hold memory it takes back for later outputs once they are collected (fresh memory
   * for every output cost large outputs more than their layers): clone or copy them freely, but `slice()` one
   * before transferring it to a worker.
   * ```ts
   * const { prob } = await ctx.execute({ data: { data: pixels, shape: [1, 1, 28, 28] } });
   * ```
   */
  execute(inputs: Record<string, InputValue>, options: ExecuteOptions & { profile: true }): Promise<ProfiledOutputs>;
  execute(inputs: Record<string, InputValue>, options?: ExecuteOptions): Promise<Outputs>;
  execute(inputs: Record<string, InputValue>, options: ExecuteOptions | null = {}): Promise<Outputs> {
    // The inputs are taken at the call, as onnxruntime and TensorRT's enqueue do: the caller may refill its arrays as
    // soon as execute returns. An idle context hands them to the backend now (which copies them before returning);
    // a busy one copies them until its turn.
    let checked: CheckedInput[];
    try {
      this.#checkOpen();
      checked = this.#checked(inputs);
    } catch (error) {
      return Promise.reject(error);
    }
    const profile = options?.profile ?? false;
    const run = async (taken: CheckedInput[]) => {
      this.#checkOpen();
      const result = await this.#native.execute(taken, profile).catch((error: unknown) => { throw typedNativeError(error, this.#engine.callSites); });
      return this.#outputsOf(result);
    };
    let started: Promise<Outputs>;
    if (this.#pending === 0) {
      started = run(checked);
    } else {
      const copies = checked.map((i) => ({ ...i, data: i.data.slice() as InputArray }));
      const later = () => run(copies);
      started = this.#queue.then(later, later);
    }
    this.#pending++;
    const next = started.finally(() => { this.#pending--; });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs the network on the calling thread and returns the outputs, like TensorRT's `executeV2`: no hand-over to the
   * context's thread and back (60–200 µs on a small VM), but the event loop waits for the whole run. For worker
   * threads, command-line tools and latency loops with nothing else to do; `execute` otherwise (the only way on the
   * TensorRT backend). An ExecutionError while an `execute` of this context is still running (one execution at a
   * time per context).
   */
  executeSync(inputs: Record<string, InputValue>, options: ExecuteOptions & { profile: true }): ProfiledOutputs;
  executeSync(inputs: Record<string, InputValue>, options?: ExecuteOptions): Outputs;
  executeSync(inputs: Record<string, InputValue>, options: ExecuteOptions | null = {}): Outputs {
    this.#checkOpen();
    if (this.#pending > 0) throw new ExecutionError("executeSync: an execute() of this context is still running; await it first, or use another context");
    const checked = this.#checked(inputs);
    try {
      return this.#outputsOf(this.#native.executeSync(checked, options?.profile ?? false));
    } catch (error) {
      throw typedNativeError(error, this.#engine.callSites);
    }
  }

  /**
   * TensorRT backend: runs on device memory in place, without a host copy — each input's and output's CUDA address
   * (inputs with their shapes), as TensorRT's setTensorAddress and enqueueV3. Resolves to the outputs' shapes once
   * enqueued on the caller's stream (`createExecutionContext({ stream })`: synchronize it before reading), or once
   * done on the context's own. An ExecutionError on the builtin backend, which has no device memory.
   */
  async enqueue(bindings: DeviceBindings): Promise<Record<string, number[]>> {
    this.#checkOpen();
    if (!this.#native.enqueue) throw new ExecutionError("enqueue: device memory is the TensorRT backend's; use execute on the builtin one");
    const known = new Set([...this.#engine.inputs, ...this.#engine.outputs].map((t) => t.name));
    const unknown = Object.keys(bindings).filter((n) => !known.has(n));
    if (unknown.length) throw new ExecutionError(`enqueue: ${unknown.map((n) => `'${n}'`).join(", ")} is no input or output of the engine`);
    const missing = [...known].filter((n) => !(n in bindings));
    if (missing.length) throw new ExecutionError(`enqueue: no address for ${missing.map((n) => `'${n}'`).join(", ")}`);
    for (const t of this.#engine.inputs) if (!bindings[t.name]!.shape) throw new ExecutionError(`enqueue: input '${t.name}' needs its shape`);
    return this.#native.enqueue(bindings);
  }

  dispose(): void {
    this.#disposed = true;
    this.#native.dispose();
  }

  #checkOpen(): void {
    if (this.#disposed) throw new DisposedError("the execution context has been disposed");
  }

  #checked(inputs: Record<string, InputValue>): CheckedInput[] {
    return checkedInputs(this.#engine.inputs, inputs, this.#profile);
  }

  #outputsOf(result: BackendResult): Outputs {
    const outputs: Outputs = { ...result.outputs };
    if (result.profile) Object.defineProperty(outputs, "profile", { value: result.profile, enumerable: false });
    return outputs;
  }
}
