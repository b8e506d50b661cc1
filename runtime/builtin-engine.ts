import { totalmem } from "node:os";
import { resolveEngineOptions, type EngineOptions } from "../native/engine-options.js";
import type { WeightSource } from "../weights/source.js";
import { activationMemory, shapeAt, type ActivationMemory } from "../plan/memory.js";
import type { IOTensor, PlanHeader, TacticChoice } from "../plan/header.js";
import { PASS_IDS } from "../plan/schema.js";
import { addon, callSitesOf, PlanError, typedNativeError, type NativeEngine, type NativeResult } from "../native/addon.js";
import type { BackendContext, BackendResult, EngineBackend } from "./backend.js";
import { builtinInput, builtinOutput } from "./io.js";
import { Network } from "../dsl/network.js";
import { NetworkError } from "../dsl/errors.js";
import type { TensorIR } from "../dsl/ir.js";
import { formatShape } from "../dsl/shape.js";

/**
 * A plan layer as the engine runs it: beside the tactic chosen at build time, `kernel`, the implementation this
 * engine runs (convolutions), which the tactic alone does not say where tensors are channel-blocked: e.g.
 * `blocked_winograd_4x4_3x3`, `blocked_direct`, `blocked_depthwise`; on planar tensors the tactic itself, or
 * `pointwise_gemm`, `implicit_gemm_k256`, `depthwise_direct` where the engine's rules chose.
 */
export type InspectedLayer = PlanHeader["layers"][number] & { kernel?: string };

/** What the builder made of the network. */
export interface BuiltinInspection {
  backend: "builtin";
  /** Each executed layer and the network layers fused into it. */
  layers: InspectedLayer[];
  fusedGroups: InspectedLayer[];
  /** Activation memory at the profiles' opt shapes, each tensor in its storage: naive sum against the live-set peak. */
  memory: ActivationMemory;
  /** The optimisation passes the builder ran, in order, by their stable ids (`fold-affine`, `fuse-activation`, …). */
  passes: string[];
  /** Auto-tuned layers: the tactic chosen and each candidate's time (empty when built with tuning "off"). */
  tactics: TacticChoice[];
  /**
   * Tensors held as 16 bits a value between layers (half the bytes), by type: those whose producer rounds to the type
   * and whose every reader takes 16-bit input (every layer but the direct tactic's 1×1 convolutions, 3-d depthwise
   * ones and element-wise layers outside fused chains).
   */
  halfStorage: { bfloat16: string[]; float16: string[] };
  /**
   * Tensors held channel-blocked between layers (NCHW8c: per image, blocks of 8 channels, a pixel's 8 values side by
   * side) and the layers that read or write one: tensors of 8k channels (in float32 or 16 bits) between 1×1
   * convolutions, stems (short sums) that write them, 2-d depthwise convolutions and global pooling, whose kernels
   * compute 8 channels in a vector's lanes (so none transposes on the way). Those layers run the blocked kernels: a
   * Winograd tactic on a blocked input the blocked Winograd kernel (but where it multiplies bfloat16 pairs, listed in
   * bfloat16Products), every other tactic the direct one; the tuner leaves their tactics to the shape rules.
   * Inputs and outputs of the network are always planar.
   */
  channelBlocked: { tensors: string[]; layers: string[] };
  /**
   * Tensors that their producer writes straight into the output of the concatenation (on the channels) that alone
   * reads them, as their channels of it, so that the concatenation copies only its other inputs: the outputs of
   * convolutions running the blocked kernels without a fused residual, and INT8 convolutions (a SqueezeNet fire
   * module's expansions).
   * Empty with the engine option `fuseProducers: false`.
   */
  writtenIntoConcatenations: string[];
  /**
   * Layers that multiply in bfloat16 (AVX-512 BF16's VDPBF16PS): convolutions whose weights are bfloat16 values and
   * whose input is held in bfloat16, in a GEMM tactic or (channel-blocked 1×1s) a blocked input. Empty on other CPUs,
   * where every product is float32.
   */
  bfloat16Products: string[];
}

/**
 * The INT8 kernel family this CPU runs for INT8 layers of an engine loaded with `options`: "avx512vnni", "avxvnni",
 * "avx2" or "scalar" (all compute the same integers); `int8Kernel` caps it.
 */
export const int8KernelName = (options: EngineOptions = {}): string => addon().int8KernelName(resolveEngineOptions(options));

/**
 * The register tile of the float32 GEMM (convolutions, Winograd's products, dense layers) of an engine loaded with
 * `options`: "12x16", rows of 16-float vectors on CPUs with AVX-512, else "6x16", of 8-float vectors (both compute the
 * same bits); `wideTiles: false` keeps the 6x16 tile.
 */
export const gemmTileName = (options: EngineOptions = {}): string => addon().gemmTileName(resolveEngineOptions(options));

/** The builtin backend of an Engine: a plan deserialised by the native engine, run on the CPU. */
export class BuiltinEngine implements EngineBackend {
  readonly kind = "builtin";
  readonly #native: NativeEngine;
  readonly header: PlanHeader;
  #plan: Uint8Array;
  /** The weights the engine was built from, when built in this process: a refit may then give only some. */
  #weights: WeightSource | undefined;
  readonly #halfStorage: { bfloat16: string[]; float16: string[] };
  readonly #channelBlocked: { tensors: string[]; layers: string[] };
  readonly #writtenIntoConcatenations: string[];
  readonly #fusedAway: ReadonlySet<string>;  // never allocated at the memory record's shapes
  #bfloat16Products: string[];  // after a refit too: new weights may or may not be bfloat16 values
  #kernels: Readonly<Record<string, string>>;  // after a refit too, as bfloat16Products
  readonly callSites: ReadonlyMap<string, string | undefined>;

  /** The options the engine runs with, every one resolved. */
  readonly options: Readonly<Required<EngineOptions>>;

  private constructor(native: NativeEngine, header: PlanHeader, fusedAway: ReadonlySet<string>, plan: Uint8Array, weights: WeightSource | undefined,
    options: Required<EngineOptions>) {
    this.options = Object.freeze(options);
    this.#native = native;
    this.#halfStorage = native.halfStorage();
    this.#channelBlocked = native.channelBlocked();
    this.#writtenIntoConcatenations = native.writtenIntoConcatenations();
    this.#bfloat16Products = native.bfloat16Products();
    this.#kernels = native.kernelNames();
    this.#fusedAway = fusedAway;
    this.header = header;
    this.#plan = plan;
    this.#weights = weights;
    this.callSites = callSitesOf(header.ir.layers);
  }

  /** An engine from plan bytes, run as `options` say; a truncated, corrupted, foreign or incompatible plan is a PlanError. */
  static async deserialize(plan: Uint8Array, options: EngineOptions, weights: WeightSource | undefined): Promise<BuiltinEngine> {
    const resolved = resolveEngineOptions(options);
    const native = await addon().Engine.deserialize(plan, resolved).catch((error: unknown) => { throw typedNativeError(error); });
    let header: PlanHeader;
    try {
      header = checkedHeader(JSON.parse(native.header()), native.io());
    } catch (error) {
      native.dispose();
      throw error instanceof PlanError ? error : new PlanError("plan header is not valid JSON");
    }
    const available = new Set(addon().cpuFeatures());
    const missing = (header.requiredCpuFeatures ?? []).filter((f) => !available.has(f));
    if (missing.length) {
      native.dispose();
      throw new PlanError(`this plan needs CPU features this machine lacks: ${missing.join(", ")} (it was built on a CPU with ${header.builtOn.cpuFeatures.join(", ")}); rebuild it here`);
    }
    const at = (shapes: Record<string, number[]>, which: string) => {
      try {
        return native.shapesAt(shapes);
      } catch (error) {
        native.dispose();
        throw new PlanError(`the plan's layers do not take its own ${which} shapes: ${(error as Error).message}`);
      }
    };
    const atOpt = at(Object.fromEntries(header.inputs.map((t) => [t.name, shapeAt(header.memory.shapes, t.name, t.shape)])), "opt");
    // Every tensor must fit this machine's memory at the profiles' largest shapes, found before anything is allocated
    // (a stem convolution padded by 65,535 would have taken seconds and gigabytes to fail, or the process).
    const profiles = Math.max(0, ...header.inputs.map((t) => t.profiles?.length ?? 0));
    const largest = [atOpt.largest, ...Array.from({ length: profiles }, (_, p) =>
      at(Object.fromEntries(header.inputs.map((t) => [t.name, [...(t.profiles?.[p]?.max ?? t.shape)]])), `profile ${p} max`).largest)]
      .reduce((a, b) => (b.bytes > a.bytes ? b : a));
    if (largest.bytes > totalmem()) {
      native.dispose();
      throw new PlanError(`tensor '${largest.tensor}' would take ${(largest.bytes / 2 ** 30).toFixed(1)} GiB at the plan's largest shapes, more than this machine's ${(totalmem() / 2 ** 30).toFixed(0)} GiB of memory`);
    }
    return new BuiltinEngine(native, header, new Set(atOpt.fusedAway), Uint8Array.from(plan), weights, resolved);
  }

  get network(): string { return this.header.network; }
  get inputs(): readonly IOTensor[] { return this.header.inputs; }
  get outputs(): readonly IOTensor[] { return this.header.outputs; }

  inspect(): BuiltinInspection {
    const half = new Set([...this.#halfStorage.bfloat16, ...this.#halfStorage.float16]);
    const layers = this.header.layers.map((l) => (this.#kernels[l.name] ? { ...l, kernel: this.#kernels[l.name] } : { ...l }));
    return {
      backend: "builtin",
      layers,
      fusedGroups: layers.filter((l) => l.fusedFrom.length > 1),
      memory: activationMemory(this.header.memory, (tensor) => (half.has(tensor) ? 2 : 4), this.#fusedAway),
      passes: [...this.header.config.passes],
      tactics: [...this.header.config.tactics],
      halfStorage: { bfloat16: [...this.#halfStorage.bfloat16], float16: [...this.#halfStorage.float16] },
      channelBlocked: { tensors: [...this.#channelBlocked.tensors], layers: [...this.#channelBlocked.layers] },
      writtenIntoConcatenations: [...this.#writtenIntoConcatenations],
      bfloat16Products: [...this.#bfloat16Products],
    };
  }

  serialize(): Uint8Array { return Uint8Array.from(this.#plan); }

  /** A context of the native engine, with the inputs and outputs converted to and from its storage. */
  createContext(): BackendContext {
    const native = this.#native.createContext(), outputs = this.outputs;
    const result = (r: NativeResult): BackendResult => ({
      outputs: Object.fromEntries(r.outputs.map((o) => [o.name, builtinOutput(outputs.find((t) => t.name === o.name)!, o)])),
      ...(r.profile ? { profile: r.profile } : {}),
    });
    return {
      execute: async (inputs, profile) => result(await native.execute(inputs.map(builtinInput), profile)),
      executeSync: (inputs, profile) => result(native.executeSync(inputs.map(builtinInput), profile)),
      dispose: () => native.dispose(),
    };
  }

  /** The weights the engine was built from, when built in this process (a refit may then give only some). */
  get boundWeights(): WeightSource | undefined { return this.#weights; }

  /**
   * Swaps in a plan of the same structure with new weights (what `refit` computes); contexts see it from their next
   * execution, one already running finishes on the old.
   */
  async replacePlan(plan: Uint8Array, weights: WeightSource): Promise<void> {
    await this.#native.refit(plan).catch((error: unknown) => { throw typedNativeError(error, this.callSites); });
    this.#plan = plan;
    this.#weights = weights;
    this.#bfloat16Products = this.#native.bfloat16Products();
    this.#kernels = this.#native.kernelNames();
  }

  dispose(): void { this.#native.dispose(); }
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** The header, checked for the fields we read and against the IO that the plan's body declares. */
function checkedHeader(value: unknown, io: ReturnType<NativeEngine["io"]>): PlanHeader {
  const header = value as PlanHeader;
  const bad = (what: string): never => { throw new PlanError(`plan header is inconsistent: ${what}`); };
  if (typeof header !== "object" || header === null) bad("not an object");
  if (!isStringList(header.requiredCpuFeatures) || !isStringList(header.builtOn?.cpuFeatures) || !isStringList(header.weights) || !Array.isArray(header.layers)
    || !Array.isArray(header.ir?.layers) || !Array.isArray(header.ir?.inputs) || !Array.isArray(header.memory?.tensors)
    || typeof header.config !== "object" || header.config === null || !Array.isArray(header.config.tactics) || !isStringList(header.config.passes)
    || !isStringList(header.config.foldedConstants)) bad("fields missing");
  const unknown = header.config.passes.filter((id) => !(PASS_IDS as readonly string[]).includes(id));
  if (unknown.length) bad(`passes ${unknown.join(", ")} are not this netdef's`);
  for (const side of ["inputs", "outputs"] as const) {
    const described = header[side];
    if (!Array.isArray(described) || described.length !== io[side].length) return bad(`${side} differ from the plan's body`);
    described.forEach((t, i) => {
      const body = io[side][i]!;
      if (t?.name !== body.name || t.dtype !== body.dtype || !Array.isArray(t.shape) || t.shape.join() !== body.shape.join()) bad(`${side} '${body.name}' differs from the plan's body`);
      for (const p of t.profiles ?? []) {
        for (const dims of [p?.min, p?.max, p?.opt]) if (!Array.isArray(dims) || dims.length !== t.shape.length || dims.some((d) => typeof d !== "number")) bad(`profile of '${t.name}'`);
      }
    });
  }
  // The memory record's shapes reach the native shape inference (fusedAway), so they must be shapes the inputs take.
  const shapes = header.memory.shapes;
  if (typeof shapes !== "object" || shapes === null || !Object.values(shapes).every(Array.isArray)) bad("memory shapes missing");
  for (const t of header.inputs) {
    const dims = shapeAt(shapes, t.name, t.shape), profile = t.profiles?.[0];
    const fits = dims.length === t.shape.length && dims.every((d, i) => Number.isInteger(d) && d >= 1 && d <= 2 ** 31 && (t.shape[i]! < 0 || d === t.shape[i])
      && (!profile || (d >= profile.min[i]! && d <= profile.max[i]!)));
    if (!fits) bad(`memory shape of '${t.name}' is not one the input takes`);
  }
  checkNetwork(header);
  return header;
}

/**
 * The network the plan records (what refit rebuilds from and inspect shows), inferred again layer by layer as the DSL
 * would, and its inputs and outputs those of the plan's body.
 */
function checkNetwork(header: PlanHeader): void {
  try {
    Network.fromJSON(header.ir);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    const issue = error.issues[0];
    throw new PlanError(`the plan's network is not one netdef defines: ${issue?.received ?? error.message}`, { layer: issue?.layer, callSite: issue?.callSite });
  }
  const tensors = new Map([...header.ir.inputs, ...header.ir.tensors].map((t) => [t.name, t]));
  const io = (t: { dtype: string; shape: readonly number[] }) => `${t.dtype} ${formatShape(t.shape)}`;
  const differ = (side: string, body: IOTensor, network: TensorIR | undefined) => {
    if (!network || io(network) !== io(body)) {
      throw new PlanError(`plan header is inconsistent: ${side} '${body.name}' is ${io(body)} in the plan's body but ${network ? io(network) : "missing"} in its network`);
    }
  };
  if (header.ir.inputs.length !== header.inputs.length) throw new PlanError(`plan header is inconsistent: the plan's body has ${header.inputs.length} inputs, its network ${header.ir.inputs.length}`);
  for (const input of header.inputs) differ("input", input, header.ir.inputs.find((t) => t.name === input.name));
  if (header.ir.outputs.length !== header.outputs.length) throw new PlanError(`plan header is inconsistent: the plan's body has ${header.outputs.length} outputs, its network ${header.ir.outputs.length}`);
  for (const output of header.outputs) {
    const marked = header.ir.outputs.find((o) => o.name === output.name);
    differ("output", output, marked && tensors.get(marked.tensor));
  }
}

