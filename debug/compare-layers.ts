import type { DataType } from "../dsl/dtype.js";
import { outputNumbers, type InputValue } from "../runtime/io.js";
import { Network } from "../dsl/network.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32 } from "../weights/tensor.js";
import { buildEngine } from "../api/build.js";

/** Reference activations by tensor (= layer) name: a weight source (activations saved with safetensors/npy) or arrays. */
export type ActivationReference = WeightSource | Record<string, Float32Array | { data: ArrayLike<number>; shape?: readonly number[] }>;

export interface LayerComparison {
  layer: string;
  kind: string;
  /** Largest |engine − reference|. */
  maxAbs: number;
  /** maxAbs over the largest |reference|. */
  maxRel: number;
  /** Within tolerance (and of the same element count). */
  ok: boolean;
}

export interface LayerReport {
  rows: LayerComparison[];
  /** The first layer, in network order, beyond tolerance; undefined when all agree. */
  firstDivergent: string | undefined;
  /** Reference names that are no tensor of the network (so not compared). */
  unmatched: string[];
  toString(): string;
}

export interface CompareOptions {
  /**
   * |engine − reference| ≤ absolute + relative·max|reference| passes. Defaults by the engine tensor's type
   * (COMPARE_TOLERANCES): float32 1e-6 and 1e-5, tight enough to tell gelu_tanh from gelu_erf; float16 and bfloat16
   * the rounding a 16-bit network collects layer after layer; integers exactly.
   */
  absolute?: number;
  relative?: number;
  /** The backend whose layers are compared: "builtin" (default) or "tensorrt" (each compared tensor marked an output). */
  backend?: "builtin" | "tensorrt";
}

/**
 * compareLayers' default [absolute, relative] tolerance by the engine tensor's type. float32: a float32 engine and
 * PyTorch agree to ~1e-6 of a tensor's magnitude (measured on SqueezeNet, yolo_block), and a wrong function (gelu_tanh
 * for gelu_erf: 1.5e-4 of it) is far outside; float16 / bfloat16: the roundings a reduced-precision network
 * accumulates against a float32 reference (~0.8·2⁻⁷ of the magnitude after a bfloat16 transformer layer).
 */
export const COMPARE_TOLERANCES: Readonly<Record<DataType, readonly [number, number]>> = {
  float32: [1e-6, 1e-5], float16: [1e-4, 1e-2], bfloat16: [1e-3, 5e-2],
  int8: [0, 0], uint8: [0, 0], int32: [0, 0], int64: [0, 0], bool: [0, 0],
};

function referenceValues(reference: ActivationReference, name: string): Float32Array | undefined {
  if (typeof (reference as WeightSource).get === "function" && typeof (reference as WeightSource).names === "function") {
    const t = (reference as WeightSource).get(name);
    return t ? toFloat32(t) : undefined;
  }
  const v = (reference as Record<string, Float32Array | { data: ArrayLike<number> }>)[name];
  if (!v) return undefined;
  return v instanceof Float32Array ? v : Float32Array.from(v.data);
}

const referenceNames = (reference: ActivationReference) =>
  typeof (reference as WeightSource).names === "function" ? [...(reference as WeightSource).names()] : Object.keys(reference);

/**
 * Runs `network` on `inputs` with every layer that has a reference marked as a debug output, and compares each
 * with its reference: a table of max abs / rel error per layer and the first layer beyond tolerance, as Polygraphy's
 * `--trt-outputs mark all` does against another runtime.
 * ```ts
 * const report = await compareLayers(net, { input }, await loadWeights("pytorch_activations.safetensors"));
 * console.log(report.toString()); // … first divergent layer: reduce.conv
 * ```
 */
export async function compareLayers(network: Network, inputs: Record<string, InputValue>, reference: ActivationReference, options: CompareOptions = {}): Promise<LayerReport> {
  const ir = network.toJSON();
  const debug = Network.fromJSON(ir, { weights: network.weights });
  const compared = ir.layers.filter((l) => referenceValues(reference, l.outputs[0]!) !== undefined);
  for (const layer of compared) debug.markDebug(debug.tensor(layer.outputs[0]!)!);
  const profiles = ir.inputs.filter((t) => t.shape.some((d) => d < 0)).map((t) => {
    const value = inputs[t.name];
    const shape = value && !ArrayBuffer.isView(value) ? [...value.shape] : t.shape.map((d) => Math.max(d, 1));
    return [t.name, { min: shape, opt: shape, max: shape }] as const;
  });
  const build = profiles.length ? { profiles: [Object.fromEntries(profiles)] } : {};
  const engine = options.backend === "tensorrt" ? await buildEngine(debug, { ...build, backend: "tensorrt" }) : await buildEngine(debug, build);
  const outputs = await engine.createExecutionContext().execute(inputs);
  engine.dispose();
  const rows = compared.map((layer): LayerComparison => {
    const expected = referenceValues(reference, layer.outputs[0]!)!;
    const output = outputs[layer.outputs[0]!]!, actual = outputNumbers(output);
    const [absolute, relative] = [options.absolute ?? COMPARE_TOLERANCES[output.dtype][0], options.relative ?? COMPARE_TOLERANCES[output.dtype][1]];
    let maxAbs = expected.length === actual.length ? 0 : Infinity, scale = 0;
    for (let i = 0; i < expected.length && maxAbs !== Infinity; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - expected[i]!) || (Number.isNaN(actual[i]) !== Number.isNaN(expected[i]) ? Infinity : 0));
      scale = Math.max(scale, Math.abs(expected[i]!));
    }
    return { layer: layer.name, kind: layer.kind, maxAbs, maxRel: scale ? maxAbs / scale : maxAbs, ok: maxAbs <= absolute + relative * scale };
  });
  const tensors = new Set([...ir.inputs.map((t) => t.name), ...ir.tensors.map((t) => t.name)]);
  const unmatched = referenceNames(reference).filter((n) => !tensors.has(n));
  const firstDivergent = rows.find((r) => !r.ok)?.layer;
  return {
    rows, firstDivergent, unmatched,
    toString: () => {
      const table = [["layer", "kind", "max abs", "max rel", ""], ...rows.map((r) => [r.layer, r.kind, r.maxAbs.toExponential(2), r.maxRel.toExponential(2), r.ok ? "ok" : "BEYOND TOLERANCE"])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      return [
        ...table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()),
        firstDivergent ? `first divergent layer: ${firstDivergent}` : `all ${rows.length} compared layers within tolerance`,
        ...(unmatched.length ? [`not compared (no such tensor): ${unmatched.join(", ")}`] : []),
      ].join("\n");
    },
  };
}
