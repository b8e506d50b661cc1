// Every layer kind and option variant, one row per variant, with seeded random inputs and weights (float32 unless
// given): run against onnxruntime and through the TensorRT lowering on the reference in the tests, and on TensorRT
// itself by `netdef selftest`.
import { random } from "../debug/random.js";
import type { DataType } from "../dsl/dtype.js";
import type { OptimizationProfile } from "../builder/build.js";
import { Network } from "../dsl/network.js";
import type { Tensor } from "../dsl/tensor.js";
import { ACTIVATION_TYPES, type ActivationType } from "../layers/activation.js";
import { ELEMENT_WISE_OPS, type ElementWiseOp } from "../layers/element-wise.js";
import { UNARY_OPS, type UnaryOp } from "../layers/unary.js";
import { roundToBfloat16, roundToFloat16 } from "../precision/reduced-float.js";

/** One layer case: its inputs (random unless given) and the layers it adds; `w(...shape)` gives random weights. */
export interface LayerCase {
  /** Each input's run-time shape; `dynamic`: the axes the network declares dynamic (-1), built with a profile of that shape alone. */
  inputs: Record<string, { shape: number[]; dynamic?: readonly number[]; dtype?: "float32" | "int32" | "int64" | "bool"; values?: readonly (number | bigint)[] }>;
  define: (net: Network, x: Record<string, Tensor>, w: (...shape: number[]) => Float32Array) => Tensor | Tensor[];
}

export type CaseFeeds = Record<string, { data: Float32Array | Int32Array | BigInt64Array | Uint8Array; shape: number[]; dtype: Extract<DataType, "float32" | "int32" | "int64" | "bool"> }>;

/** A batch of 2 images of `c` channels, `h` × `w`. */
export const img = (c = 3, h = 7, w = 7) => ({ x: { shape: [2, c, h, w] } });

/** `values` rounded onto per-row symmetric INT8 grids (q · amax/127, one row per output channel), as `quantize` leaves kernels. */
export function onInt8Grid(values: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(values.length), per = values.length / rows;
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * per, (r + 1) * per);
    const step = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127 || 1;
    for (let i = 0; i < per; i++) out[r * per + i] = Math.round(row[i]! / step) * step;
  }
  return out;
}

/** One case's network (outputs marked out0, out1, …) and input values, from the seeded generator. */
export function defineCase(c: LayerCase, seed = 1): { net: Network; feeds: CaseFeeds; outputs: number; profiles: OptimizationProfile[] } {
  const rand = random(seed);
  const net = new Network("oracle");
  const tensors: Record<string, Tensor> = {};
  const feeds: CaseFeeds = {};
  const profile: OptimizationProfile = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    const dtype = spec.dtype ?? "float32";
    tensors[name] = net.addInput(name, dtype, spec.shape.map((d, i) => (spec.dynamic?.includes(i) ? -1 : d)));
    if (spec.dynamic) profile[name] = { min: spec.shape, opt: spec.shape, max: spec.shape };
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = spec.values ?? Array.from({ length: count }, () => (dtype === "bool" ? Number(rand() < 0.5) : dtype === "int32" ? Math.floor(rand() * 3) : rand() * 2 - 1));
    const data = dtype === "int64" ? BigInt64Array.from(values, (v) => BigInt(v)) : values.map(Number);
    feeds[name] = { data: data instanceof BigInt64Array ? data : dtype === "bool" ? Uint8Array.from(data) : dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data), shape: spec.shape, dtype };
  }
  const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * 0.5);
  const outputs = [c.define(net, tensors, w)].flat();
  outputs.forEach((t, i) => net.markOutput(t, `out${i}`));
  return { net, feeds, outputs: outputs.length, profiles: Object.keys(profile).length ? [profile] : [] };
}

export const layerCases: Record<string, LayerCase> = {
  "conv 3×3 pad 1": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: w(4, 3, 3, 3), bias: w(4) } }) },
  "conv stride 2, no bias": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 4, kernel: 3, stride: 2, bias: false, weights: { kernel: w(4, 3, 3, 3) } }) },
  "conv dilation 2": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 3, dilation: 2, padding: 2, weights: { kernel: w(2, 3, 3, 3), bias: w(2) } }) },
  "conv groups 3, 2 filters each": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 6, kernel: 3, groups: 3, padding: 1, weights: { kernel: w(6, 1, 3, 3), bias: w(6) } }) },
  "conv depthwise 3×5 stride 2, pre/post padding": { inputs: img(4, 9, 11), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 4, kernel: [3, 5], groups: 4, stride: 2, prePadding: [1, 2], postPadding: [0, 1], weights: { kernel: w(4, 1, 3, 5), bias: w(4) } }) },
  "conv depthwise dilation 2, stride [1, 3]": { inputs: img(3, 10, 17), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 3, kernel: 3, groups: 3, dilation: 2, stride: [1, 3], padding: 2, weights: { kernel: w(3, 1, 3, 3), bias: w(3) } }) },
  "conv depthwise same_upper stride 2": { inputs: img(2, 8, 9), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 4, groups: 2, stride: 2, paddingMode: "same_upper", bias: false, weights: { kernel: w(2, 1, 4, 4) } }) },
  // Wide rows: the plane is computed in bands of output rows (a few here), each band's input found through a shifted padding.
  "conv depthwise in row bands: 3×3 dilation 2, stride 2, padding [2, 1]/[0, 2], 9 channels on 61×400": { inputs: img(9, 61, 400), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 9, kernel: 3, groups: 9, dilation: 2, stride: 2, prePadding: [2, 1], postPadding: [0, 2], weights: { kernel: w(9, 1, 3, 3), bias: w(9) } }).addActivation("relu", { type: "relu" }) },
  "conv depthwise in row bands + residual, stride 1 on 40×300": { inputs: img(8, 40, 300), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 8, kernel: 3, groups: 8, padding: 1, weights: { kernel: w(8, 1, 3, 3), bias: w(8) } }).addElementWise("add", x!, "sum") },
  "conv depthwise 3×3 stride 2, 19 channels on 23×37 (four-pixel runs, a group of 3)": { inputs: img(19, 23, 37), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 19, kernel: 3, groups: 19, stride: 2, padding: 1, weights: { kernel: w(19, 1, 3, 3), bias: w(19) } }).addActivation("relu6", { type: "clip", alpha: 0, beta: 6 }) },
  "conv depthwise 3×3 stride [2, 1], 10 channels on 14×21": { inputs: img(10, 14, 21), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 10, kernel: 3, groups: 10, stride: [2, 1], padding: 1, weights: { kernel: w(10, 1, 3, 3), bias: w(10) } }) },
  "conv depthwise 3-d": { inputs: { x: { shape: [1, 2, 4, 5, 5] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 3, groups: 2, padding: 1, weights: { kernel: w(2, 1, 3, 3, 3), bias: w(2) } }) },
  "conv depthwise + residual + relu (fused)": { inputs: img(3, 12, 12), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 3, kernel: 3, groups: 3, padding: 1, weights: { kernel: w(3, 1, 3, 3), bias: w(3) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "conv 3×3 stride 2 on 20×23 (panels span rows)": { inputs: img(3, 20, 23), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 7, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(7, 3, 3, 3), bias: w(7) } }) },
  "conv + residual + relu (fused epilogue)": { inputs: img(3, 13, 11), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 3, kernel: 3, padding: 1, weights: { kernel: w(3, 3, 3, 3), bias: w(3) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "conv + clip (relu6, fused epilogue)": { inputs: img(3, 13, 11), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 3, 1, 1), bias: w(8) } }).addActivation("clip", { type: "clip", alpha: -0.2, beta: 0.3 }) },
  "conv + sigmoid (fused epilogue)": { inputs: img(3, 13, 11), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 7, kernel: 3, stride: 2, weights: { kernel: w(7, 3, 3, 3), bias: w(7) } }).addActivation("sigmoid", { type: "sigmoid" }) },
  "conv dilation 2, no padding (panel copies without bounds)": { inputs: img(3, 11, 10), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 5, kernel: 3, dilation: 2, weights: { kernel: w(5, 3, 3, 3), bias: w(5) } }) },
  "conv 3-d, no padding": { inputs: { x: { shape: [1, 2, 5, 6, 7] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 3, kernel: [2, 3, 2], weights: { kernel: w(3, 2, 2, 3, 2), bias: w(3) } }) },
  "conv depthwise + clip [0, 6] (stored clamped)": { inputs: img(5, 9, 10), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 5, kernel: 3, groups: 5, padding: 1, weights: { kernel: w(5, 1, 3, 3).map((v) => v * 8), bias: w(5) } }).addActivation("relu6", { type: "clip", alpha: 0, beta: 6 }) },
  "conv depthwise 7×7 rows + relu": { inputs: img(4, 7, 7), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 4, kernel: 3, groups: 4, padding: 1, weights: { kernel: w(4, 1, 3, 3), bias: w(4) } }).addActivation("relu", { type: "relu" }) },
  "conv groups 2": { inputs: img(4), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 4, kernel: 3, groups: 2, weights: { kernel: w(4, 2, 3, 3), bias: w(4) } }) },
  "conv pre/post padding": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 3, prePadding: [1, 0], postPadding: [2, 1], weights: { kernel: w(2, 3, 3, 3), bias: w(2) } }) },
  "conv same_upper stride 2": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 4, stride: 2, paddingMode: "same_upper", weights: { kernel: w(2, 3, 4, 4), bias: w(2) } }) },
  "conv same_lower": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 2, paddingMode: "same_lower", weights: { kernel: w(2, 3, 2, 2), bias: w(2) } }) },
  "conv 1-d": { inputs: { x: { shape: [2, 3, 9] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 2, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(2, 3, 3), bias: w(2) } }) },
  "conv 3-d": { inputs: { x: { shape: [1, 2, 5, 5, 5] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 3, kernel: 3, padding: 1, weights: { kernel: w(3, 2, 3, 3, 3), bias: w(3) } }) },
  "conv 1×1": { inputs: img(), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 5, kernel: 1, weights: { kernel: w(5, 3, 1, 1), bias: w(5) } }) },
  // 169 pixels: a wide GEMM reading 10 whole panels of the input in place, then packing the partial 11th.
  "conv 1×1 on 13×13 (panels read in place)": { inputs: img(20, 13, 13), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 14, kernel: 1, weights: { kernel: w(14, 20, 1, 1), bias: w(14) } }).addActivation("r", { type: "relu" }) },
  "conv 1×1, 300 → 20 on 12×12 at batch 1 (split between threads: the whole sum in one K block)": { inputs: { x: { shape: [1, 300, 12, 12] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 20, kernel: 1, weights: { kernel: w(20, 300, 1, 1), bias: w(20) } }).addActivation("relu6", { type: "clip", alpha: 0, beta: 6 }) },
  "conv 1×1, 1100 → 8 on 12×12 at batch 1 (split between threads: two K blocks of 550)": { inputs: { x: { shape: [1, 1100, 12, 12] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 1100, 1, 1), bias: w(8) } }) },
  "conv 1×1 + clip, 16 → 24 on 23×25 at batch 1 (a short sum split between threads in long runs of panel groups)": { inputs: { x: { shape: [1, 16, 23, 25] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 24, kernel: 1, weights: { kernel: w(24, 16, 1, 1), bias: w(24) } }).addActivation("relu6", { type: "clip", alpha: 0, beta: 6 }) },
  "matmul wide (panels read in place)": { inputs: { a: { shape: [1, 9, 40] }, b: { shape: [1, 40, 170] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!) },
  "deconv stride 2": { inputs: img(), define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, weights: { kernel: w(3, 2, 3, 3), bias: w(2) } }) },
  "deconv 2×2 stride 2 (windows tiling the output), 7×5": { inputs: img(3, 7, 5), define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 4, kernel: 2, stride: 2, weights: { kernel: w(3, 4, 2, 2), bias: w(4) } }) },
  "deconv 3×2 stride 3×2, groups 2 (windows tiling the output)": { inputs: img(4, 5, 6), define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 6, kernel: [3, 2], stride: [3, 2], groups: 2, weights: { kernel: w(4, 3, 3, 2), bias: w(6) } }) },
  "deconv groups, dilation": { inputs: img(4), define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 2, kernel: 2, dilation: 2, groups: 2, weights: { kernel: w(4, 1, 2, 2), bias: w(2) } }) },
  "max pool": { inputs: img(), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }) },
  "max pool ceil, padding": { inputs: img(), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 3, stride: 2, padding: 1, ceilMode: true }) },
  "avg pool count_include_pad": { inputs: img(), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 3, stride: 2, padding: 1 }) },
  "avg pool exclude pad": { inputs: img(), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 3, stride: 2, padding: 1, countIncludePad: false }) },
  "avg pool ceil exclude pad": { inputs: img(3, 6, 6), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }) },
  "avg pool global over 40×37 (rows summed as vectors)": { inputs: img(3, 40, 37), define: (_, { x }) => x!.addPooling("p", { type: "average", window: [40, 37] }) },
  "avg pool 18×20 stride 7 pad 3 exclude pad on 33×47 (windows cut by the padding)": { inputs: img(2, 33, 47), define: (_, { x }) => x!.addPooling("p", { type: "average", window: [18, 20], stride: 7, padding: 3, countIncludePad: false }) },
  "avg pool 1-d window 5 stride 2 pad 2 on 2×3×50": { inputs: { x: { shape: [2, 3, 50] } }, define: (_, { x }) => x!.addPooling("p", { type: "average", window: [5], stride: [2], padding: [2] }) },
  "max pool, TensorRT's round-up where it equals PyTorch's ceil": { inputs: img(3, 6, 6), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 3, stride: 2, paddingMode: "explicit_round_up" }) },
  "max pool 3×3 stride 2 pad 1 on 20×37 (8 outputs per vector, then the tail)": { inputs: img(3, 20, 37), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 3, stride: 2, padding: 1 }) },
  "max pool 2×2 on 9×31 (rows of 15 outputs: 8, 4, then 3 one by one; the last row and column unused)": { inputs: img(3, 9, 31), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }) },
  "max pool 4×5 stride 2 on 11×40": { inputs: img(2, 11, 40), define: (_, { x }) => x!.addPooling("p", { type: "max", window: [4, 5], stride: 2 }) },
  "max pool same_upper": { inputs: img(), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 2, paddingMode: "same_upper" }) },
  "max pool 1-d, 3-d": { inputs: { x: { shape: [1, 2, 4, 4, 4] } }, define: (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }) },
  "fully connected": { inputs: img(2, 3, 3), define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 5, weights: { kernel: w(5, 18), bias: w(5) } }) },
  // Weights that are exact 16-bit floats: batch 1 and 2 read them as 16-bit (F16C), from 147 inputs (a tail after
  // 16-wide steps) to 70 outputs (a tail after 4-row blocks).
  "fully connected, bfloat16-exact weights, batch 1": { inputs: { x: { shape: [1, 3, 7, 7] } }, define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 70, weights: { kernel: w(70, 147).map(roundToBfloat16), bias: w(70) } }) },
  "fully connected, float16-exact weights, batch 2": { inputs: img(3, 7, 7), define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 70, weights: { kernel: w(70, 147).map(roundToFloat16), bias: w(70) } }).addActivation("relu", { type: "relu" }) },
  // Batches up to 16 stream the weights once for every four rows (dotTile): 7 rows as 4 + 2 + 1, each its own
  // column grouping (1, 2 and 4 columns) and tail; 16 as four groups of 4; 17 takes the packed GEMM.
  "linear on the last axis of [2, 5, 6] (nn.Linear)": { inputs: { x: { shape: [2, 5, 6] } }, define: (_, { x }, w) => x!.addLinear("fc", { outFeatures: 4, weights: { kernel: w(4, 6), bias: w(4) } }).addActivation("r", { type: "relu" }) },
  "fully connected, batch 7": { inputs: { x: { shape: [7, 3, 7, 7] } }, define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 70, weights: { kernel: w(70, 147), bias: w(70) } }) },
  "fully connected, batch 16": { inputs: { x: { shape: [16, 3, 7, 7] } }, define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 70, weights: { kernel: w(70, 147), bias: w(70) } }) },
  "fully connected, batch 17": { inputs: { x: { shape: [17, 3, 7, 7] } }, define: (_, { x }, w) => x!.addFullyConnected("fc", { outFeatures: 70, weights: { kernel: w(70, 147), bias: w(70) } }) },
  "scale uniform": { inputs: img(), define: (_, { x }, w) => x!.addScale("s", { mode: "uniform", scale: w(1), shift: w(1) }) },
  "scale channel with power": { inputs: img(), define: (_, { x }, w) => x!.addActivation("r", { type: "relu" }).addScale("s", { mode: "channel", scale: w(3), shift: Float32Array.from([1, 1, 1]), power: Float32Array.from([2, 1, 3]) }) },
  "scale elementwise": { inputs: img(2, 2, 2), define: (_, { x }, w) => x!.addScale("s", { mode: "elementwise", shift: w(8) }) },
  "batch norm": { inputs: img(), define: (_, { x }, w) => x!.addBatchNorm("bn", { weights: { weight: w(3), bias: w(3), mean: w(3), variance: Float32Array.from([0.5, 1, 2]) } }) },
  "softmax axis 1": { inputs: img(), define: (_, { x }) => x!.addSoftMax("s", { axis: 1 }) },
  "softmax axis -1": { inputs: img(), define: (_, { x }) => x!.addSoftMax("s", { axis: -1 }) },
  "log softmax": { inputs: img(), define: (_, { x }) => x!.addSoftMax("s", { axis: 0 }).addUnary("l", "log") },
  "concat axis 1": { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [2, 1, 4] } }, define: (net, t) => net.addConcatenation("c", [t.a!, t.b!, t.a!], { axis: 1 }) },
  "concat axis -1": { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [2, 3, 2] } }, define: (net, t) => net.addConcatenation("c", [t.a!, t.b!], { axis: -1 }) },
  "shuffle transpose, reshape 0/-1, transpose": { inputs: img(2, 3, 4), define: (_, { x }) => x!.addShuffle("s", { firstTranspose: [0, 2, 3, 1], reshape: [0, -1, 2], secondTranspose: [0, 2, 1] }) },
  "slice with strides": { inputs: img(), define: (_, { x }) => x!.addSlice("s", { start: [1, 0, 1, 2], size: [1, 2, 3, 2], stride: [1, 2, 2, 2] }) },
  "slice of some axes, negative start, to the end": { inputs: img(4, 6, 7), define: (_, { x }) => x!.addSlice("s", { axes: [1, -1], start: [1, -5], size: [2, -1], stride: [1, 2] }) },
  "slice PyTorch end, from the end": { inputs: img(4, 6, 7), define: (_, { x }) => x!.addSlice("s", { axes: 2, start: 1, end: -2 }) },
  "split and chunk, static and dynamic": {
    inputs: { x: { shape: [2, 7, 3, 4], dynamic: [0, 1] }, y: { shape: [2, 6, 5] } },
    define: (_, { x, y }) => [...x!.addSplit("split", { axis: 1, sizes: [2, -1, 3] }), ...x!.addSplit("split_end", { axis: 1, sizes: [1, -1] }), ...y!.addChunk("chunk", { chunks: 4, axis: 1 })],
  },
  "reshape by other tensors' dimensions": {
    inputs: { x: { shape: [6, 5], dynamic: [0] }, t: { shape: [2, 3, 5], dynamic: [0, 1] } },
    define: (_, { x, t }) => x!.addShuffle("unflatten", { reshape: [t!.dim(0), t!.dim(1), -1] }).addShuffle("swap", { reshape: [t!.dim(1), t!.dim(0), 5] }),
  },
  "flatten, squeeze, unsqueeze over dynamic dimensions": {
    inputs: { x: { shape: [2, 3, 1, 4, 5], dynamic: [0, 3] } },
    define: (_, { x }) => [
      x!.addFlatten("flatten", { startDim: 1, endDim: 2 }),
      x!.addFlatten("flatten_all"),
      x!.addSqueeze("squeeze", { axes: 2 }).addUnsqueeze("unsqueeze", { axes: [0, -1] }),
      x!.addFlatten("flatten_dynamic", { startDim: 2, endDim: 3 }),
    ],
  },
  "expand to static and dynamic sizes": {
    inputs: { c: { shape: [1, 1, 4] }, x: { shape: [3, 5, 4], dynamic: [0, 1] }, r: { shape: [2, 1, 3], dynamic: [0] } },
    define: (_, { c, x, r }) => [c!.addExpand("cls", { shape: [x!.dim(0), -1, -1] }), c!.addExpand("tokens", { shape: [x!.dim(0), x!.dim(1), 4] }),
      r!.addExpand("rows", { shape: [2, -1, 5, 3] }), c!.addExpand("static", { shape: [2, 3, -1] })],
  },
  "slice over dynamic dimensions": {
    inputs: { x: { shape: [3, 5, 6, 7], dynamic: [0, 2, 3] } },
    define: (_, { x }) => [
      x!.addSlice("to_end", { axes: [2, 3], start: [2, 1], size: -1, stride: [1, 2] }),
      x!.addSlice("from_end", { axes: [0, 3], start: [-2, -3], size: [2, 2] }),
      x!.addSlice("to_end_minus_one", { axes: 2, start: 1, end: -1, stride: 2 }),
    ],
  },
  "matmul": { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [2, 4, 5] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!) },
  "matmul transposes": { inputs: { a: { shape: [2, 4, 3] }, b: { shape: [2, 5, 4] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opA: "transpose", opB: "transpose" }) },
  "matmul broadcast batch": { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [1, 4, 2] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!) },
  "matmul one B for 3 × 70 rows, transposed (one GEMM)": { inputs: { a: { shape: [3, 70, 24] }, b: { shape: [1, 20, 24] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opB: "transpose" }) },
  "matmul 4 heads of 200 × 200 × 64 (a product per thread)": { inputs: { a: { shape: [1, 4, 200, 64] }, b: { shape: [1, 4, 200, 64] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opB: "transpose" }) },
  "matmul vector": { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [2, 4] } }, define: (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opB: "vector" }) },
  "reduce sum keepDims": { inputs: img(), define: (_, { x }) => x!.addReduce("r", { op: "sum", axes: [1, 3], keepDims: true }) },
  "reduce sum and max over channels of 2×40×33×35 (accumulator rows in chunks across threads)": { inputs: img(40, 33, 35), define: (_, { x }) => [x!.addReduce("r", { op: "sum", axes: [1] }), x!.addReduce("m", { op: "max", axes: [1], keepDims: true })] },
  "reduce avg": { inputs: img(), define: (_, { x }) => x!.addReduce("r", { op: "avg", axes: [2, 3] }) },
  "reduce max, min, prod": { inputs: img(2, 2, 2), define: (_, { x }) => [x!.addReduce("r1", { op: "max", axes: [0] }), x!.addReduce("r2", { op: "min", axes: [-1] }), x!.addReduce("r3", { op: "prod", axes: [1], keepDims: true })] },
  "resize nearest ×2": { inputs: img(), define: (_, { x }) => x!.addResize("r", { scales: [1, 1, 2, 2] }) },
  "resize nearest ×2 on 5×19 (eight columns doubled at a time, then the tail)": { inputs: img(3, 5, 19), define: (_, { x }) => x!.addResize("r", { scales: [1, 1, 2, 2] }) },
  "resize nearest over channels, rows repeated, last axis shrunk": { inputs: img(3, 5, 8), define: (_, { x }) => x!.addResize("r", { outputShape: [-1, 5, 11, 3] }) },
  "resize nearest to size": { inputs: img(), define: (_, { x }) => x!.addResize("r", { outputShape: [-1, -1, 10, 5] }) },
  "resize nearest round_prefer_ceil half_pixel": { inputs: img(), define: (_, { x }) => x!.addResize("r", { outputShape: [-1, -1, 12, 9], coordinateTransformation: "half_pixel", nearestRounding: "round_prefer_ceil" }) },
  "resize linear half_pixel": { inputs: img(), define: (_, { x }) => x!.addResize("r", { mode: "linear", scales: [1, 1, 2, 2] }) },
  "resize linear align_corners": { inputs: img(), define: (_, { x }) => x!.addResize("r", { mode: "linear", outputShape: [-1, -1, 11, 4], coordinateTransformation: "align_corners" }) },
  "resize linear asymmetric": { inputs: img(), define: (_, { x }) => x!.addResize("r", { mode: "linear", scales: [1, 1, 1.5, 2], coordinateTransformation: "asymmetric" }) },
  "resize cubic": { inputs: img(), define: (_, { x }) => x!.addResize("r", { mode: "cubic", scales: [1, 1, 2, 2], coordinateTransformation: "align_corners" }) },
  "padding value": { inputs: img(), define: (_, { x }) => x!.addPadding("p", { pre: [1, 2], post: [0, 3], value: 0.5 }) },
  "padding rows in parallel: channels and rows padded, columns cropped then padded, 2×9×70×130": { inputs: img(9, 70, 130), define: (_, { x }) => x!.addPadding("p", { pre: [1, 2, -3], post: [-2, 1, 4], value: -0.25 }) },
  "padding crop": { inputs: img(), define: (_, { x }) => x!.addPadding("p", { pre: [-1, 0, -1], post: [0, -2, 1] }) },
  "constant + cast": { inputs: img(), define: (net, { x }, w) => x!.addElementWise("e", net.addConstant("k", { shape: [1, 3, 1, 1], weights: w(3) }), "sum").addCast("c", { to: "int32" }) },
  "gather axis 1, negative index": { inputs: img(), define: (net, { x }) => x!.addGather("g", net.addConstant("i", { shape: [2, 2], weights: Float32Array.from([0, 2, -1, 1]), dtype: "int32" }), { axis: 1 }) },
  "topK max and min": { inputs: { x: { shape: [2, 3, 8] } }, define: (_, { x }) => { const a = x!.addTopK("t", { op: "max", k: 3 }); const b = x!.addTopK("u", { op: "min", k: 2, axis: 1 }); return [a.values, a.indices, b.values, b.indices]; } },
  "layer norm": { inputs: img(), define: (_, { x }, w) => x!.addNormalization("n", { type: "layer", normalizedShape: [7, 7], weights: { scale: w(7, 7), bias: w(7, 7) } }) },
  "layer norm without affine": { inputs: img(), define: (_, { x }) => x!.addNormalization("n", { type: "layer", affine: false }) },
  "instance norm": { inputs: img(), define: (_, { x }, w) => x!.addNormalization("n", { type: "instance", weights: { scale: w(3), bias: w(3) } }) },
  "instance norm without affine, 2×5×17×19": { inputs: img(5, 17, 19), define: (_, { x }) => x!.addNormalization("n", { type: "instance", affine: false }) },
  "group norm, 4 groups of 3 channels on 2×12×9×11": { inputs: img(12, 9, 11), define: (_, { x }, w) => x!.addNormalization("n", { type: "group", groups: 4, weights: { scale: w(12), bias: w(12) } }) },
  "group norm": { inputs: img(4), define: (_, { x }, w) => x!.addNormalization("n", { type: "group", groups: 2, weights: { scale: w(4), bias: w(4) } }) },
  "select with broadcasting": { inputs: { c: { shape: [2, 1], dtype: "bool" }, a: { shape: [2, 3] }, b: { shape: [3] } }, define: (net, t) => net.addSelect("s", t.c!, t.a!, t.b!) },
  "prelu per channel": { inputs: img(), define: (_, { x }, w) => x!.addParametricReLU("p", { numParameters: 3, weights: { slope: w(3) } }) },
  "prelu shared": { inputs: img(), define: (_, { x }, w) => x!.addParametricReLU("p", { weights: { slope: w(1) } }) },
  "lrn window 5 (β 0.75), 3 (β 0.5) and 7 (β 0.6) on 2×12×9×11, planes in parallel": { inputs: img(12, 9, 11), define: (_, { x }) => [
    x!.addLRN("a", { window: 5, alpha: 1e-2, beta: 0.75, k: 2 }), x!.addLRN("b", { window: 3, alpha: 0.3, beta: 0.5, k: 1 }), x!.addLRN("c", { window: 7, alpha: 0.2, beta: 0.6, k: 1.5 })] },
  "lrn": { inputs: img(5), define: (_, { x }) => x!.addLRN("l", { window: 3, alpha: 0.5, beta: 0.75, k: 2 }) },
  "quantize / dequantize per tensor": { inputs: img(), define: (_, { x }) => x!.addQuantize("q", { scale: Float32Array.from([0.02]) }).addDequantize("dq", { scale: Float32Array.from([0.02]) }) },
  "quantize / dequantize per channel": { inputs: img(), define: (_, { x }) => x!.addQuantize("q", { scale: Float32Array.from([0.01, 0.02, 0.03]), axis: 1 }).addDequantize("dq", { scale: Float32Array.from([0.01, 0.02, 0.03]), axis: 1 }) },
  "identity": { inputs: img(), define: (_, { x }) => x!.addIdentity("i") },
  // Variants the TensorRT lowering takes apart (each a defect of its first version, reproduced through the reference).
  "deconv output padding beyond the padding": { inputs: img(), define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 2, kernel: 3, stride: 2, outputPadding: 1, weights: { kernel: w(3, 2, 3, 3), bias: w(2) } }) },
  "deconv 1-d": { inputs: { x: { shape: [2, 3, 6] } }, define: (_, { x }, w) => x!.addDeconvolution("d", { outChannels: 2, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(3, 2, 3), bias: w(2) } }) },
  "max pool 1-d": { inputs: { x: { shape: [2, 3, 9] } }, define: (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }) },
  "batch norm of a rank-3 tensor": { inputs: { x: { shape: [2, 3, 5] } }, define: (_, { x }, w) => x!.addBatchNorm("bn", { weights: { weight: w(3), bias: w(3), mean: w(3), variance: Float32Array.from([0.5, 1, 2]) } }) },
  "unary neg and abs of int32": { inputs: { x: { shape: [2, 5], dtype: "int32", values: [3, -2, 0, 7, -9, 1, -1, 5, -5, 2] } }, define: (_, { x }) => [x!.addUnary("n", "neg"), x!.addUnary("a", "abs")] },
  "padding value of int32": { inputs: { x: { shape: [1, 2, 3, 3], dtype: "int32" } }, define: (_, { x }) => x!.addPadding("p", { pre: [1, 0], post: [0, 2], value: 4 }) },
  // Fused by the builder into one mish activation, itself fused into the convolution's epilogue.
  // Fused by the builder into one silu activation, itself fused into the convolution's epilogue.
  "conv → sigmoid × input (SiLU written out, fused)": { inputs: img(3, 9, 9), define: (_, { x }, w) => {
    const c = x!.addConvolution("c", { outChannels: 5, kernel: 3, padding: 1, weights: { kernel: w(5, 3, 3, 3).map((v) => v * 8), bias: w(5) } });
    return c.addActivation("s", { type: "sigmoid" }).addElementWise("silu", c, "prod");
  } },
  "dense → hardswish, conv → silu, conv → mish (fused epilogues)": { inputs: img(3, 9, 9), define: (_, { x }, w) => {
    const conv = (name: string) => x!.addConvolution(name, { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: w(4, 3, 3, 3).map((v) => v * 8), bias: w(4) } });
    return [conv("a").addActivation("silu", { type: "silu" }), conv("b").addActivation("mish", { type: "mish" }),
      x!.addFullyConnected("d", { outFeatures: 9, weights: { kernel: w(9, 243).map((v) => v * 8), bias: w(9) } }).addActivation("hardswish", { type: "hardswish" })];
  } },
  "conv → mish (softplus → tanh → product, fused)": { inputs: img(3, 9, 9), define: (_, { x }, w) => {
    const c = x!.addConvolution("c", { outChannels: 5, kernel: 3, padding: 1, weights: { kernel: w(5, 3, 3, 3).map((v) => v * 8), bias: w(5) } });
    return c.addElementWise("mish", c.addActivation("sp", { type: "softplus" }).addActivation("th", { type: "tanh" }), "prod");
  } },
  // Q → DQ → conv with the kernel on INT8 grids: the builder fuses them into an INT8 convolution (integer sums).
  "INT8 conv 3×3 pad 1 (quantize → dequantize → conv, fused), 5 → 7 channels": { inputs: img(5, 9, 11), define: (_, { x }, w) => x!.addQuantize("q", { scale: Float32Array.from([0.01]) }).addDequantize("dq", { scale: Float32Array.from([0.01]) })
    .addConvolution("c", { outChannels: 7, kernel: 3, padding: 1, weights: { kernel: onInt8Grid(w(7, 5, 3, 3), 7), bias: w(7) } }) },
  "INT8 dense (quantize → dequantize → fully connected, fused), batch 2": { inputs: img(3, 7, 7), define: (_, { x }, w) => x!.addQuantize("q", { scale: Float32Array.from([0.01]) }).addDequantize("dq", { scale: Float32Array.from([0.01]) })
    .addFullyConnected("fc", { outFeatures: 9, weights: { kernel: onInt8Grid(w(9, 147), 9), bias: w(9) } }) },
  "INT8 conv + residual + relu on a ReLU'd input (fused)": { inputs: img(16, 12, 13), define: (_, { x }, w) => {
    const r = x!.addActivation("pre", { type: "relu" });
    return r.addQuantize("q", { scale: Float32Array.from([0.008]) }).addDequantize("dq", { scale: Float32Array.from([0.008]) })
      .addConvolution("c", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: onInt8Grid(w(16, 16, 3, 3), 16), bias: w(16) } }).addElementWise("add", r, "sum").addActivation("relu", { type: "relu" });
  } },
};
// The 3×3 depthwise loop takes a row's output pixels in near-equal runs of up to eight (one code path per run
// length and stride): every run length at both strides, output widths 1 to 17.
for (const stride of [1, 2])
  for (let width = 1; width <= 17; width++)
    layerCases[`conv depthwise 3×3 stride ${stride}, output width ${width}`] = { inputs: img(9, 3, width * stride), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 9, kernel: 3, groups: 9, stride, padding: 1, weights: { kernel: w(9, 1, 3, 3), bias: w(9) } }) };
for (const type of ACTIVATION_TYPES as ActivationType[]) {
  layerCases[`activation ${type}`] = { inputs: { x: { shape: [2, 3, 5] } }, define: (_, { x }) => x!.addActivation("a", { type }) };
}
layerCases["activation softplus α=2 β=0.5"] = { inputs: { x: { shape: [2, 6] } }, define: (_, { x }) => x!.addActivation("a", { type: "softplus", alpha: 2, beta: 0.5 }) };
layerCases["activation leaky_relu α=0.2, elu α=0.5"] = { inputs: { x: { shape: [2, 6] } }, define: (_, { x }) => [x!.addActivation("a", { type: "leaky_relu", alpha: 0.2 }), x!.addActivation("b", { type: "elu", alpha: 0.5 })] };
const domain: Partial<Record<UnaryOp, (v: number) => number>> = { log: (v) => Math.abs(v) + 0.1, sqrt: Math.abs, acosh: (v) => Math.abs(v) + 1.1, recip: (v) => (v >= 0 ? v + 0.5 : v - 0.5), tan: (v) => v * 1.2 };
for (const op of UNARY_OPS.filter((o) => o !== "not")) {
  const values = Array.from({ length: 12 }, (_, i) => (domain[op] ?? ((v: number) => v))(Math.sin(i * 1.7) * 0.95));
  layerCases[`unary ${op}`] = { inputs: { x: { shape: [3, 4], values } }, define: (_, { x }) => x!.addUnary("u", op) };
}
layerCases["unary not"] = { inputs: { x: { shape: [4], dtype: "bool" } }, define: (_, { x }) => x!.addUnary("u", "not") };
for (const op of ELEMENT_WISE_OPS as ElementWiseOp[]) {
  const logical = ["and", "or", "xor"].includes(op);
  const a = { shape: [2, 3, 4], dtype: logical ? ("bool" as const) : undefined, values: op === "pow" ? Array.from({ length: 24 }, (_, i) => 0.5 + (i % 5) * 0.3) : undefined };
  layerCases[`element-wise ${op} broadcast`] = { inputs: { a, b: { shape: [3, 1], dtype: logical ? "bool" : undefined, values: op === "div" || op === "floor_div" ? [0.7, -1.3, 0.4] : undefined } }, define: (_, t) => t.a!.addElementWise("e", t.b!, op) };
}

