import { buildEngine } from "../api/build.js";
import type { OptimizationProfile } from "../builder/build.js";
import type { NetworkIR } from "../dsl/ir.js";
import { Network } from "../dsl/network.js";
import { LoweringError } from "../native/addon.js";
import { outputNumbers, type InputValue } from "../runtime/io.js";
import { TensorRTReference, TensorRTRuleError } from "../tensorrt/reference/reference.js";
import type { TensorValue } from "../tensorrt/reference/values.js";
import type { WeightSource } from "../weights/source.js";
import { random } from "./random.js";

/** One thing TensorRT would do otherwise than the builtin engine, or refuse. */
export interface TensorRTFinding {
  /** "refused": the lowering cannot express it or an add* call would return nullptr; "rule": TensorRT would refuse
   *  the network at these shapes; "differs": the layer's TensorRT result is not the builtin engine's. */
  kind: "refused" | "rule" | "differs";
  /** The network's layer (its DSL name) and the user's line that added it, where known. */
  layer?: string;
  callSite?: string;
  /** The TensorRT layer the lowering made (`<layer>.<step>` for a step of it). */
  tensorrtLayer?: string;
  /** The header text the refusal cites. */
  rule?: string;
  /** What was found: the shapes, counts or values. */
  detail: string;
  /** "differs": largest |TensorRT − builtin| and its tolerance (differenceBeyondTolerance). */
  maxAbs?: number;
  tolerance?: number;
}

export interface TensorRTCheckReport {
  network: string;
  /** The input shapes checked (each profile's min, opt and max) and the one run (opt). */
  shapesChecked: Record<string, number[]>[];
  findings: TensorRTFinding[];
  /** Layers compared with the builtin engine. */
  layersCompared: number;
  toString(): string;
}

export interface CheckTensorRTOptions {
  /** The shape ranges TensorRT would be built for (as buildEngine's); dynamic dimensions default to 1. */
  profiles?: readonly OptimizationProfile[];
  /** Seed of the random inputs (uniform in [−1, 1); integers 0…2; booleans). Default 1. */
  seed?: number;
  weights?: WeightSource;
}

/**
 * What TensorRT would refuse in `network`, and every layer whose TensorRT result differs from the builtin engine's,
 * without TensorRT: the TensorRT lowering run on netdef's TensorRT-semantics reference (docs/tensorrt-reference.md),
 * validated at every profile's min, opt and max shapes and run on random inputs at opt beside the builtin engine.
 * ```ts
 * const report = await checkTensorRT(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [8, 1, 28, 28], max: [64, 1, 28, 28] } }] });
 * console.log(report.toString()); // "lenet: no findings …" or a table of findings
 * ```
 */
export async function checkTensorRT(network: Network, options: CheckTensorRTOptions = {}): Promise<TensorRTCheckReport> {
  const ir = network.toJSON();
  const weights = options.weights ?? network.weights;
  const profiles = options.profiles?.length ? options.profiles : [Object.fromEntries(ir.inputs.map((t) => {
    const shape = t.shape.map((d) => Math.max(d, 1));
    return [t.name, { min: shape, opt: shape, max: shape }];
  }))];
  const shapesChecked = profiles.flatMap((p) => (["min", "opt", "max"] as const).map((k) => Object.fromEntries(ir.inputs.map((t) => [t.name, [...(p[t.name]?.[k] ?? t.shape.map((d) => Math.max(d, 1)))]]))));
  const findings: TensorRTFinding[] = [];
  const report = (layersCompared: number): TensorRTCheckReport => ({ network: ir.name, shapesChecked, findings, layersCompared, toString: () => formatReport(ir.name, findings, layersCompared, shapesChecked) });
  let reference: TensorRTReference;
  try {
    reference = TensorRTReference.of(network, weights);
  } catch (error) {
    if (!(error instanceof LoweringError)) throw error;
    findings.push(...refusals(error, ir));
    return report(0);
  }
  for (const shapes of shapesChecked) {
    try {
      reference.infer(shapes);
    } catch (error) {
      if (!(error instanceof TensorRTRuleError)) throw error;
      findings.push(ruleFinding(error, shapes));
      return report(0);
    }
  }
  const opt = shapesChecked[1]!;
  const inputs = randomInputs(ir, opt, options.seed ?? 1);
  let run: ReturnType<TensorRTReference["execute"]>;
  try {
    run = reference.execute(Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, { data: v.data, shape: v.shape }])));
  } catch (error) {
    if (!(error instanceof TensorRTRuleError)) throw error;
    findings.push(ruleFinding(error, opt));
    return report(0);
  }
  // Every layer's outputs from the builtin engine, as debug outputs (a layer's TensorRT twin bears its name).
  const debug = Network.fromJSON(ir, { weights });
  const tensorrtLayers = new Set(reference.network.layers.map((d) => d.name));
  const compared = ir.layers.filter((l) => tensorrtLayers.has(l.name));
  for (const layer of compared) for (const t of layer.outputs) if (!ir.outputs.some((o) => o.tensor === t)) debug.markDebug(debug.tensor(t)!);
  const dynamic = ir.inputs.some((t) => t.shape.some((d) => d < 0));
  const engine = await buildEngine(debug, dynamic ? { profiles: [Object.fromEntries(ir.inputs.map((t) => [t.name, { min: opt[t.name]!, opt: opt[t.name]!, max: opt[t.name]! }]))] } : {});
  const builtin = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, v as InputValue])));
  engine.dispose();
  const outputName = new Map(ir.outputs.map((o) => [o.tensor, o.name]));
  // In a reduced-precision network, float32 tensors carry the 16-bit type's rounding from upstream.
  const types = new Set([...run.tensors.values()].map((t) => t.type));
  const reduced = types.has("kBF16") ? "kBF16" : types.has("kHALF") ? "kHALF" : undefined;
  for (const layer of compared) {
    layer.outputs.forEach((tensor, i) => {
      const mine = run.layerOutputs.get(layer.name)?.[i], theirs = builtin[outputName.get(tensor) ?? tensor];
      if (!mine || !theirs) return;
      const difference = differenceBeyondTolerance(mine, { shape: theirs.shape, data: outputNumbers(theirs) }, reduced);
      if (difference) findings.push({ kind: "differs", layer: layer.name, callSite: layer.callSite, tensorrtLayer: layer.name, ...difference, detail: `${tensor}: ${difference.detail}` });
    });
  }
  return report(compared.length);
}

/**
 * How far the builtin engine's tensor is from TensorRT's, where beyond its tolerance: float32 1e-5·max|TensorRT| +
 * 1e-6 (the onnxruntime oracle's); float16 / bfloat16 two steps of the type at max|TensorRT| (each engine rounds
 * after each layer, from sums in another order), and so float32 tensors of a network `reduced` to one; integers and
 * booleans exactly.
 */
export function differenceBeyondTolerance(tensorrt: TensorValue, builtin: { shape: readonly number[]; data: readonly number[] }, reduced?: "kHALF" | "kBF16"): { maxAbs: number; tolerance: number; detail: string } | undefined {
  if (tensorrt.shape.join() !== builtin.shape.join()) return { maxAbs: Infinity, tolerance: 0, detail: `TensorRT gives [${tensorrt.shape}], the builtin engine [${builtin.shape}]` };
  let scale = 0, maxAbs = 0;
  for (const v of tensorrt.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  tensorrt.data.forEach((v, k) => {
    const d = Math.abs(builtin.data[k]! - v);
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? (Number.isNaN(v) && Number.isNaN(builtin.data[k]) ? 0 : Infinity) : d);
  });
  const step = (bits: number) => (scale > 0 ? 2 * 2 ** (Math.floor(Math.log2(scale)) - bits) : 0);
  const precision = tensorrt.type === "kFLOAT" ? reduced ?? "kFLOAT" : tensorrt.type;
  const tolerance = precision === "kFLOAT" ? 1e-5 * scale + 1e-6 : precision === "kHALF" ? step(10) : precision === "kBF16" ? step(7) : 0;
  return maxAbs > tolerance ? { maxAbs, tolerance, detail: `max |TensorRT − builtin| ${maxAbs.toExponential(2)} > ${tolerance.toExponential(2)} (${tensorrt.type})` } : undefined;
}

/** Random inputs at `shapes`, by each input's type. */
function randomInputs(ir: NetworkIR, shapes: Record<string, number[]>, seed: number) {
  const rand = random(seed);
  return Object.fromEntries(ir.inputs.map((t) => {
    const shape = shapes[t.name]!, count = shape.reduce((a, b) => a * b, 1);
    const data = t.dtype === "bool" || t.dtype === "uint8" ? Uint8Array.from({ length: count }, () => Number(rand() < 0.5))
      : t.dtype === "int32" ? Int32Array.from({ length: count }, () => Math.floor(rand() * 3))
      : t.dtype === "int64" ? BigInt64Array.from({ length: count }, () => BigInt(Math.floor(rand() * 3)))
      : Float32Array.from({ length: count }, () => rand() * 2 - 1);
    return [t.name, { data, shape }];
  }));
}

/** A LoweringError's refused layers: checkLowerable lists them one a line ("name (kind, call site): reason"). */
function refusals(error: LoweringError, ir: NetworkIR): TensorRTFinding[] {
  const lines = error.message.split("\n").slice(error.message.includes("\n") ? 1 : 0).map((l) => l.trim()).filter(Boolean);
  return lines.map((line) => {
    const name = /^([^\s(]+) \(/.exec(line)?.[1] ?? error.layer;
    const layer = ir.layers.find((l) => l.name === name);
    const [detail, rule] = line.split(" — ");
    return { kind: "refused", layer: layer?.name, callSite: layer?.callSite, detail: detail!, rule };
  });
}

function ruleFinding(error: TensorRTRuleError, shapes: Record<string, number[]>): TensorRTFinding {
  const at = Object.entries(shapes).map(([n, s]) => `${n} [${s}]`).join(", ");
  return { kind: "rule", layer: error.layer, callSite: error.callSite, tensorrtLayer: error.tensorrtLayer, rule: error.rule, detail: `${error.problem} (at ${at})` };
}

function formatReport(name: string, findings: readonly TensorRTFinding[], compared: number, shapes: readonly Record<string, number[]>[]): string {
  const head = `${name}: TensorRT checked on netdef's TensorRT reference (no GPU): ${shapes.length} input shape sets validated, ${compared} layers compared with the builtin engine`;
  if (!findings.length) return `${head}\nno findings`;
  const rows = findings.map((f) => [f.kind, f.layer ?? f.tensorrtLayer ?? "", f.callSite ?? "", f.detail, f.rule ?? ""]);
  const widths = [8, 24, 28, 60].map((w, i) => Math.min(w, Math.max(...rows.map((r) => r[i]!.length), ["finding", "layer", "call site", "detail"][i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join("  ").trimEnd();
  return [head, `${findings.length} finding(s):`, line(["finding", "layer", "call site", "detail", "header rule"]), ...rows.map(line)].join("\n");
}
