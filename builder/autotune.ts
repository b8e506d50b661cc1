import { readFile, writeFile } from "node:fs/promises";
import { addon } from "../native/addon.js";
import type { EngineOptions } from "../native/engine-options.js";
import { encodePlan } from "../plan/encode.js";
import { BuildCancelledError, BuildError } from "./errors.js";
import { representableIn } from "../precision/reduced-float.js";
import { roundedType, type BuildGraph, type BuildOp } from "./graph.js";
import type { TacticChoice, TuningLevel } from "../plan/header.js";
import { CONVOLUTION_TACTICS, type ConvolutionTactic, type PlanParams } from "../plan/schema.js";


export interface TuningOptions {
  level: TuningLevel;
  /** Measurements kept across builds (like TensorRT's timing cache): layers already measured are not timed again. */
  timingCacheFile?: string;
  signal?: AbortSignal;
  onLayer?: (layer: string, index: number, count: number) => void;
  /** Tactics never timed nor chosen (BuildOptions.excludeTactics). */
  excluded?: ReadonlySet<ConvolutionTactic>;
  /** The options the engine will run with: layers are timed under them (threads, tiles, bfloat16 products, layouts). */
  engine: Required<EngineOptions>;
}

interface TimingCache {
  version: 1;
  cpu: string;
  entries: Record<string, { tactic: string; milliseconds: Record<string, number> }>;
}

/**
 * A cache file's timings where they are this CPU's (another CPU's do not transfer); entries that are not an object of
 * finite times are dropped, so they are measured again. Undefined where the file is no such cache at all.
 */
function usableCache(text: string, cpu: string): TimingCache | undefined {
  let loaded: unknown;
  try {
    loaded = JSON.parse(text);
  } catch {
    return undefined;
  }
  const cache = loaded as Partial<TimingCache> | null;
  if (typeof cache !== "object" || cache === null || cache.version !== 1 || cache.cpu !== cpu || typeof cache.entries !== "object" || cache.entries === null) return undefined;
  const entries: TimingCache["entries"] = {};
  for (const [key, entry] of Object.entries(cache.entries)) {
    const times = (entry as { milliseconds?: unknown } | null)?.milliseconds;
    if (typeof entry?.tactic === "string" && typeof times === "object" && times !== null && Object.values(times).every((t) => typeof t === "number" && Number.isFinite(t))) {
      entries[key] = { tactic: entry.tactic, milliseconds: times as Record<string, number> };
    }
  }
  return { version: 1, cpu, entries };
}

type ConvolutionParams = PlanParams["convolution"];

/** The tactics BuildOptions.excludeTactics names, checked: an unknown name is a BuildError. */
export function excludedTactics(names: readonly string[]): ReadonlySet<ConvolutionTactic> {
  for (const name of names) {
    if (!isTactic(name)) throw new BuildError(`excludeTactics: '${name}' is not a tactic; the tactics are ${CONVOLUTION_TACTICS.join(", ")}`);
  }
  return new Set(names as ConvolutionTactic[]);
}

const isTactic = (name: string): name is ConvolutionTactic => (CONVOLUTION_TACTICS as readonly string[]).includes(name);

/** The implementations of a convolution worth timing on its shape (one candidate: nothing to tune), less the excluded ones. */
export function candidateTactics(op: BuildOp, inputShape: readonly number[], excluded: ReadonlySet<ConvolutionTactic> = new Set()): ConvolutionTactic[] {
  return implementations(op, inputShape).filter((t) => !excluded.has(t));
}

function implementations(op: BuildOp, inputShape: readonly number[]): ConvolutionTactic[] {
  if (op.kind !== "convolution" || op.params.inputScale !== undefined) return [];  // INT8: one implementation
  const p = op.params;
  const channels = inputShape[1]!;
  const depthwise = p.groups === channels && p.outChannels === channels;
  const pointwise = p.kernel.every((k) => k === 1) && p.stride.every((s) => s === 1) && [...p.prePadding, ...p.postPadding].every((x) => x === 0) && p.paddingMode.startsWith("explicit");
  if (depthwise) return ["depthwise_direct", "implicit_gemm_k256"];
  if (pointwise) return ["pointwise_gemm", "implicit_gemm_k256", "direct_c16"];
  return ["implicit_gemm_k128", "implicit_gemm_k256", "implicit_gemm_k512", "direct_c16", "direct_rows", ...(winogradFits(p) ? ["winograd_2x2_3x3", "winograd_4x4_3x3"] as const : [])];
}

/** Winograd F(m×m, 3×3) applies: a 2-d 3×3 kernel at stride 1, dilation 1, one group. */
function winogradFits(p: ConvolutionParams): boolean {
  return p.kernel.length === 2 && p.kernel.every((k) => k === 3) && p.stride.every((s) => s === 1) && p.dilation.every((d) => d === 1) && p.groups === 1;
}

/**
 * The Winograd tactic for a 3×3 stride-1 convolution, if one beats the direct tactic, from timings on a 2-core
 * AVX2 machine (direct, F(2×2) and F(4×4) on 16 to 512 channels, 7×7 to 112×112 maps). Winograd saves
 * multiplications in proportion to in·out (its GEMMs) and pays transforms in proportion to in + out, so what
 * decides is their ratio, in·out / (in + out), and whether there are enough tiles to fill the GEMM's 16-column
 * panels. F(4×4) won from 64→64 on 56×56 (1.4 vs 1.7 ms) and 128→128 on 28×28 (1.0 vs 1.3) to 256→256 on
 * 14×14 (0.9 vs 1.4), lost at 64→64 on 14×14 and on 7×7 maps (4 tiles); F(2×2) won only on 7×7 with ≥ 256 channels
 * (512→512: 1.1–1.5 vs 1.6–1.8 ms); below 64 channels the direct tactic won everywhere (16→16 on 16×16: 3×).
 * On channel-blocked tensors (8k channels, where the engine blocks them) the same F(4×4) shapes won on a Zen 5
 * (batch 1: 64→64 on 56×56 0.24 vs 0.52 ms, 128→128 on 28×28 0.26 vs 0.52, 256→256 on 14×14 0.29 vs 0.51) but
 * F(2×2) on 7×7 lost to direct in ResNet-18 (0.73–0.79 vs 0.60–0.72 ms at batch 1: its weights, 1.8× the direct
 * tactic's, come from memory), so F(2×2) is left to channel counts that stay planar.
 */
function winogradTactic(inChannels: number, outChannels: number, outputSize: readonly number[]): ConvolutionTactic | undefined {
  const ratio = (inChannels * outChannels) / (inChannels + outChannels);
  const tiles4 = outputSize.reduce((n, d) => n * Math.ceil(d / 4), 1);
  if ((ratio >= 32 && tiles4 >= 49) || (ratio >= 64 && tiles4 >= 16)) return "winograd_4x4_3x3";
  const blockable = inChannels % 8 === 0 && outChannels % 8 === 0;
  if (ratio >= 128 && !blockable) return "winograd_2x2_3x3";
  return undefined;
}

/**
 * Without tuning, shape rules pick: Winograd for 3×3 stride-1 convolutions where it wins (winogradTactic);
 * direct_rows for short sums; the implicit GEMM for strided 1×1 convolutions; the direct tactic for every other
 * convolution but depthwise and stride-1 1×1 ones (it beat the implicit GEMM on every such shape timed, from
 * LeNet's 1→20 to ResNet's 512→512, few filters included); the engine's own rules otherwise (direct depthwise,
 * 1×1 as a GEMM: left without a tactic). Where excluded tactics rule the choice out, the next one in that order
 * that is left.
 */
export function assignDefaultTactics(graph: BuildGraph, excluded: ReadonlySet<ConvolutionTactic> = new Set()): void {
  for (const op of graph.ops) {
    if (op.kind !== "convolution" || op.params.tactic !== undefined || op.params.inputScale !== undefined) continue;
    const input = graph.tensors.get(op.inputs[0]!)!.shape, output = graph.tensors.get(op.outputs[0]!)!.shape;
    const all = implementations(op, input), candidates = candidateTactics(op, input, excluded);
    if (candidates.length === 0) throw new BuildError(`excludeTactics rules out every implementation of layer '${op.name}' (${all.join(", ")})`, { layer: op.name, callSite: op.callSite });
    const p = op.params;
    // 1×1 convolutions (pointwise_gemm: as fast as direct on MobileNetV2's projections, whole network at batch 1 and
    // 8, and it widens 16-bit input panel by panel where direct would widen the whole input first) and depthwise
    // ones: the engine's rules.
    const engineRules = all.includes("pointwise_gemm") ? "pointwise_gemm" : all.includes("depthwise_direct") ? "depthwise_direct" : undefined;
    const winograd = winogradFits(p) && output.slice(2).every((d) => d > 0) ? winogradTactic(input[1]! / p.groups, p.outChannels / p.groups, output.slice(2)) : undefined;
    // Short sums (≤ 150 products: a 3-channel stem, LeNet's 1-channel 5×5, 16 channels of 3×3, ResNet's 7×7/2
    // stem): the pixels in vector lanes (direct_rows), 1.8–1.9× direct_c16 on 3-channel 3×3 layers at stride 1 and
    // 2, 1.2× on the 7×7/2 stem, even at 16 channels; direct_c16 from 20-channel 5×5 and 32-channel 3×3 up
    // (1.1–1.3× direct_rows there).
    const taps = p.kernel.reduce((a, b) => a * b, 1), sums = (input[1]! / p.groups) * taps;
    const rows = taps > 1 && sums <= 150 ? "direct_rows" : undefined;
    // A strided 1×1 convolution (ResNet's downsampling) as a GEMM: its panels are strided copies of the input, and
    // the GEMM then beats both direct tactics (64→128/2 on 56×56: 0.11 vs 0.15 and 0.17 ms; 128→256/2 on 28×28:
    // 0.11 vs 0.14 and 0.16).
    const strided1x1 = taps === 1 ? "implicit_gemm_k256" : undefined;
    const order: (ConvolutionTactic | undefined)[] = [engineRules, winograd, rows, strided1x1, "direct_c16", "implicit_gemm_k256", "implicit_gemm_k128", "implicit_gemm_k512"];
    const tactic = order.find((t) => t !== undefined && candidates.includes(t)) ?? candidates[0]!;
    if (tactic !== engineRules) op.params = { ...op.params, tactic };
  }
}

/**
 * Implementations the caller pinned by layer name (BuildOptions.tactics), checked against each layer's candidates.
 * Pinned layers keep their tactic: the rules and the tuner pass over them.
 */
export function pinTactics(graph: BuildGraph, pinned: Readonly<Record<string, string>>, excluded: ReadonlySet<ConvolutionTactic> = new Set()): void {
  for (const [layer, tactic] of Object.entries(pinned)) {
    if (isTactic(tactic) && excluded.has(tactic)) throw new BuildError(`tactics: layer '${layer}' is pinned to '${tactic}', which excludeTactics rules out`);
    const op = graph.ops.find((o) => o.name === layer);
    const shape = op && graph.tensors.get(op.inputs[0]!)!.shape;
    const candidates = op && shape ? candidateTactics(op, shape) : [];
    if (candidates.length === 0) {
      const tunable = graph.ops.filter((o) => candidateTactics(o, graph.tensors.get(o.inputs[0]!)!.shape).length > 0).map((o) => o.name);
      throw new BuildError(`tactics: '${layer}' is not a layer with a choice of implementation after fusion; these are: ${tunable.join(", ") || "none"}`);
    }
    if (!isTactic(tactic) || !candidates.includes(tactic) || op?.kind !== "convolution") {
      throw new BuildError(`tactics: layer '${layer}' cannot use '${tactic}'; its implementations are ${candidates.join(", ")}`, { layer, callSite: op?.callSite });
    }
    op.params = { ...op.params, tactic };
  }
}

/**
 * One layer compiled alone with `tactic`, ready to run on a random input of its shape at `batch`, each input held as
 * in the network (16-bit storage where the network rounds it: a kernel may then take another path).
 */
async function singleLayerRunner(graph: BuildGraph, op: BuildOp<"convolution">, batch: number, tactic: ConvolutionTactic, options: Required<EngineOptions>) {
  // Every input of the layer (a fused residual too) becomes an input of the one-layer plan, at the tuned batch, or
  // of a rounding step in front of it.
  const inputs = op.inputs.map((name) => ({ name, dtype: "float32" as const, shape: graph.tensors.get(name)!.shape.map((d, i) => (i === 0 && d < 0 ? batch : d)), rounded: roundedType(graph, name) }));
  const fed = inputs.map((t) => ({ name: t.rounded ? `${t.name}.unrounded` : t.name, dtype: t.dtype, shape: t.shape }));
  const rounding: BuildOp[] = inputs.flatMap((t, i) => t.rounded ? [{
    kind: "pointwiseChain", name: `${t.name}.round`, inputs: [fed[i]!.name], outputs: [t.name], weights: {}, weightNames: {}, fusedFrom: [],
    params: { steps: `cast:${t.rounded}|cast:float32`, alpha: [0, 0], beta: [0, 0] },
  }] : []);
  const output = op.outputs[0]!;
  const single: BuildGraph = {
    name: `tune.${op.name}`,
    inputs: fed,
    tensors: new Map([...[...inputs, ...fed].map((t) => [t.name, { dtype: t.dtype, shape: t.shape }] as const), [output, graph.tensors.get(output)!] as const]),
    ops: [...rounding, { ...op, params: { ...op.params, tactic } }],
    outputs: [{ name: output, tensor: output }],
  };
  const engine = await addon().Engine.deserialize(encodePlan(single, {}), options);
  const ctx = engine.createContext();
  const feeds = fed.map((t) => ({ name: t.name, shape: [...t.shape], data: Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)) }));
  // The layer's own time, as the engine measures it around the kernel (copying the input in and the output out
  // would add the same time to every candidate, and its noise), fastest of `repeats` runs back to back in the
  // engine: as in a network, the pool's workers are still awake when the layer starts (timed one call at a time,
  // a layer of 0.07 ms measured 0.1–0.85 ms, the rest being a sleeping worker's wake-up, which decided the choice).
  const run = async (repeats: number): Promise<number> => (await ctx.execute(feeds, true, repeats)).profile!.find((p) => p.layer === op.name)!.milliseconds;
  return { run, dispose: () => engine.dispose() };
}

/** How long each tuning level times a convolution's candidates (BuildOptions' JSDoc and docs/options.md state it). */
export const TUNING_SEARCH = { fast: { rounds: 3, repeats: 4 }, thorough: { rounds: 8, repeats: 5 } } as const;

/**
 * Fastest wall time of each tactic over `rounds` rounds of `repeats` runs, the candidates taking turns from round
 * to round: on a shared machine noise only ever adds time, so the minimum is the steadiest estimate, and taking
 * turns spreads a slow spell over all candidates instead of condemning the one that happened to run in it.
 */
async function timeTactics(graph: BuildGraph, op: BuildOp<"convolution">, batch: number, tactics: readonly ConvolutionTactic[], search: { rounds: number; repeats: number },
  options: Required<EngineOptions>): Promise<Record<string, number>> {
  const runners = [];
  try {
    for (const tactic of tactics) runners.push(await singleLayerRunner(graph, op, batch, tactic, options));
    for (const runner of runners) await runner.run(1);  // warm-up: first-touch of buffers and packed weights
    const best = tactics.map(() => Infinity);
    for (let round = 0; round < search.rounds; round++) {
      for (const [i, runner] of runners.entries()) {
        best[i] = Math.min(best[i]!, await runner.run(search.repeats));
      }
    }
    return Object.fromEntries(tactics.map((t, i) => [t, best[i]!]));
  } finally {
    for (const runner of runners) runner.dispose();
  }
}

/**
 * The layers the engine will run on channel-blocked tensors, whatever their tactic (`inspect().channelBlocked`): the
 * engine decides when it loads a plan, from the layers alone, so a plan of the graph as it stands tells. Their
 * tactics are left to the shape rules: the tuner times a layer alone, on planar tensors, which is not how they run
 * (and timing them made MobileNetV2's tuned build 2.1–2.4 s).
 */
async function layersRunningBlocked(graph: BuildGraph, options: Required<EngineOptions>): Promise<Set<string>> {
  const engine = await addon().Engine.deserialize(encodePlan(graph, {}), options);
  try {
    return new Set(engine.channelBlocked().layers);
  } finally {
    engine.dispose();
  }
}

/**
 * Times each convolution's candidate implementations on its actual shape (dynamic batch at the profile's opt) and
 * records the fastest as the op's `tactic`, consulting and filling the timing cache.
 */
export async function autotune(graph: BuildGraph, batch: number, options: TuningOptions): Promise<TacticChoice[]> {
  if (options.level === "off") return [];
  const cpu = addon().cpuFeatures().join(" ");
  let cache: TimingCache = { version: 1, cpu, entries: {} };
  if (options.timingCacheFile) {
    const text = await readFile(options.timingCacheFile, "utf8").catch(() => undefined);
    const loaded = text === undefined ? undefined : usableCache(text, cpu);
    if (loaded) cache = loaded;
    else if (text !== undefined) process.emitWarning(`timing cache ${options.timingCacheFile} is not this netdef's for this CPU, or is corrupt: the build times every tactic and writes it anew`, "TimingCacheWarning");
  }
  const search = TUNING_SEARCH[options.level === "thorough" ? "thorough" : "fast"];
  let tunable = graph.ops.filter((op) => op.kind === "convolution").map((op) => {
    const declared = graph.tensors.get(op.inputs[0] ?? "")?.shape;
    const shape = declared?.map((d, i) => (i === 0 && d < 0 ? batch : d));
    const pinned = op.params.tactic !== undefined;
    return { op, shape, candidates: shape && !pinned && !shape.some((d) => d < 0) ? candidateTactics(op, shape, options.excluded) : [] };
  }).filter((t) => t.candidates.length > 1);
  // Only tensors of 8k channels are ever blocked: without any, no plan need be asked (LeNet's 20 and 50 channels).
  const channels = (tensor: string) => graph.tensors.get(tensor)?.shape[1] ?? 0;
  if (tunable.some(({ op }) => [...op.inputs, ...op.outputs].some((t) => channels(t) > 0 && channels(t) % 8 === 0))) {
    const blocked = await layersRunningBlocked(graph, options.engine);
    tunable = tunable.filter(({ op }) => !blocked.has(op.name));
  }
  const choices: TacticChoice[] = [];
  for (const [index, { op, shape, candidates }] of tunable.entries()) {
    if (options.signal?.aborted) throw new BuildCancelledError(`build cancelled while tuning ${op.name}`);
    options.onLayer?.(op.name, index, tunable.length);
    const { tactic: _previous, ...params } = op.params;
    // The inputs' storage and whether the weights are bfloat16 values decide which kernels run (bfloat16 products).
    const storage = op.inputs.map((t) => roundedType(graph, t) ?? "float32");
    const bfloat16Weights = storage[0] === "bfloat16" && (op.weights.kernel !== undefined && representableIn(op.weights.kernel, "bfloat16"));
    const key = JSON.stringify({ kind: op.kind, params, shape, storage, bfloat16Weights, weights: Object.fromEntries(Object.entries(op.weights).map(([r, w]) => [r, w.length])) });
    const entry = cache.entries[key];
    // An entry that did not time every candidate of this version (a tactic added since) is measured again.
    const cached = entry !== undefined && candidates.every((c) => c in entry.milliseconds);
    const milliseconds = cached ? entry.milliseconds : await timeTactics(graph, op, batch, candidates, search, options.engine);
    // The fastest of this build's candidates: a cached entry may have timed tactics this build excludes.
    const tactic = [...candidates].sort((a, b) => milliseconds[a]! - milliseconds[b]!)[0]!;
    if (!cached) cache.entries[key] = { tactic, milliseconds };
    op.params = { ...op.params, tactic };
    choices.push({ layer: op.name, tactic, milliseconds: Object.fromEntries(candidates.map((c) => [c, milliseconds[c]!])), cached });
  }
  if (options.timingCacheFile) await writeFile(options.timingCacheFile, JSON.stringify(cache, null, 1));
  return choices;
}
