import type { NetworkIR } from "../dsl/ir.js";
import { formatShape } from "../dsl/shape.js";
import { addon } from "../native/addon.js";
import { resolveEngineOptions, type EngineOptions } from "../native/engine-options.js";
import { packageVersion } from "../dsl/package-root.js";
import { encodePlan } from "../plan/encode.js";
import type { IOTensor, PlanHeader, ShapeRange, TacticChoice, TuningLevel } from "../plan/header.js";
import type { WeightSource } from "../weights/source.js";
import { assignDefaultTactics, autotune, excludedTactics, pinTactics } from "./autotune.js";
import { BuildCancelledError, BuildError } from "./errors.js";
import { buildGraph, epilogueOf } from "./graph.js";
import { liveness } from "./liveness.js";
import { passesFor, runPasses } from "./optimize.js";

/** An optimization profile: min/opt/max shapes for every dynamic input, by input name. */
export type OptimizationProfile = Record<string, ShapeRange>;

export interface BuildProgress {
  phase: string;
  step: number;
  steps: number;
}

export interface BuildOptions {
  /** Required when an input has a -1 dimension: the shapes each dynamic input may take. */
  profiles?: readonly OptimizationProfile[];
  /** Called as the build advances through its phases. */
  onProgress?: (progress: BuildProgress) => void;
  /** Cancels the build: it rejects with a BuildCancelledError. */
  signal?: AbortSignal;
  /** Weights to bind instead of the network's own weight source. */
  weights?: WeightSource;
  /**
   * Kernel auto-tuning: time each convolution's candidate implementations on its shape and keep the fastest
   * ("fast": the fastest run of 3 rounds of 4, the candidates taking turns; "thorough": of 8 rounds of 5). Default
   * "off": shape rules pick. `engine.inspect().tactics` lists choices.
   */
  tuning?: TuningLevel;
  /**
   * Pins the implementation of layers by name (as `inspect().layers` lists them after fusion), like TensorRT's
   * algorithm selector: e.g. `{ "layer1.0.conv1": "implicit_gemm_k256" }` to rule a kernel out while porting.
   * Pinned layers are neither tuned nor given the shape rules' choice; a name or tactic that does not fit is a BuildError.
   */
  tactics?: Readonly<Record<string, string>>;
  /**
   * Tactics no layer may use, like TensorRT's tactic sources: the tuner does not time them and the shape rules
   * take their next choice. E.g. `["winograd_4x4_3x3"]`, whose results stray further from the exact sums (about
   * 1e-5 of the output's range on long sums), where every layer must match a reference closely.
   */
  excludeTactics?: readonly string[];
  /** A timing cache file: read before tuning and written after, so later builds skip what was measured. */
  timingCacheFile?: string;
  /** Run the optimisation passes (fusions, folding). Default true; false keeps every layer as defined, for debugging. */
  optimize?: boolean;
  /**
   * How the engine will run (threads, layouts, kernel families): the tuner times layers under these options, and
   * `buildEngine` loads the engine with them. Environment defaults for what is left out (docs/options.md).
   */
  engine?: EngineOptions;
  /** Refuse to load the plan on CPUs lacking these features (default: none; kernels dispatch at run time). */
  requiredCpuFeatures?: readonly string[];
}

/** Each input as the plan records it, its profiles checked against its shape. */
export function checkProfiles(ir: NetworkIR, profiles: readonly OptimizationProfile[]): IOTensor[] {
  return ir.inputs.map((input) => {
    const dynamic = input.shape.some((d) => d < 0);
    const ranges = profiles.map((p, i) => {
      const range = p[input.name];
      if (!range) {
        if (dynamic) throw new BuildError(`input '${input.name}' has dynamic shape ${formatShape(input.shape)} but optimization profile ${i} gives it no range; add { ${input.name}: { min, opt, max } }`);
        return undefined;
      }
      for (const [which, dims] of Object.entries(range) as [string, readonly number[]][]) {
        if (dims.length !== input.shape.length || dims.some((d, j) => !Number.isInteger(d) || d < 1 || (input.shape[j]! >= 0 && d !== input.shape[j]))) {
          throw new BuildError(`profile ${i}: input '${input.name}' ${which} ${formatShape(dims)} does not fit its shape ${formatShape(input.shape)}`);
        }
      }
      if (range.min.some((d, j) => d > range.opt[j]! || range.opt[j]! > range.max[j]!)) {
        throw new BuildError(`profile ${i}: input '${input.name}' needs min ≤ opt ≤ max, received ${formatShape(range.min)}, ${formatShape(range.opt)}, ${formatShape(range.max)}`);
      }
      return range;
    }).filter((r): r is ShapeRange => r !== undefined);
    if (dynamic && profiles.length === 0) {
      throw new BuildError(`input '${input.name}' has dynamic shape ${formatShape(input.shape)}; build with profiles: [{ ${input.name}: { min: [...], opt: [...], max: [...] } }]`);
    }
    return { name: input.name, dtype: input.dtype, shape: [...input.shape], ...(dynamic ? { profiles: ranges } : {}) };
  });
}

/**
 * Builds a network into a plan for the builtin engine (TensorRT's buildSerializedNetwork): weights bound, graph
 * optimised, tactics chosen, plan encoded.
 */
export async function buildPlan(network: { toJSON(): NetworkIR; weights: WeightSource }, options: BuildOptions = {}): Promise<Uint8Array> {
  const ir = network.toJSON();
  if (ir.outputs.length === 0) throw new BuildError(`network "${ir.name}" has no outputs; mark at least one with net.markOutput(tensor)`);
  const passes = passesFor(options.optimize ?? true);
  const tuning = options.tuning ?? "off";
  const optimize = options.optimize ?? true;
  const steps = passes.length + 3 + (optimize ? 1 : 0) + (tuning === "off" ? 0 : 1);
  let step = 0;
  const advance = (phase: string) => {
    if (options.signal?.aborted) throw new BuildCancelledError(`build of "${ir.name}" cancelled during: ${phase}`);
    options.onProgress?.({ phase, step: step++, steps });
  };
  advance("checking optimization profiles");
  const inputs = checkProfiles(ir, options.profiles ?? []);
  advance("binding weights");
  const graph = buildGraph(ir, options.weights ?? network.weights);
  const foldedConstants = await runPasses(graph, passes, optimize, advance);
  let tactics: TacticChoice[] = [];
  const excluded = excludedTactics(options.excludeTactics ?? []);
  pinTactics(graph, options.tactics ?? {}, excluded);
  if (tuning !== "off") {
    advance("auto-tuning convolutions");
    const batch = inputs[0]?.profiles?.[0]?.opt[0] ?? 1;
    tactics = await autotune(graph, batch, {
      level: tuning, timingCacheFile: options.timingCacheFile, signal: options.signal, excluded, engine: resolveEngineOptions(options.engine),
      onLayer: (layer, i, n) => options.onProgress?.({ phase: `auto-tuning ${layer} (${i + 1}/${n})`, step: step - 1, steps }),
    });
  }
  assignDefaultTactics(graph, excluded);  // whatever was neither pinned nor tuned (layers of dynamic shape when tuning)
  advance("encoding and compiling the plan");
  const header: PlanHeader = {
    netdef: packageVersion, network: ir.name, backend: "builtin",
    requiredCpuFeatures: [...(options.requiredCpuFeatures ?? [])],
    builtOn: { cpuFeatures: addon().cpuFeatures(), platform: `${process.platform}-${process.arch}` },
    config: { passes: passes.map((p) => p.id), foldedConstants, tuning, tactics },
    inputs,
    outputs: ir.outputs.map((o) => { const t = graph.tensors.get(o.tensor)!; return { name: o.name, dtype: t.dtype, shape: [...t.shape] }; }),
    weights: [...new Set(ir.layers.flatMap((l) => Object.values(l.weights).map((w) => w.name)))],
    layers: graph.ops.map((op) => { const tactic = epilogueOf(op)?.tactic; return { name: op.name, kind: op.kind, fusedFrom: op.fusedFrom, ...(tactic ? { tactic } : {}) }; }),
    memory: liveness(graph, Object.fromEntries(inputs.map((t) => [t.name, t.profiles?.[0]?.opt ?? t.shape]))),
    ir,
  };
  return encodePlan(graph, header);
}
