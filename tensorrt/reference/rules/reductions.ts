// Layers that combine values along axes: softmax, reduce, top-k, normalization, LRN, matrix multiply, resize.
import { requireRule, type LayerView } from "../layer.js";
import type { TensorRTType } from "../network.js";
import { FLOAT_TYPES, indexOf, stridesOf, volume, type TensorSpec, type TensorValue } from "../values.js";
import { needed, type LayerRule } from "./rule.js";

const TYPED = "tensor data types are inferred from network input types and operator type specification (NvInfer.h, createNetworkV2)";

/** The axes a bitmask names, each below `rank`. */
function axesOf(mask: number, rank: number, rule: string): number[] {
  const axes: number[] = [];
  for (let d = 0; d < 32; d++) if (mask & (1 << d)) axes.push(d);
  requireRule(axes.every((d) => d < rank), rule, `axes mask ${mask} names dimension ${axes.at(-1)} of a rank-${rank} tensor`);
  return axes;
}

/** For each flat position of `shape`, the position of its group once `axes` are reduced away (a rank-shaped key). */
function groupsAlong(shape: readonly number[], axes: readonly number[]): { key: Int32Array; groups: number } {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d)), keptStrides = stridesOf(kept);
  const key = new Int32Array(volume(shape));
  for (let flat = 0; flat < key.length; flat++) {
    const index = indexOf(flat, shape);
    key[flat] = index.reduce((k, v, d) => k + (axes.includes(d) ? 0 : v * keptStrides[d]!), 0);
  }
  return { key, groups: volume(kept) };
}

const SOFTMAX = "By default, softmax is performed on the axis which is the number of axes minus three. It is 0 if there are fewer than 3 axes. … Here axes is a bitmap. (NvInfer.h, ISoftMaxLayer::setAxes)";
function softmaxAxis(layer: LayerView, rank: number): number {
  const mask = layer.setNumber("setAxes", 1 << Math.max(rank - 3, 0)), axes = axesOf(mask, rank, SOFTMAX);
  requireRule(axes.length === 1, SOFTMAX, `axes mask ${mask}: softmax takes one axis`);
  return axes[0]!;
}

export const softMax: LayerRule = {
  setters: ["setAxes"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer);
    requireRule(FLOAT_TYPES.has(x.type), "Int32 tensors are not valid input tensors. (NvInfer.h, addSoftMax)", `a ${x.type} input`);
    softmaxAxis(layer, x.shape.length);
    return [{ ...x }];
  },
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), { key, groups } = groupsAlong(x.shape, [softmaxAxis(layer, x.shape.length)]);
    const max = new Float64Array(groups).fill(-Infinity), sum = new Float64Array(groups), out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) max[key[i]!] = Math.max(max[key[i]!]!, x.data[i]!);
    for (let i = 0; i < out.length; i++) { out[i] = Math.exp(x.data[i]! - max[key[i]!]!); sum[key[i]!] = sum[key[i]!]! + out[i]!; }
    for (let i = 0; i < out.length; i++) out[i]! /= sum[key[i]!]!;
    return [out];
  },
};

const REDUCE = "The bit in position i of bitmask reduceAxes corresponds to explicit dimension i if result. (NvInfer.h, addReduce)";

function reducedShape(shape: readonly number[], axes: readonly number[], keep: boolean): number[] {
  return shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
}

export const reduce: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), axes = axesOf(layer.number("reduceAxes"), x.shape.length, REDUCE);
    requireRule(x.type !== "kBOOL", TYPED, "a reduction of a bool tensor");
    return [{ type: x.type, shape: reducedShape(x.shape, axes, layer.boolean("keepDimensions")) }];
  },
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), axes = axesOf(layer.number("reduceAxes"), x.shape.length, REDUCE), op = layer.text("operation");
    const { key, groups } = groupsAlong(x.shape, axes), count = x.data.length / groups;
    const start = op === "kPROD" ? 1 : op === "kMAX" ? -Infinity : op === "kMIN" ? Infinity : 0;
    const out = new Float64Array(groups).fill(start);
    for (let i = 0; i < x.data.length; i++) {
      const k = key[i]!, v = x.data[i]!;
      out[k] = op === "kPROD" ? out[k]! * v : op === "kMAX" ? Math.max(out[k]!, v) : op === "kMIN" ? Math.min(out[k]!, v) : out[k]! + v;
    }
    if (op === "kAVG") for (let k = 0; k < groups; k++) out[k]! /= count;
    return [out];
  },
};

export const topK: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), k = layer.number("k"), rule = "The bit in position i of bitmask reduceAxes corresponds to explicit dimension i of the result. (NvInfer.h, addTopK)";
    const axes = axesOf(layer.number("reduceAxes"), x.shape.length, rule);
    requireRule(axes.length === 1, rule, `reduceAxes ${layer.number("reduceAxes")}: top-k takes one axis`);
    requireRule(k <= x.shape[axes[0]!]!, "Currently only values of K up to 3840 are supported. (NvInfer.h, addTopK)", `k = ${k} of a dimension of ${x.shape[axes[0]!]}`);
    requireRule(FLOAT_TYPES.has(x.type) || x.type === "kINT32" || x.type === "kINT64", TYPED, `top-k of a ${x.type} tensor`);
    const shape = [...x.shape];
    shape[axes[0]!] = k;
    return [{ type: x.type, shape }, { type: layer.text("indicesType") as TensorRTType, shape: [...shape] }];
  },
  execute(layer, inputs, [values]) {
    const x = needed(inputs, 0, layer), k = layer.number("k"), axis = axesOf(layer.number("reduceAxes"), x.shape.length, "")[0]!;
    const n = x.shape[axis]!, inner = volume(x.shape.slice(axis + 1)), outer = volume(x.shape.slice(0, axis)), max = layer.text("op") === "kMAX";
    const out = new Float64Array(volume(values!.shape)), indices = new Float64Array(out.length);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      const order = Array.from({ length: n }, (_, j) => j);
      const at = (j: number) => x.data[(o * n + j) * inner + i]!;
      order.sort((a, b) => (max ? at(b) - at(a) : at(a) - at(b)) || a - b);  // ties: the lower index first
      for (let j = 0; j < k; j++) { out[(o * k + j) * inner + i] = at(order[j]!); indices[(o * k + j) * inner + i] = order[j]!; }
    }
    return [out, indices];
  },
};

const NORMALIZATION = "Y = (X - Mean(X, axes)) / Sqrt(Variance(X) + epsilon) * S + B … Variance(X) = Mean((X - Mean(X, axes)) ^ 2, axes). (NvInfer.h, INormalizationLayer)";
const GROUPS = "It is an error to set nbGroups to a value that does not evenly divide into the number of channels of the input tensor. … When nbGroups is != 1, it is expected that the provided axesMask will have all bits corresponding to dimensions after the channel dimension set to 1, with all other bits set to 0. (NvInfer.h, INormalizationLayer::setNbGroups)";

export const normalization: LayerRule = {
  setters: ["setEpsilon", "setNbGroups"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), scale = needed(inputs, 1, layer), bias = needed(inputs, 2, layer), rank = x.shape.length;
    const axes = axesOf(layer.number("axesMask"), rank, NORMALIZATION), groups = layer.setNumber("setNbGroups", 1);
    requireRule(FLOAT_TYPES.has(x.type) && scale.type === x.type && bias.type === x.type, TYPED, `input ${x.type}, scale ${scale.type}, bias ${bias.type}`);
    if (groups !== 1) requireRule(x.shape[1]! % groups === 0 && axes.join() === Array.from({ length: rank - 2 }, (_, i) => i + 2).join(), GROUPS, `${groups} groups of ${x.shape[1]} channels over axes ${axes}`);
    const rule = "In the case of InstanceNorm or GroupNorm, the shapes of scale and bias are expected to be [1, C, 1, 1] (NvInfer.h, addNormalizationV2); else they broadcast to the input";
    for (const t of [scale, bias]) requireRule(t.shape.length === rank && t.shape.every((d, i) => d === 1 || d === x.shape[i]), rule, `scale/bias of [${t.shape}] for an input of [${x.shape}]`);
    return [{ ...x }];
  },
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), rank = x.shape.length, axes = axesOf(layer.number("axesMask"), rank, NORMALIZATION);
    const groups = layer.setNumber("setNbGroups", 1), epsilon = layer.setNumber("setEpsilon", 1e-5);
    // Group norm: the channel dimension split into groups, each normalized over its channels and the axes.
    const split = groups === 1 ? x.shape : [x.shape[0]!, groups, x.shape[1]! / groups, ...x.shape.slice(2)];
    const reduced = groups === 1 ? axes : [2, ...axes.map((a) => a + 1)];
    const { key, groups: count } = groupsAlong(split, reduced), per = x.data.length / count;
    const mean = new Float64Array(count), variance = new Float64Array(count);
    for (let i = 0; i < x.data.length; i++) mean[key[i]!] = mean[key[i]!]! + x.data[i]! / per;
    for (let i = 0; i < x.data.length; i++) variance[key[i]!] = variance[key[i]!]! + (x.data[i]! - mean[key[i]!]!) ** 2 / per;
    const [scale, bias] = [1, 2].map((i) => broadcastReader(needed(inputs, i, layer), x.shape));
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = ((x.data[i]! - mean[key[i]!]!) / Math.sqrt(variance[key[i]!]! + epsilon)) * scale!(i) + bias!(i);
    return [out];
  },
};

function broadcastReader(t: TensorValue, shape: readonly number[]): (flat: number) => number {
  const strides = stridesOf(t.shape);
  return (flat) => {
    const index = indexOf(flat, shape);
    return t.data[index.reduce((o, v, d) => o + (t.shape[d] === 1 ? 0 : v * strides[d]!), 0)]!;
  };
}

export const lrn: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), window = layer.number("window");
    requireRule(window % 2 === 1 && window >= 1 && window <= 15, "The window size must be odd and in the range of [1, 15]. (NvInfer.h, ILRNLayer::setWindowSize)", `window ${window}`);
    requireRule(Math.abs(layer.number("alpha")) <= 1e20, "The valid range is [-1e20, 1e20]. (NvInfer.h, ILRNLayer::setAlpha)", `alpha ${layer.number("alpha")}`);
    requireRule(layer.number("beta") >= 0.01 && layer.number("beta") <= 1e5, "The valid range is [0.01, 1e5f]. (NvInfer.h, ILRNLayer::setBeta)", `beta ${layer.number("beta")}`);
    requireRule(layer.number("k") >= 1e-5 && layer.number("k") <= 1e10, "The valid range is [1e-5, 1e10]. (NvInfer.h, ILRNLayer::setK)", `k ${layer.number("k")}`);
    requireRule(FLOAT_TYPES.has(x.type) && x.shape.length >= 2, "Int32 tensors are not valid input tensors. (NvInfer.h, addLRN)", `a ${x.type} input of rank ${x.shape.length}`);
    return [{ ...x }];
  },
  // The header gives no formula: onnx-tensorrt passes ONNX's LRN parameters unchanged, so ONNX's is TensorRT's —
  // y = x / (k + alpha / window · Σ x² over the window of channels)^beta.
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), window = layer.number("window"), alpha = layer.number("alpha"), beta = layer.number("beta"), k = layer.number("k");
    const channels = x.shape[1]!, inner = volume(x.shape.slice(2)), out = new Float64Array(x.data.length);
    const half = (window - 1) / 2;
    for (let i = 0; i < out.length; i++) {
      const c = Math.floor(i / inner) % channels;
      let sum = 0;
      for (let j = Math.max(0, c - half); j <= Math.min(channels - 1, c + half); j++) sum += x.data[i + (j - c) * inner]! ** 2;
      out[i] = x.data[i]! / (k + (alpha / window) * sum) ** beta;
    }
    return [out];
  },
};

const MATMUL = "For a dimension that is not one of the matrix or vector dimensions: If the dimension is 1 for one of the tensors but not the other tensor, the former tensor is broadcast along that dimension to match the dimension of the latter tensor. The number of these extra dimensions for A and B must match. (NvInfer.h, IMatrixMultiplyLayer)";

/** An operand as a batch of [rows, columns] matrices (a kVECTOR operand is one row or column). */
function operand(spec: TensorSpec, op: string, second: boolean) {
  const rank = spec.shape.length;
  if (op === "kVECTOR") return { batch: spec.shape.slice(0, rank - 1), rows: second ? spec.shape[rank - 1]! : 1, cols: second ? 1 : spec.shape[rank - 1]!, vector: true };
  const [r, c] = spec.shape.slice(rank - 2);
  return op === "kTRANSPOSE" ? { batch: spec.shape.slice(0, rank - 2), rows: c!, cols: r!, vector: false } : { batch: spec.shape.slice(0, rank - 2), rows: r!, cols: c!, vector: false };
}

export const matrixMultiply: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const a = needed(inputs, 0, layer), b = needed(inputs, 1, layer), opA = layer.text("op0"), opB = layer.text("op1");
    requireRule(a.type === b.type && FLOAT_TYPES.has(a.type), TYPED, `operands of ${a.type} and ${b.type}`);
    requireRule(a.shape.length >= (opA === "kVECTOR" ? 1 : 2) && b.shape.length >= (opB === "kVECTOR" ? 1 : 2), MATMUL, `ranks ${a.shape.length} and ${b.shape.length}`);
    const A = operand(a, opA, false), B = operand(b, opB, true);
    requireRule(A.batch.length === B.batch.length, MATMUL, `batch dimensions [${A.batch}] and [${B.batch}]`);
    requireRule(A.cols === B.rows, "When A and B are matrices or vectors, computes the inner product A * B (NvInfer.h, IMatrixMultiplyLayer)", `inner dimensions ${A.cols} and ${B.rows}`);
    const batch = A.batch.map((d, i) => {
      requireRule(d === B.batch[i] || d === 1 || B.batch[i] === 1, MATMUL, `batch dimension ${i}: ${d} vs ${B.batch[i]}`);
      return Math.max(d, B.batch[i]!);
    });
    return [{ type: a.type, shape: [...batch, ...(A.vector ? [] : [A.rows]), ...(B.vector ? [] : [B.cols])] }];
  },
  execute(layer, inputs, [output]) {
    const a = needed(inputs, 0, layer), b = needed(inputs, 1, layer), opA = layer.text("op0"), opB = layer.text("op1");
    const A = operand(a, opA, false), B = operand(b, opB, true);
    const batch = A.batch.map((d, i) => Math.max(d, B.batch[i]!)), count = volume(batch);
    const aStrides = stridesOf(A.batch), bStrides = stridesOf(B.batch);
    const at = (t: TensorValue, op: string, base: number, r: number, c: number, rows: number, cols: number) =>
      t.data[base + (op === "kTRANSPOSE" ? c * rows + r : r * cols + c)]!;
    const out = new Float64Array(volume(output!.shape));
    for (let n = 0; n < count; n++) {
      const index = indexOf(n, batch);
      const aBase = index.reduce((o, v, d) => o + (A.batch[d] === 1 ? 0 : v * aStrides[d]!), 0) * A.rows * A.cols;
      const bBase = index.reduce((o, v, d) => o + (B.batch[d] === 1 ? 0 : v * bStrides[d]!), 0) * B.rows * B.cols;
      for (let r = 0; r < A.rows; r++) for (let c = 0; c < B.cols; c++) {
        let sum = 0;
        for (let k = 0; k < A.cols; k++) sum += at(a, opA, aBase, r, k, A.rows, A.cols) * at(b, opB, bBase, k, c, B.rows, B.cols);
        out[(n * A.rows + r) * B.cols + c] = sum;
      }
    }
    return [out];
  },
};

const RESIZE = "Resize layer currently supports the following configurations: InterpolationMode::kNEAREST - resizes last `m` dimensions of N-D, where 0 < m <= min(8, N) and N > 0; InterpolationMode::kLINEAR - resizes last `m` dimensions of N-D, where 0 < m <= min(3, N) and N > 0 (NvInfer.h, IResizeLayer)";

function resizedShape(layer: LayerView, x: TensorSpec): number[] {
  const scales = layer.set("setScales") as number[] | undefined, dims = layer.set("setOutputDimensions") as number[] | undefined;
  // "Each output dimension is calculated as floor(input dimension * scale)."
  const shape = scales ? x.shape.map((d, i) => Math.floor(d * scales[i]!)) : dims!;
  requireRule(shape.length === x.shape.length && shape.every((d) => d >= 1), RESIZE, `an output of [${shape}] for an input of [${x.shape}]`);
  return shape;
}

export const resize: LayerRule = {
  setters: ["setResizeMode", "setScales", "setOutputDimensions", "setCoordinateTransformation", "setNearestRounding", "setCubicCoeff"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), shape = resizedShape(layer, x), mode = layer.setText("setResizeMode", "kNEAREST");
    const first = x.shape.findIndex((d, i) => d !== shape[i]), m = first < 0 ? 0 : x.shape.length - first;
    requireRule(m <= { kNEAREST: 8, kLINEAR: 3, kCUBIC: 2 }[mode]!, RESIZE, `${mode} resizing of the last ${m} dimensions`);
    requireRule(FLOAT_TYPES.has(x.type) || mode === "kNEAREST", TYPED, `${mode} resizing of a ${x.type} tensor`);
    return [{ type: x.type, shape }];
  },
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), shape = output!.shape, mode = layer.setText("setResizeMode", "kNEAREST");
    const transform = layer.setText("setCoordinateTransformation", "kASYMMETRIC"), rounding = layer.setText("setNearestRounding", "kFLOOR");
    const A = layer.setNumber("setCubicCoeff", -0.75), scales = layer.set("setScales") as number[] | undefined;
    // x_origin by the header's formulas; with scales set, length_origin / length_resize is 1 / scale, as ONNX (whose
    // scales onnx-tensorrt passes to setScales unchanged) defines it.
    const origin = (o: number, d: number) => {
      const inLen = x.shape[d]!, outLen = shape[d]!, ratio = scales ? 1 / scales[d]! : inLen / outLen;
      if (transform === "kALIGN_CORNERS") return outLen === 1 ? 0 : (o * (inLen - 1)) / (outLen - 1);  // x_origin = x_resized * (length_origin - 1) / (length_resize - 1)
      if (transform === "kHALF_PIXEL") return (o + 0.5) * ratio - 0.5;  // x_origin = (x_resized + 0.5) * (length_origin / length_resize) - 0.5
      return o * ratio;  // x_origin = x_resized * (length_origin / length_resize)
    };
    const clampTo = (i: number, d: number) => Math.min(Math.max(i, 0), x.shape[d]! - 1);
    const taps = (o: number, d: number): [number, number][] => {
      const p = origin(o, d);
      if (x.shape[d] === shape[d] && !scales?.[d] && transform !== "kALIGN_CORNERS") return [[o, 1]];
      if (mode === "kNEAREST") {
        const i = rounding === "kFLOOR" ? Math.floor(p) : rounding === "kCEIL" ? Math.ceil(p) : rounding === "kHALF_UP" ? Math.floor(p + 0.5) : Math.ceil(p - 0.5);
        return [[clampTo(i, d), 1]];
      }
      if (mode === "kLINEAR") {
        const q = Math.min(Math.max(p, 0), x.shape[d]! - 1), lo = Math.floor(q), t = q - lo;
        return [[lo, 1 - t], [clampTo(lo + 1, d), t]];
      }
      const lo = Math.floor(p), t = p - lo;
      const w = (s: number) => { s = Math.abs(s); return s <= 1 ? ((A + 2) * s - (A + 3)) * s * s + 1 : s < 2 ? ((A * s - 5 * A) * s + 8 * A) * s - 4 * A : 0; };
      return [-1, 0, 1, 2].map((k) => [clampTo(lo + k, d), w(t - k)]);
    };
    const inStrides = stridesOf(x.shape), out = new Float64Array(volume(shape));
    for (let flat = 0; flat < out.length; flat++) {
      const index = indexOf(flat, shape);
      let terms: [number, number][] = [[0, 1]];
      index.forEach((o, d) => { terms = terms.flatMap(([offset, w]) => taps(o, d).map(([i, v]) => [offset + i * inStrides[d]!, w * v] as [number, number])); });
      out[flat] = terms.reduce((s, [offset, w]) => s + (w === 0 ? 0 : x.data[offset]! * w), 0);
    }
    return [out];
  },
};
