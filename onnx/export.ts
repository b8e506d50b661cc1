import { writeFile } from "node:fs/promises";
import type { DataType } from "../dsl/dtype.js";
import type { LayerIR, NetworkIR, TensorIR } from "../dsl/ir.js";
import type { ElementWiseOp } from "../layers/element-wise.js";
import { FROM_INPUT } from "../layers/dims.js";
import type { LayerKind } from "../layers/kinds.js";
import type { ReduceOp } from "../layers/reduce.js";
import type { UnaryOp } from "../layers/unary.js";
import { windowOutput, type WindowGeometry } from "../layers/window.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32, toInt64, type WeightTensor } from "../weights/tensor.js";
import { OnnxExportError } from "./errors.js";
import { GraphBuilder } from "./graph-builder.js";
import { encodeModel, ONNX_DATA_TYPE, type ValueInfoMessage } from "./protobuf.js";

/** The opset exported; every mapping below is checked against it. */
export const ONNX_OPSET = 17;

const ONNX_TYPES: Readonly<Record<DataType, number>> = {
  float32: ONNX_DATA_TYPE.FLOAT, float16: ONNX_DATA_TYPE.FLOAT16, bfloat16: ONNX_DATA_TYPE.BFLOAT16,
  int8: ONNX_DATA_TYPE.INT8, uint8: ONNX_DATA_TYPE.UINT8, int32: ONNX_DATA_TYPE.INT32,
  int64: ONNX_DATA_TYPE.INT64, bool: ONNX_DATA_TYPE.BOOL,
};

const f = (v: number) => ({ float: v });

/** What an exporter needs: the graph under construction, the IR's tensors, the layer's weights. */
class OnnxContext {
  constructor(readonly g: GraphBuilder, private readonly ir: NetworkIR, private readonly weights: WeightSource, private readonly exported: Set<string>) {}

  refuse(layer: LayerIR, what: string): never {
    throw new OnnxExportError(`${layer.name} (${layer.kind}): ${what} has no faithful ONNX opset ${ONNX_OPSET} form, so the network is not exported`, { layer: layer.name, callSite: layer.callSite });
  }

  tensor(name: string): TensorIR {
    return this.ir.inputs.find((t) => t.name === name) ?? this.ir.tensors.find((t) => t.name === name)!;
  }

  /** The layer's weight as an initializer under its PyTorch name (each weight once), reshaped if asked. */
  weight(layer: LayerIR, role: string, shape?: readonly number[]): string {
    const binding = layer.weights[role]!;
    const values = this.values(layer, role);
    if (!this.exported.has(binding.name)) {
      this.g.floats(binding.name, binding.shape, values);
      this.exported.add(binding.name);
    }
    if (!shape) return binding.name;
    const reshaped = this.g.fresh(`${binding.name}.reshaped`);
    this.g.node("Reshape", [binding.name, this.g.int64s(this.g.fresh(`${reshaped}.shape`), [shape.length], shape)], [reshaped], reshaped);
    return reshaped;
  }

  /** A weight as stored; a missing one is an OnnxExportError. */
  stored(layer: LayerIR, role: string): WeightTensor {
    const binding = layer.weights[role]!;
    const found = this.weights.get(binding.name);
    if (!found) throw new OnnxExportError(`${layer.name}: weight '${binding.name}' is missing from the weight source`, { layer: layer.name, callSite: layer.callSite });
    return found;
  }

  /** A weight's values, for layers whose ONNX form takes them as attributes or typed initializers. */
  values(layer: LayerIR, role: string): Float32Array {
    return toFloat32(this.stored(layer, role));
  }

  scalar(name: string, value: number): string {
    return this.g.floats(this.g.fresh(name), [], [value]);
  }

  /** `out = op(inputs)` as a node named after the layer (or a part of it). */
  op(type: string, inputs: readonly string[], output: string, name: string, attrs: Parameters<GraphBuilder["node"]>[4] = {}): string {
    this.g.node(type, [...inputs], [output], name, attrs);
    return output;
  }

  /**
   * Sizes as a 1-d int64 tensor: the static entries as constants, each FROM_INPUT entry its input's dimension at run
   * time (Shape with start and end, opset 15), joined by a Concat where there are any.
   */
  sizes(layer: LayerIR, part: string, sizes: readonly number[], dimsFrom: readonly number[] | null): string {
    const n = layer.name;
    if (!sizes.includes(FROM_INPUT)) return this.g.int64s(this.part(n, part), [sizes.length], sizes);
    const pieces: string[] = [];
    let run: number[] = [], next = 0;
    const flush = () => { if (run.length) pieces.push(this.g.int64s(this.part(n, `${part}.static`), [run.length], run)); run = []; };
    for (const s of sizes) {
      if (s !== FROM_INPUT) { run.push(s); continue; }
      flush();
      const [input, axis] = [dimsFrom![next]!, dimsFrom![next + 1]!];
      next += 2;
      const dim = this.part(n, `${part}.dim`);
      pieces.push(this.op("Shape", [layer.inputs[input]!], dim, dim, { start: axis, end: axis + 1 }));
    }
    flush();
    const joined = this.part(n, part);
    return this.op("Concat", pieces, joined, joined, { axis: 0 });
  }

  /** A fresh name for a part of layer `n`'s composition. */
  part(n: string, part: string): string {
    return this.g.fresh(`${n}.${part}`);
  }
}

export type Exporter<K extends LayerKind> = (c: OnnxContext, layer: LayerIR<K>) => void;

/**
 * How ONNX's ceil_mode gives a windowed layer's output extents: 0 (floor) or 1 (PyTorch's ceil: a last window in the
 * trailing padding dropped), undefined where neither does (TensorRT's round-up keeping that window).
 */
function onnxCeilMode(c: OnnxContext, layer: LayerIR<"convolution" | "deconvolution" | "pooling">): 0 | 1 | undefined {
  const spatial = c.tensor(layer.inputs[0]!).shape.slice(2), out = c.tensor(layer.outputs[0]!).shape.slice(2);
  if (spatial.some((d) => d < 0)) return layer.params.ceilMode ? 1 : layer.params.paddingMode === "explicit_round_up" ? undefined : 0;
  const extents = (g: WindowGeometry) => spatial.map((size, i) => windowOutput(size, g, i)).join();
  const explicit = { ...layer.params, paddingMode: "explicit_round_down" as const };
  if (extents({ ...explicit, ceilMode: false }) === out.join()) return 0;
  return extents({ ...explicit, ceilMode: true }) === out.join() ? 1 : undefined;
}

function windowLayer(c: OnnxContext, layer: LayerIR<"convolution" | "deconvolution">): void {
  const p = layer.params;
  const mode = p.paddingMode;
  if (layer.kind === "convolution" && mode !== "same_upper" && mode !== "same_lower" && onnxCeilMode(c, layer) !== 0) c.refuse(layer, "a rounded-up output size");
  const attrs: Record<string, readonly number[] | number | string> = { kernel_shape: p.kernel, strides: p.stride, dilations: p.dilation, group: p.groups };
  if (mode === "same_upper" || mode === "same_lower") attrs.auto_pad = mode.toUpperCase();
  else attrs.pads = [...p.prePadding, ...p.postPadding];
  if (layer.kind === "deconvolution") attrs.output_padding = layer.params.outputPadding;
  const inputs = [layer.inputs[0]!, c.weight(layer, "kernel"), ...(layer.weights.bias ? [c.weight(layer, "bias")] : [])];
  c.op(layer.kind === "convolution" ? "Conv" : "ConvTranspose", inputs, layer.outputs[0]!, layer.name, attrs);
}

const ELEMENT_WISE: Readonly<Record<Exclude<ElementWiseOp, "floor_div">, string>> = {
  sum: "Add", prod: "Mul", max: "Max", min: "Min", sub: "Sub", div: "Div", pow: "Pow", and: "And", or: "Or", xor: "Xor", equal: "Equal", greater: "Greater", less: "Less",
};
const UNARY: Readonly<Record<UnaryOp, string>> = {
  exp: "Exp", log: "Log", sqrt: "Sqrt", recip: "Reciprocal", abs: "Abs", neg: "Neg", sin: "Sin", cos: "Cos", tan: "Tan", sinh: "Sinh", cosh: "Cosh", asin: "Asin",
  acos: "Acos", atan: "Atan", asinh: "Asinh", acosh: "Acosh", atanh: "Atanh", ceil: "Ceil", floor: "Floor", erf: "Erf", not: "Not", sign: "Sign", round: "Round",
  isinf: "IsInf", isnan: "IsNaN",
};
const REDUCE: Readonly<Record<ReduceOp, string>> = { sum: "ReduceSum", prod: "ReduceProd", max: "ReduceMax", min: "ReduceMin", avg: "ReduceMean" };

/** One exporter per layer kind: a kind missing here does not compile. */
export const ONNX_EXPORTERS: { readonly [K in LayerKind]: Exporter<K> } = {
  convolution: windowLayer,
  deconvolution: windowLayer,
  pooling(c, layer) {
    const { type, paddingMode: mode, countIncludePad } = layer.params;
    if (type === "max_average_blend") c.refuse(layer, "max/average blending");
    const attrs: Record<string, readonly number[] | number | string> = { kernel_shape: layer.params.kernel, strides: layer.params.stride };
    if (mode === "same_upper" || mode === "same_lower") attrs.auto_pad = mode.toUpperCase();
    else {
      const ceil = onnxCeilMode(c, layer) ?? c.refuse(layer, "TensorRT's round-up output size (a last window starting in the padding, which ONNX's ceil_mode drops)");
      // PyTorch clips a ceil-mode window to the padded input before counting; onnxruntime counts the whole window.
      if (ceil && type === "average" && countIncludePad) c.refuse(layer, "ceil-mode average pooling that counts padding (PyTorch's divisor)");
      attrs.pads = [...layer.params.prePadding, ...layer.params.postPadding];
      attrs.ceil_mode = ceil;
    }
    if (type === "average") attrs.count_include_pad = countIncludePad ? 1 : 0;
    c.op(type === "max" ? "MaxPool" : "AveragePool", [layer.inputs[0]!], layer.outputs[0]!, layer.name, attrs);
  },
  fullyConnected(c, layer) {
    const n = layer.name;
    const flat = c.op("Flatten", [layer.inputs[0]!], c.part(n, "flatten"), `${n}.flatten`, { axis: 1 });
    c.op("Gemm", [flat, c.weight(layer, "kernel"), ...(layer.weights.bias ? [c.weight(layer, "bias")] : [])], layer.outputs[0]!, n, { transB: 1 });
  },
  activation: exportActivation,
  elementWise(c, layer) {
    const { op } = layer.params, n = layer.name;
    const [a, b] = layer.inputs as [string, string];
    const integer = ["int32", "int64"].includes(c.tensor(a).dtype);
    if (op !== "floor_div") c.op(ELEMENT_WISE[op], layer.inputs, layer.outputs[0]!, n);
    else if (!integer) c.op("Floor", [c.op("Div", layer.inputs, c.part(n, "div"), `${n}.div`)], layer.outputs[0]!, n);
    // Integer Div truncates; a − mod(a, b) (mod taking the divisor's sign) is the multiple of b that floor division reaches.
    else c.op("Div", [c.op("Sub", [a, c.op("Mod", [a, b], c.part(n, "mod"), `${n}.mod`, { fmod: 0 })], c.part(n, "multiple"), `${n}.multiple`), b], layer.outputs[0]!, n);
  },
  unary: (c, layer) => { c.op(UNARY[layer.params.op], [layer.inputs[0]!], layer.outputs[0]!, layer.name); },
  scale(c, layer) {
    const [x, n] = [layer.inputs[0]!, layer.name];
    const shape = c.tensor(x).shape;
    const { mode, channelAxis } = layer.params;
    const paramShape = mode === "uniform" ? [] : mode === "channel" ? shape.map((d, i) => (i === channelAxis ? d : 1)).slice(1) : shape.slice(1);
    const roles = (["scale", "shift", "power"] as const).filter((r) => layer.weights[r]);
    const types = { scale: "Mul", shift: "Add", power: "Pow" } as const;
    let current = x;
    roles.forEach((role, i) => {
      const last = i === roles.length - 1;
      current = c.op(types[role], [current, c.weight(layer, role, paramShape)], last ? layer.outputs[0]! : c.part(n, role), last ? n : `${n}.${role}`);
    });
  },
  batchNorm(c, layer) {
    const inputs = [layer.inputs[0]!, ...(["weight", "bias", "mean", "variance"] as const).map((r) => c.weight(layer, r))];
    c.op("BatchNormalization", inputs, layer.outputs[0]!, layer.name, { epsilon: f(layer.params.epsilon) });
  },
  softMax: (c, layer) => { c.op("Softmax", [layer.inputs[0]!], layer.outputs[0]!, layer.name, { axis: layer.params.axis }); },
  concatenation: (c, layer) => { c.op("Concat", layer.inputs, layer.outputs[0]!, layer.name, { axis: layer.params.axis }); },
  shuffle(c, layer) {
    const [x, y, n] = [layer.inputs[0]!, layer.outputs[0]!, layer.name];
    const { firstTranspose: first, reshape, dimsFrom, secondTranspose: second } = layer.params;
    const identity = (perm: readonly number[]) => perm.every((v, i) => v === i);
    const steps = [!identity(first), reshape !== null, !identity(second)];
    const lastStep = steps.lastIndexOf(true);
    const out = (i: number, part: string) => (i === lastStep ? y : c.part(n, part));
    if (lastStep < 0) { c.op("Identity", [x], y, n); return; }
    let current = x;
    if (steps[0]) current = c.op("Transpose", [current], out(0, "transpose1"), lastStep === 0 ? n : `${n}.transpose1`, { perm: first });
    if (reshape) current = c.op("Reshape", [current, c.sizes(layer, "shape", reshape, dimsFrom)], out(1, "reshape"), lastStep === 1 ? n : `${n}.reshape`);
    if (steps[2]) c.op("Transpose", [current], y, n, { perm: second });
  },
  // ONNX's Expand broadcasts both ways: a size of 1 keeps the input's dimension, as -1 does here.
  expand(c, layer) {
    const { shape, dimsFrom } = layer.params;
    c.op("Expand", [layer.inputs[0]!, c.sizes(layer, "shape", shape.map((s) => (s === -1 ? 1 : s)), dimsFrom)], layer.outputs[0]!, layer.name);
  },
  slice(c, layer) {
    const { start, size, stride } = layer.params, n = layer.name;
    const axes = start.map((_, i) => i);
    // A negative start or size (dynamic dimensions only) counts from the end, as ONNX's starts and ends do; an end
    // that reaches the end is INT64_MAX (0 would be the first index).
    const ends = start.map((s, i) => {
      const e = size[i]! > 0 ? s + (size[i]! - 1) * stride[i]! + 1 : size[i]! + 1;
      return e === 0 && (s < 0 || size[i]! < 0) ? Number.MAX_SAFE_INTEGER : e;
    });
    const list = (part: string, values: readonly number[]) => c.g.int64s(c.part(n, part), [axes.length], values);
    c.op("Slice", [layer.inputs[0]!, list("starts", start), list("ends", ends), list("axes", axes), list("steps", stride)], layer.outputs[0]!, n);
  },
  matrixMultiply: exportMatrixMultiply,
  reduce(c, layer) {
    const { op, axes, keepDims } = layer.params, n = layer.name;
    // Opset 17: ReduceSum takes its axes as an input, the others as an attribute.
    if (op === "sum") c.op(REDUCE[op], [layer.inputs[0]!, c.g.int64s(c.part(n, "axes"), [axes.length], axes)], layer.outputs[0]!, n, { keepdims: keepDims ? 1 : 0 });
    else c.op(REDUCE[op], [layer.inputs[0]!], layer.outputs[0]!, n, { axes, keepdims: keepDims ? 1 : 0 });
  },
  resize(c, layer) {
    const p = layer.params, [x, y, n] = [layer.inputs[0]!, layer.outputs[0]!, layer.name];
    const transform = p.coordinateTransformation;
    const attrs = { mode: p.mode, coordinate_transformation_mode: transform === "half_pixel" && p.mode !== "nearest" ? "pytorch_half_pixel" : transform,
      nearest_mode: p.nearestRounding, cubic_coeff_a: f(p.cubicCoefficient) };
    const inputs = p.scales
      ? [x, "", c.g.floats(c.part(n, "scales"), [p.scales.length], p.scales)]
      : [x, "", "", c.g.int64s(c.part(n, "sizes"), [c.tensor(y).shape.length], c.tensor(y).shape.map((d, i) => (d < 0 ? c.refuse(layer, `a dynamic output dimension ${i}`) : d)))];
    c.op("Resize", inputs, y, n, attrs);
  },
  padding(c, layer) {
    const { pre, post, value } = layer.params, [x, n] = [layer.inputs[0]!, layer.name];
    const rank = c.tensor(x).shape.length;
    const pads = [...Array(rank - pre.length).fill(0), ...pre, ...Array(rank - post.length).fill(0), ...post];
    const dtype = c.tensor(x).dtype;
    const fill = dtype === "int32" ? c.g.int32s(c.g.fresh(`${n}.value`), [], [value]) : dtype === "int64" ? c.g.int64s(c.g.fresh(`${n}.value`), [], [value]) : c.scalar(`${n}.value`, value);
    c.op("Pad", [x, c.g.int64s(c.part(n, "pads"), [pads.length], pads), fill], layer.outputs[0]!, n, { mode: "constant" });
  },
  constant(c, layer) {
    const y = layer.outputs[0]!, shape = layer.params.shape;
    const dtype = c.tensor(y).dtype;
    if (dtype !== "int32" && dtype !== "int64") return void c.g.floats(y, shape, c.values(layer, "values"));
    const integers = toInt64(c.stored(layer, "values"), dtype);
    if (typeof integers === "string") c.refuse(layer, `values: the weight ${integers}`);
    else if (dtype === "int32") c.g.int32s(y, shape, Int32Array.from(integers, Number));
    else c.g.int64s(y, shape, integers);
  },
  identity: (c, layer) => { c.op("Identity", [layer.inputs[0]!], layer.outputs[0]!, layer.name); },
  cast: (c, layer) => { c.op("Cast", [layer.inputs[0]!], layer.outputs[0]!, layer.name, { to: ONNX_TYPES[layer.params.to] }); },
  gather: (c, layer) => { c.op("Gather", layer.inputs, layer.outputs[0]!, layer.name, { axis: layer.params.axis }); },
  topK(c, layer) {
    const { k, axis, op } = layer.params, n = layer.name;
    const indices64 = c.part(n, "indices64");
    c.g.node("TopK", [layer.inputs[0]!, c.g.int64s(c.part(n, "k"), [1], [k])], [layer.outputs[0]!, indices64], n, { axis, largest: op === "max" ? 1 : 0, sorted: 1 });
    c.op("Cast", [indices64], layer.outputs[1]!, `${n}.indices`, { to: ONNX_DATA_TYPE.INT32 });
  },
  normalization: exportNormalization,
  select: (c, layer) => { c.op("Where", layer.inputs, layer.outputs[0]!, layer.name); },
  parametricReLU(c, layer) {
    const x = layer.inputs[0]!;
    const rank = c.tensor(x).shape.length;
    const count = layer.weights.slope!.shape[0]!;
    c.op("PRelu", [x, c.weight(layer, "slope", count === 1 ? [1] : [count, ...Array(rank - 2).fill(1)])], layer.outputs[0]!, layer.name);
  },
  lrn(c, layer) {
    const { window, alpha, beta, k } = layer.params;
    c.op("LRN", [layer.inputs[0]!], layer.outputs[0]!, layer.name, { size: window, alpha: f(alpha), beta: f(beta), bias: f(k) });
  },
  quantize: exportQuantizeLinear,
  dequantize(c, layer) {
    if (layer.params.to !== "float32") c.refuse(layer, `dequantizing to ${layer.params.to}`);
    exportQuantizeLinear(c, layer);
  },
};

function exportQuantizeLinear(c: OnnxContext, layer: LayerIR<"quantize" | "dequantize">): void {
  const { axis } = layer.params, n = layer.name;
  const count = layer.weights.scale!.shape[0]!;
  const scale = c.weight(layer, "scale", axis === null ? [] : undefined);
  const zero = c.g.int8s(c.part(n, "zero_point"), axis === null ? [] : [count], Array(count).fill(0));
  c.op(layer.kind === "quantize" ? "QuantizeLinear" : "DequantizeLinear", [layer.inputs[0]!, scale, zero], layer.outputs[0]!, n, axis === null ? {} : { axis });
}

function exportActivation(c: OnnxContext, layer: LayerIR<"activation">): void {
  const { type, alpha, beta } = layer.params;
  const [x, y, n] = [layer.inputs[0]!, layer.outputs[0]!, layer.name];
  const part = (s: string) => c.part(n, s);
  switch (type) {
    case "relu": c.op("Relu", [x], y, n); return;
    case "sigmoid": c.op("Sigmoid", [x], y, n); return;
    case "tanh": c.op("Tanh", [x], y, n); return;
    case "leaky_relu": c.op("LeakyRelu", [x], y, n, { alpha: f(alpha) }); return;
    case "elu": c.op("Elu", [x], y, n, { alpha: f(alpha) }); return;
    case "selu": c.op("Selu", [x], y, n, { alpha: f(alpha), gamma: f(beta) }); return;
    case "softsign": c.op("Softsign", [x], y, n); return;
    case "softplus": {
      if (alpha === 1 && beta === 1) { c.op("Softplus", [x], y, n); return; }
      // α·softplus(β·x), TensorRT's parametrisation
      const inner = c.op("Mul", [x, c.scalar(`${n}.beta`, beta)], part("scaled"), `${n}.scaled`);
      const sp = c.op("Softplus", [inner], part("softplus"), `${n}.softplus`);
      c.op("Mul", [sp, c.scalar(`${n}.alpha`, alpha)], y, n);
      return;
    }
    case "clip": c.op("Clip", [x, c.scalar(`${n}.min`, alpha), c.scalar(`${n}.max`, beta)], y, n); return;
    case "hard_sigmoid": c.op("HardSigmoid", [x], y, n, { alpha: f(alpha), beta: f(beta) }); return;
    case "scaled_tanh": {
      const t = c.op("Tanh", [c.op("Mul", [x, c.scalar(`${n}.beta`, beta)], part("scaled"), `${n}.scaled`)], part("tanh"), `${n}.tanh`);
      c.op("Mul", [t, c.scalar(`${n}.alpha`, alpha)], y, n);
      return;
    }
    case "thresholded_relu": c.op("ThresholdedRelu", [x], y, n, { alpha: f(alpha) }); return;
    case "silu": c.op("Mul", [x, c.op("Sigmoid", [x], part("sigmoid"), `${n}.sigmoid`)], y, n); return;  // opset 17 has no SiLU
    case "hardswish": c.op("HardSwish", [x], y, n); return;
    case "mish": {  // Mish is opset 18's: x·tanh(softplus(x))
      const t = c.op("Tanh", [c.op("Softplus", [x], part("softplus"), `${n}.softplus`)], part("tanh"), `${n}.tanh`);
      c.op("Mul", [x, t], y, n);
      return;
    }
    case "gelu_erf": {  // opset 17 has no Gelu: 0.5·x·(1 + erf(x/√2))
      const e = c.op("Erf", [c.op("Mul", [x, c.scalar(`${n}.rsqrt2`, Math.SQRT1_2)], part("scaled"), `${n}.scaled`)], part("erf"), `${n}.erf`);
      const one = c.op("Add", [e, c.scalar(`${n}.one`, 1)], part("one_plus"), `${n}.one_plus`);
      c.op("Mul", [c.op("Mul", [x, c.scalar(`${n}.half`, 0.5)], part("half"), `${n}.half`), one], y, n);
      return;
    }
    case "gelu_tanh": {  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const cube = c.op("Mul", [c.op("Mul", [x, x], part("square"), `${n}.square`), x], part("cube"), `${n}.cube`);
      const inner = c.op("Add", [x, c.op("Mul", [cube, c.scalar(`${n}.c`, 0.044715)], part("cubic"), `${n}.cubic`)], part("inner"), `${n}.inner`);
      const t = c.op("Tanh", [c.op("Mul", [inner, c.scalar(`${n}.k`, Math.sqrt(2 / Math.PI))], part("scaled"), `${n}.scaled`)], part("tanh"), `${n}.tanh`);
      const one = c.op("Add", [t, c.scalar(`${n}.one`, 1)], part("one_plus"), `${n}.one_plus`);
      c.op("Mul", [c.op("Mul", [x, c.scalar(`${n}.half`, 0.5)], part("half"), `${n}.half`), one], y, n);
      return;
    }
    default: c.refuse(layer, `activation '${type}'`);
  }
}

function exportMatrixMultiply(c: OnnxContext, layer: LayerIR<"matrixMultiply">): void {
  const [a, b] = layer.inputs as [string, string];
  const { opA, opB } = layer.params;
  const n = layer.name;
  const prepare = (t: string, op: string, which: string, vectorAxis: number) => {
    const rank = c.tensor(t).shape.length;
    if (op === "transpose") return c.op("Transpose", [t], c.part(n, `${which}T`), `${n}.${which}T`, { perm: [...Array(rank - 2).keys(), rank - 1, rank - 2] });
    if (op === "vector") return c.op("Unsqueeze", [t, c.g.int64s(c.part(n, `${which}.axes`), [1], [vectorAxis])], c.part(n, `${which}v`), `${n}.${which}v`);
    return t;
  };
  const squeeze = [...(opA === "vector" ? [-2] : []), ...(opB === "vector" ? [-1] : [])];
  const product = squeeze.length ? c.part(n, "product") : layer.outputs[0]!;
  c.op("MatMul", [prepare(a, opA, "a", -2), prepare(b, opB, "b", -1)], product, squeeze.length ? `${n}.matmul` : n);
  if (squeeze.length) c.op("Squeeze", [product, c.g.int64s(c.part(n, "squeeze"), [squeeze.length], squeeze)], layer.outputs[0]!, n);
}

function exportNormalization(c: OnnxContext, layer: LayerIR<"normalization">): void {
  const { type, epsilon: eps, groups, axes: normAxes } = layer.params;
  const n = layer.name;
  const [x, y] = [layer.inputs[0]!, layer.outputs[0]!];
  const shape = c.tensor(x).shape;
  const affine = Boolean(layer.weights.scale);
  if (type === "layer" && affine) {
    c.op("LayerNormalization", [x, c.weight(layer, "scale"), c.weight(layer, "bias")], y, n, { axis: normAxes[0]!, epsilon: f(eps) });
    return;
  }
  if (type === "instance") {
    const channels = shape[1]!;
    const scale = affine ? c.weight(layer, "scale") : c.g.floats(c.part(n, "ones"), [channels], new Float32Array(channels).fill(1));
    const bias = affine ? c.weight(layer, "bias") : c.g.floats(c.part(n, "zeros"), [channels], new Float32Array(channels));
    c.op("InstanceNormalization", [x, scale, bias], y, n, { epsilon: f(eps) });
    return;
  }
  // Group norm (and layer norm without affine): (x − mean)/√(var + ε) over groups, composed (GroupNormalization
  // is opset 18, with semantics that changed in 21).
  const part = (s: string) => c.part(n, s);
  const grouped = type === "group"
    ? c.op("Reshape", [x, c.g.int64s(part("group_shape"), [3], [0, groups, -1])], part("grouped"), `${n}.grouped`) : x;
  const axes = type === "group" ? [2] : normAxes;
  const mean = c.op("ReduceMean", [grouped], part("mean"), `${n}.mean`, { axes, keepdims: 1 });
  const centred = c.op("Sub", [grouped, mean], part("centred"), `${n}.centred`);
  const variance = c.op("ReduceMean", [c.op("Mul", [centred, centred], part("square"), `${n}.square`)], part("variance"), `${n}.variance`, { axes, keepdims: 1 });
  const std = c.op("Sqrt", [c.op("Add", [variance, c.scalar(`${n}.epsilon`, eps)], part("var_eps"), `${n}.var_eps`)], part("std"), `${n}.std`);
  const normalised = c.op("Div", [centred, std], part("normalised"), `${n}.normalised`);
  const restored = type === "group" ? c.op("Reshape", [normalised, c.op("Shape", [x], part("shape"), `${n}.shape`)], affine ? part("restored") : y, affine ? `${n}.restored` : n) : normalised;
  if (!affine) { if (type !== "group") c.op("Identity", [restored], y, n); return; }
  const paramShape = [shape[1]!, ...Array(shape.length - 2).fill(1)];
  c.op("Add", [c.op("Mul", [restored, c.weight(layer, "scale", paramShape)], part("scaled"), `${n}.scaled`), c.weight(layer, "bias", paramShape)], y, n);
}

/** Lowers one layer to ONNX nodes through its kind's exporter. */
function exportLayer(c: OnnxContext, layer: LayerIR): void {
  (ONNX_EXPORTERS[layer.kind] as Exporter<LayerKind>)(c, layer);
}

function valueInfo(t: TensorIR, dimName: (i: number) => string): ValueInfoMessage {
  return { name: t.name, elemType: ONNX_TYPES[t.dtype], dims: t.shape.map((d, i) => (d < 0 ? dimName(i) : d)) };
}

/**
 * The network as an ONNX model (opset 17): one node or a short documented composition per layer, weights as
 * initializers under their PyTorch names, dynamic dimensions as named symbolic dims, input, output and layer
 * names kept. A layer with no faithful ONNX form is an OnnxExportError naming it. Writes `path` when given.
 * ```ts
 * await exportOnnx(net, "lenet.onnx");
 * ```
 */
export async function exportOnnx(network: { toJSON(): NetworkIR; weights: WeightSource }, path?: string): Promise<Uint8Array> {
  const ir = network.toJSON();
  const g = new GraphBuilder();
  for (const t of [...ir.inputs, ...ir.tensors]) g.reserve(t.name);
  const context = new OnnxContext(g, ir, network.weights, new Set());
  for (const layer of ir.layers) exportLayer(context, layer);
  const tensors = new Map([...ir.inputs, ...ir.tensors].map((t) => [t.name, t]));
  const outputs = ir.outputs.map((o) => {
    if (o.name !== o.tensor) g.node("Identity", [o.tensor], [o.name], `${o.name}.output`);
    return valueInfo({ ...tensors.get(o.tensor)!, name: o.name }, (i) => `${o.name}_dim${i}`);
  });
  // Dynamic input dims named after their input (`data_dim0`); outputs get their own names, as onnxruntime infers them.
  const bytes = encodeModel({
    irVersion: 8, producerName: "netdef", opset: ONNX_OPSET,
    graph: {
      name: ir.name, node: g.nodes, initializer: g.initializers,
      input: ir.inputs.map((t) => valueInfo(t, (i) => `${t.name}_dim${i}`)), output: outputs,
      // Each layer's output as the DSL inferred it (network outputs are listed as outputs already).
      valueInfo: ir.tensors.filter((t) => !ir.outputs.some((o) => o.tensor === t.name && o.name === t.name)).map((t) => valueInfo(t, (i) => `${t.name}_dim${i}`)),
    },
  });
  if (path) await writeFile(path, bytes);
  return bytes;
}
