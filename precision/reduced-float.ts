import { Network } from "../dsl/network.js";
import type { LayerIR, NetworkIR, TensorIR } from "../dsl/ir.js";
import type { LayerKind } from "../layers/kinds.js";
import type { WeightSource } from "../weights/source.js";
import { WeightStore } from "../weights/store.js";
import { toFloat32 } from "../weights/tensor.js";

export interface ReducedFloatOptions {
  /** Layers kept in float32: their outputs and weights are not rounded. */
  keepFloat?: readonly string[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The nearest bfloat16 (ties to even), as a float32. */
export function roundToBfloat16(v: number): number {
  if (Number.isNaN(v)) return v;
  f32[0] = v;
  u32[0] = ((u32[0]! + 0x7fff + ((u32[0]! >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0]!;
}

/**
 * Every value rounded to the type (roundToBfloat16 or roundToFloat16 on each): bfloat16 on the values' bits, a
 * ResNet-18's 11.7 M weights in ~20 ms where a call per value (Float32Array.from with a map) took 1.4 s.
 */
export function roundedTo(values: Float32Array, dtype: "bfloat16" | "float16"): Float32Array {
  const out = new Float32Array(values.length);
  if (dtype === "float16") {
    for (let i = 0; i < values.length; i++) out[i] = roundToFloat16(values[i]!);
    return out;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length), rounded = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    rounded[i] = (b & 0x7fffffff) > 0x7f800000 ? b : ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;  // NaN kept
  }
  return out;
}

/** Whether every value is one of the type's: rounding leaves it equal (so no NaN). */
export function representableIn(values: Float32Array, dtype: "bfloat16" | "float16"): boolean {
  if (dtype === "float16") return values.every((v) => roundToFloat16(v) === v);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0xffff) !== 0 || (bits[i]! & 0x7fffffff) > 0x7f800000) return false;
  return true;
}

/** The nearest float16 (ties to even, overflow to ±∞), as a float32. */
export function roundToFloat16(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a >= 65520) return Math.sign(v) * Infinity;
  const step = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / step;
  const r = Math.floor(q), frac = q - r;
  const rounded = frac > 0.5 || (frac === 0.5 && r % 2 === 1) ? r + 1 : r;
  return Math.sign(v) * rounded * step;
}

/**
 * How reduced precision stores each layer kind's float output: "rounded" to the type (a cast to it and back after
 * the layer), or kept in float32 with the reason. Every kind rounds today (the builder drops the round trips that
 * are no-ops); a kind missing here does not compile.
 */
export const REDUCED_FLOAT_STORAGE: { readonly [K in LayerKind]: "rounded" | { readonly float32: string } } = {
  activation: "rounded", batchNorm: "rounded", cast: "rounded", concatenation: "rounded", constant: "rounded", convolution: "rounded",
  deconvolution: "rounded", dequantize: "rounded", elementWise: "rounded", expand: "rounded", fullyConnected: "rounded", gather: "rounded", identity: "rounded",
  lrn: "rounded", matrixMultiply: "rounded", normalization: "rounded", padding: "rounded", parametricReLU: "rounded", pooling: "rounded",
  quantize: "rounded", reduce: "rounded", resize: "rounded", scale: "rounded", select: "rounded", shuffle: "rounded", slice: "rounded",
  softMax: "rounded", topK: "rounded", unary: "rounded",
};

/**
 * The network with weights and activations in bfloat16 or float16, strongly typed as TensorRT 11 wants: every
 * weight rounded to the type, and a cast to it (and back to float32, the builtin engine's compute type) after each
 * layer's output, so that every stored activation carries the reduced precision. Per-layer overrides keep a layer
 * in float32. The builtin engine simulates the precision (accuracy, not speed).
 */
export function reducedFloat(network: Network, dtype: "bfloat16" | "float16", options: ReducedFloatOptions = {}): Network {
  const ir = network.toJSON();
  const keep = new Set(options.keepFloat ?? []);
  const overrides = new WeightStore();
  const layers: LayerIR[] = [];
  const tensors: TensorIR[] = [...ir.tensors];
  const renamed = new Map<string, string>();
  const outputs = new Set(ir.outputs.map((o) => o.tensor));
  for (const layer of ir.layers) {
    const inputs = layer.inputs.map((t) => renamed.get(t) ?? t);
    layers.push({ ...layer, inputs });
    if (keep.has(layer.name)) continue;
    for (const binding of Object.values(layer.weights)) {
      const w = network.weights.get(binding.name);
      if (w && !overrides.has(binding.name)) overrides.set(binding.name, { dtype: "float32", shape: w.shape, data: roundedTo(toFloat32(w), dtype) });
    }
    const out = ir.tensors.find((t) => t.name === layer.outputs[0])!;
    if (out.dtype !== "float32" || outputs.has(out.name) || REDUCED_FLOAT_STORAGE[layer.kind] !== "rounded") continue;  // network outputs stay float32
    const narrow = `${out.name}.${dtype}`, wide = `${out.name}.float32`;
    layers.push({ kind: "cast", name: narrow, inputs: [out.name], outputs: [narrow], params: { to: dtype }, weights: {} });
    layers.push({ kind: "cast", name: wide, inputs: [narrow], outputs: [wide], params: { to: "float32" }, weights: {} });
    tensors.push({ name: narrow, dtype, shape: out.shape }, { name: wide, dtype: "float32", shape: out.shape });
    renamed.set(out.name, wide);
  }
  const reduced: NetworkIR = { ...ir, name: `${ir.name}.${dtype}`, layers, tensors };
  const base = network.weights;
  const weights: WeightSource = { get: (n) => overrides.get(n) ?? base.get(n), names: () => base.names() };
  return Network.fromJSON(reduced, { weights });
}
