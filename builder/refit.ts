import type { PlanHeader } from "../plan/header.js";
import { encodePlan } from "../plan/encode.js";
import { CONVOLUTION_TACTICS, type ConvolutionTactic } from "../plan/schema.js";
import { nearestSuffix, type WeightSource } from "../weights/source.js";
import { elementCount } from "../weights/tensor.js";
import { RefitError } from "./errors.js";
import { buildGraph } from "./graph.js";
import { runPasses } from "./optimize.js";
import { PASSES } from "./passes.js";

/** A plan of the same structure as the one `header` describes, with new weights (IRefitter's work). */
export interface RefittedPlan {
  plan: Uint8Array;
  /** The weights the plan now holds: those given, the rest from `base`. */
  weights: WeightSource;
}

/**
 * The plan rebuilt from its own IR with new weights by PyTorch name: the same passes, so BatchNorms folded into
 * convolutions are re-folded from the new statistics, and the tactics the build chose. With `base` (the weights
 * the engine was built from) any subset may be given; without, every weight. Unknown or missing names and wrong
 * shapes are one RefitError listing all.
 */
export async function refitPlan(header: PlanHeader, weights: WeightSource, base: WeightSource | undefined): Promise<RefittedPlan> {
  const expected = new Map<string, readonly number[]>();
  const site = new Map<string, string>();  // a weight's first layer's call site, for the problems about it
  for (const layer of header.ir.layers) {
    for (const b of Object.values(layer.weights)) {
      expected.set(b.name, b.shape);
      if (layer.callSite && !site.has(b.name)) site.set(b.name, ` (${layer.name}, ${layer.callSite})`);
    }
  }
  const problems: string[] = [];
  for (const name of weights.names()) {
    if (!expected.has(name)) problems.push(`'${name}' is not a weight of this engine${nearestSuffix(name, [...expected.keys()], "; nearest: ")}`);
  }
  for (const [name, shape] of expected) {
    const given = weights.get(name);
    if (!given) {
      if (!base?.get(name)) problems.push(`'${name}' is missing (an engine loaded from a plan needs every weight)${site.get(name) ?? ""}`);
      continue;
    }
    const fits = given.flat ? elementCount(given.shape) === elementCount(shape) : given.shape.join() === shape.join();
    if (!fits) problems.push(`'${name}' has shape [${given.shape.join(",")}], the engine expects [${shape.join(",")}]${site.get(name) ?? ""}`);
    else if (given.data.length !== elementCount(given.shape)) problems.push(`'${name}' holds ${given.data.length} values for its shape [${given.shape.join(",")}] (${elementCount(given.shape)})${site.get(name) ?? ""}`);
    if (given.dtype === "bool") problems.push(`'${name}' is bool; weights must be numeric`);
  }
  if (problems.length) throw new RefitError(problems);
  const merged: WeightSource = { get: (n) => weights.get(n) ?? base?.get(n), names: () => [...expected.keys()] };
  const graph = buildGraph(header.ir, merged);
  const passes: readonly string[] = header.config.passes;
  await runPasses(graph, PASSES.filter((p) => passes.includes(p.id)), header.config.foldedConstants.length > 0);
  for (const layer of header.layers) {  // the implementations the build chose, tuned or by shape rules
    const op = graph.ops.find((o) => o.name === layer.name);
    if (op?.kind !== "convolution" && op?.kind !== "fullyConnected") continue;
    if ((layer.tactic === "int8_implicit_gemm" || layer.tactic === "int8_gemm") && op.params.inputScale === undefined) {
      const kernel = header.ir.layers.find((l) => l.name === layer.name)?.weights.kernel?.name ?? layer.name;
      problems.push(`'${kernel}': layer "${layer.name}" runs in INT8 and the new kernel is not on per-output-channel INT8 grids (quantize the weights, e.g. with quantize(), before refitting)`);
    }
    const tactic = layer.tactic;
    if (op.kind === "fullyConnected" && tactic === "int8_gemm") op.params = { ...op.params, tactic };
    if (op.kind === "convolution" && (tactic === "int8_implicit_gemm" || CONVOLUTION_TACTICS.some((t) => t === tactic))) op.params = { ...op.params, tactic: tactic as ConvolutionTactic | "int8_implicit_gemm" };
  }
  if (problems.length) throw new RefitError(problems);
  return { plan: encodePlan(graph, header), weights: merged };
}
