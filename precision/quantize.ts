import { Network } from "../dsl/network.js";
import type { LayerIR, NetworkIR, TensorIR } from "../dsl/ir.js";
import type { LayerKind } from "../layers/kinds.js";
import type { WeightSource } from "../weights/source.js";
import { WeightStore } from "../weights/store.js";
import { toFloat32 } from "../weights/tensor.js";
import { OptionError } from "../weights/netdef-error.js";

/** Per-tensor amax (the largest magnitude kept un-clipped): INT8 scale = amax / 127. */
export type CalibrationTable = Record<string, number>;

export interface QuantizeOptions {
  /** Layers kept in float32 (no Q/DQ before them, weights untouched). */
  keepFloat?: readonly string[];
}

/** Symmetric INT8 per output channel: each row of the kernel rounded to its own 127-level grid. */
function quantizePerChannel(values: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(values.length);
  const per = values.length / channels;
  for (let c = 0; c < channels; c++) {
    let amax = 0;
    for (let i = c * per; i < (c + 1) * per; i++) amax = Math.max(amax, Math.abs(values[i]!));
    const scale = amax / 127 || 1;
    for (let i = c * per; i < (c + 1) * per; i++) out[i] = Math.min(127, Math.max(-127, Math.round(values[i]! / scale))) * scale;
  }
  return out;
}

const SHAPE_ONLY = { float: "it moves, selects or combines values without products to run in INT8" } as const;
const NO_KERNEL = { float: "its weights scale or shift values per channel: no products to run in INT8" } as const;

/**
 * What explicit quantization does with each layer kind: a Q/DQ pair before the data input of the layers whose
 * products run in INT8 (TensorRT fuses it into them), float for the rest, with the reason. A kind missing here does
 * not compile.
 */
export const INT8_QUANTIZATION: { readonly [K in LayerKind]: "quantize input" | { readonly float: string } } = {
  convolution: "quantize input", deconvolution: "quantize input", fullyConnected: "quantize input",
  matrixMultiply: { float: "both operands are activations: netdef quantizes weights' products only" },
  scale: NO_KERNEL, batchNorm: NO_KERNEL, parametricReLU: NO_KERNEL, normalization: { float: "statistics of the input need its full range" },
  constant: { float: "a constant's values are used as they are" },
  quantize: { float: "already a quantization step" }, dequantize: { float: "already a quantization step" },
  activation: SHAPE_ONLY, cast: SHAPE_ONLY, concatenation: SHAPE_ONLY, elementWise: SHAPE_ONLY, expand: SHAPE_ONLY, gather: SHAPE_ONLY, identity: SHAPE_ONLY,
  lrn: SHAPE_ONLY, padding: SHAPE_ONLY, pooling: SHAPE_ONLY, reduce: SHAPE_ONLY, resize: SHAPE_ONLY, select: SHAPE_ONLY, shuffle: SHAPE_ONLY,
  slice: SHAPE_ONLY, softMax: SHAPE_ONLY, topK: SHAPE_ONLY, unary: SHAPE_ONLY,
};

/**
 * The network in explicit INT8, TensorRT-11 style: a Quantize/Dequantize pair (per-tensor scale amax/127 from the
 * calibration table) before the data input of every calibrated heavy layer, and those layers' kernels rounded to
 * per-output-channel INT8 grids. Returns a new network; the original is unchanged.
 */
export function quantize(network: Network, table: CalibrationTable, options: QuantizeOptions = {}): Network {
  // An amax of 0 made a scale of 1 (amax / 127 || 1), silently wrong: every entry must give a real scale.
  const unusable = Object.entries(table).filter(([, amax]) => !(typeof amax === "number" && Number.isFinite(amax) && amax > 0));
  if (unusable.length) {
    throw new OptionError(`quantize: calibration table entries must be finite amax values > 0, received ${unusable.map(([t, a]) => `'${t}': ${String(a)}`).join(", ")} (calibrate on inputs that reach those tensors, or keep their layers in float with keepFloat)`);
  }
  const ir = network.toJSON();
  const keep = new Set(options.keepFloat ?? []);
  const overrides = new WeightStore();
  const layers: LayerIR[] = [];
  const tensors: TensorIR[] = [...ir.tensors];
  const shapeOf = (name: string) => [...ir.inputs, ...ir.tensors].find((t) => t.name === name)!;
  const qdq = new Map<string, string>();  // a tensor's dequantized copy, shared by every layer that reads it
  for (const layer of ir.layers) {
    const input = layer.inputs[0];
    const amax = input === undefined ? undefined : table[input];
    if (amax === undefined || keep.has(layer.name) || INT8_QUANTIZATION[layer.kind] !== "quantize input" || !layer.weights.kernel) { layers.push(layer); continue; }
    if (!qdq.has(input!)) {
      const source = shapeOf(input!);
      const q = `${input}.quantize`, dq = `${input}.dequantize`;
      overrides.set(`${q}.scale`, { dtype: "float32", shape: [1], data: Float32Array.of(amax / 127) });
      layers.push({ kind: "quantize", name: q, inputs: [input!], outputs: [q], params: { axis: null }, weights: { scale: { name: `${q}.scale`, shape: [1] } } });
      layers.push({ kind: "dequantize", name: dq, inputs: [q], outputs: [dq], params: { axis: null, to: "float32" }, weights: { scale: { name: `${q}.scale`, shape: [1] } } });
      tensors.push({ name: q, dtype: "int8", shape: source.shape }, { name: dq, dtype: "float32", shape: source.shape });
      qdq.set(input!, dq);
    }
    const kernel = layer.weights.kernel;
    const values = network.weights.get(kernel.name);
    if (values) overrides.set(kernel.name, { dtype: "float32", shape: kernel.shape, data: quantizePerChannel(toFloat32(values), kernel.shape[0]!) });
    layers.push({ ...layer, inputs: [qdq.get(input!)!, ...layer.inputs.slice(1)] });
  }
  const quantised: NetworkIR = { ...ir, name: `${ir.name}.int8`, layers, tensors };
  const base = network.weights;
  const weights: WeightSource = { get: (n) => overrides.get(n) ?? base.get(n), names: () => [...new Set([...overrides.names(), ...base.names()])] };
  return Network.fromJSON(quantised, { weights });
}
