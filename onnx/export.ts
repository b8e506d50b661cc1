import { writeFile } from "node:fs/promises";
import type { DataType } from "../dsl/dtype.js";
import type { LayerIR, NetworkIR, TensorIR } from "../dsl/ir.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32 } from "../weights/tensor.js";
import { OnnxExportError } from "./errors.js";
import { GraphBuilder, onnx } from "./graph-builder.js";

/** The opset exported; every mapping below is checked against it. */
export const ONNX_OPSET = 17;

const ONNX_TYPES: Readonly<Record<DataType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT, float16: onnx.TensorProto.DataType.FLOAT16, bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int8: onnx.TensorProto.DataType.INT8, uint8: onnx.TensorProto.DataType.UINT8, int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64, bool: onnx.TensorProto.DataType.BOOL,
};

type Params = Record<string, unknown>;
const num = (p: Params, k: string) => p[k] as number;
const ints = (p: Params, k: string) => p[k] as number[];
const f = (v: number) => ({ float: v });

/** Lowers one layer to ONNX nodes, reading its weights from the source. */
class LayerExporter {
  constructor(private readonly g: GraphBuilder, private readonly ir: NetworkIR, private readonly weights: WeightSource, private readonly exported: Set<string>) {}

  private refuse(layer: LayerIR, what: string): never {
    throw new OnnxExportError(`${layer.name} (${layer.kind}): ${what} has no faithful ONNX opset ${ONNX_OPSET} form, so the network is not exported`);
  }

  private tensor(name: string): TensorIR {
    return this.ir.inputs.find((t) => t.name === name) ?? this.ir.tensors.find((t) => t.name === name)!;
  }

  /** The layer's weight as an initializer under its PyTorch name (each weight once), reshaped if asked. */
  private weight(layer: LayerIR, role: string, shape?: readonly number[]): string {
    const binding = layer.weights[role]!;
    const values = toFloat32(this.weights.get(binding.name) ?? (() => { throw new OnnxExportError(`${layer.name}: weight '${binding.name}' is missing from the weight source`); })());
    if (!this.exported.has(binding.name)) {
      this.g.floats(binding.name, binding.shape, values);
      this.exported.add(binding.name);
    }
    if (!shape) return binding.name;
    const reshaped = this.g.fresh(`${binding.name}.reshaped`);
    this.g.node("Reshape", [binding.name, this.g.int64s(this.g.fresh(`${reshaped}.shape`), [shape.length], shape)], [reshaped], reshaped);
    return reshaped;
  }

  private scalar(name: string, value: number): string {
    return this.g.floats(this.g.fresh(name), [], [value]);
  }

  /** `out = op(inputs)` as a node named after the layer (or a part of it). */
  private op(type: string, inputs: string[], output: string, name: string, attrs: Parameters<GraphBuilder["node"]>[4] = {}): string {
    this.g.node(type, inputs, [output], name, attrs);
    return output;
  }

  export(layer: LayerIR): void {
    const p = layer.params;
    const x = layer.inputs[0]!;
    const y = layer.outputs[0]!;
    const n = layer.name;
    switch (layer.kind) {
      case "convolution": case "deconvolution": {
        const mode = p.paddingMode as string;
        if (mode === "explicit_round_up") this.refuse(layer, "ceil-mode output size");
        const attrs: Record<string, number[] | number | string> = {
          kernel_shape: ints(p, "kernel"), strides: ints(p, "stride"), dilations: ints(p, "dilation"), group: num(p, "groups"),
        };
        if (mode === "same_upper" || mode === "same_lower") attrs.auto_pad = mode.toUpperCase();
        else attrs.pads = [...ints(p, "prePadding"), ...ints(p, "postPadding")];
        if (layer.kind === "deconvolution") attrs.output_padding = ints(p, "outputPadding");
        const inputs = [x, this.weight(layer, "kernel"), ...(layer.weights.bias ? [this.weight(layer, "bias")] : [])];
        this.op(layer.kind === "convolution" ? "Conv" : "ConvTranspose", inputs, y, n, attrs);
        return;
      }
      case "pooling": {
        const type = p.type as string;
        if (type === "max_average_blend") this.refuse(layer, "max/average blending");
        const mode = p.paddingMode as string;
        // PyTorch clips a ceil-mode window to the padded input before counting; onnxruntime counts the whole window.
        if (type === "average" && mode === "explicit_round_up" && p.countIncludePad) this.refuse(layer, "ceil-mode average pooling that counts padding (PyTorch's divisor)");
        const attrs: Record<string, number[] | number | string> = { kernel_shape: ints(p, "kernel"), strides: ints(p, "stride") };
        if (mode === "same_upper" || mode === "same_lower") attrs.auto_pad = mode.toUpperCase();
        else { attrs.pads = [...ints(p, "prePadding"), ...ints(p, "postPadding")]; attrs.ceil_mode = mode === "explicit_round_up" ? 1 : 0; }
        if (type === "average") attrs.count_include_pad = p.countIncludePad ? 1 : 0;
        this.op(type === "max" ? "MaxPool" : "AveragePool", [x], y, n, attrs);
        return;
      }
      case "fullyConnected": {
        const flat = this.op("Flatten", [x], this.g.fresh(`${n}.flatten`), `${n}.flatten`, { axis: 1 });
        this.op("Gemm", [flat, this.weight(layer, "kernel"), ...(layer.weights.bias ? [this.weight(layer, "bias")] : [])], y, n, { transB: 1 });
        return;
      }
      case "activation": return this.activation(layer, x, y);
      case "elementWise": {
        const op = p.op as string;
        const simple: Record<string, string> = { sum: "Add", prod: "Mul", max: "Max", min: "Min", sub: "Sub", div: "Div", pow: "Pow", and: "And", or: "Or", xor: "Xor", equal: "Equal", greater: "Greater", less: "Less" };
        if (op === "floor_div") this.op("Floor", [this.op("Div", layer.inputs as string[], this.g.fresh(`${n}.div`), `${n}.div`)], y, n);
        else this.op(simple[op]!, layer.inputs as string[], y, n);
        return;
      }
      case "unary": {
        const names: Record<string, string> = { exp: "Exp", log: "Log", sqrt: "Sqrt", recip: "Reciprocal", abs: "Abs", neg: "Neg", sin: "Sin", cos: "Cos", tan: "Tan",
          sinh: "Sinh", cosh: "Cosh", asin: "Asin", acos: "Acos", atan: "Atan", asinh: "Asinh", acosh: "Acosh", atanh: "Atanh", ceil: "Ceil", floor: "Floor",
          erf: "Erf", not: "Not", sign: "Sign", round: "Round", isinf: "IsInf", isnan: "IsNaN" };
        this.op(names[p.op as string]!, [x], y, n);
        return;
      }
      case "scale": {
        const shape = this.tensor(x).shape;
        const mode = p.mode as string;
        const axis = num(p, "channelAxis");
        const paramShape = mode === "uniform" ? [] : mode === "channel" ? shape.map((d, i) => (i === axis ? d : 1)).slice(1) : shape.slice(1);
        let current = x;
        for (const [role, type] of [["scale", "Mul"], ["shift", "Add"], ["power", "Pow"]] as const) {
          if (!layer.weights[role]) continue;
          const last = !["scale", "shift", "power"].slice(["scale", "shift", "power"].indexOf(role) + 1).some((r) => layer.weights[r]);
          current = this.op(type, [current, this.weight(layer, role, paramShape)], last ? y : this.g.fresh(`${n}.${role}`), last ? n : `${n}.${role}`);
        }
        return;
      }
      case "batchNorm":
        this.op("BatchNormalization", [x, this.weight(layer, "weight"), this.weight(layer, "bias"), this.weight(layer, "mean"), this.weight(layer, "variance")], y, n, { epsilon: f(num(p, "epsilon")) });
        return;
      case "softMax": this.op("Softmax", [x], y, n, { axis: num(p, "axis") }); return;
      case "concatenation": this.op("Concat", layer.inputs as string[], y, n, { axis: num(p, "axis") }); return;
      case "shuffle": {
        let current = x;
        const first = ints(p, "firstTranspose"), second = ints(p, "secondTranspose");
        const identity = (perm: number[]) => perm.every((v, i) => v === i);
        const steps = [!identity(first), p.reshape !== null, !identity(second)];
        const lastStep = steps.lastIndexOf(true);
        const out = (i: number, part: string) => (i === lastStep ? y : this.g.fresh(`${n}.${part}`));
        if (lastStep < 0) { this.op("Identity", [x], y, n); return; }
        if (steps[0]) current = this.op("Transpose", [current], out(0, "transpose1"), lastStep === 0 ? n : `${n}.transpose1`, { perm: first });
        if (steps[1]) current = this.op("Reshape", [current, this.g.int64s(this.g.fresh(`${n}.shape`), [ints(p, "reshape").length], ints(p, "reshape"))], out(1, "reshape"), lastStep === 1 ? n : `${n}.reshape`);
        if (steps[2]) this.op("Transpose", [current], y, n, { perm: second });
        return;
      }
      case "slice": {
        const start = ints(p, "start"), size = ints(p, "size"), stride = ints(p, "stride");
        const axes = start.map((_, i) => i);
        const ends = start.map((s, i) => s + (size[i]! - 1) * stride[i]! + 1);
        const name = (part: string) => this.g.fresh(`${n}.${part}`);
        this.op("Slice", [x, this.g.int64s(name("starts"), [axes.length], start), this.g.int64s(name("ends"), [axes.length], ends), this.g.int64s(name("axes"), [axes.length], axes), this.g.int64s(name("steps"), [axes.length], stride)], y, n);
        return;
      }
      case "matrixMultiply": return this.matrixMultiply(layer);
      case "reduce": {
        const names: Record<string, string> = { sum: "ReduceSum", prod: "ReduceProd", max: "ReduceMax", min: "ReduceMin", avg: "ReduceMean" };
        const op = names[p.op as string]!;
        // Opset 17: ReduceSum takes its axes as an input, the others as an attribute.
        if (op === "ReduceSum") this.op(op, [x, this.g.int64s(this.g.fresh(`${n}.axes`), [ints(p, "axes").length], ints(p, "axes"))], y, n, { keepdims: p.keepDims ? 1 : 0 });
        else this.op(op, [x], y, n, { axes: ints(p, "axes"), keepdims: p.keepDims ? 1 : 0 });
        return;
      }
      case "resize": {
        const transform = p.coordinateTransformation as string;
        const attrs = { mode: p.mode as string, coordinate_transformation_mode: transform === "half_pixel" && p.mode !== "nearest" ? "pytorch_half_pixel" : transform,
          nearest_mode: p.nearestRounding as string, cubic_coeff_a: f(num(p, "cubicCoefficient")) };
        const scales = p.scales as number[] | null;
        const inputs = scales
          ? [x, "", this.g.floats(this.g.fresh(`${n}.scales`), [scales.length], scales)]
          : [x, "", "", this.g.int64s(this.g.fresh(`${n}.sizes`), [this.tensor(y).shape.length], this.tensor(y).shape.map((d, i) => (d < 0 ? this.refuse(layer, `a dynamic output dimension ${i}`) : d)))];
        this.op("Resize", inputs, y, n, attrs);
        return;
      }
      case "padding": {
        const rank = this.tensor(x).shape.length;
        const pre = ints(p, "pre"), post = ints(p, "post");
        const pads = [...Array(rank - pre.length).fill(0), ...pre, ...Array(rank - post.length).fill(0), ...post];
        this.op("Pad", [x, this.g.int64s(this.g.fresh(`${n}.pads`), [pads.length], pads), this.scalar(`${n}.value`, num(p, "value"))], y, n, { mode: "constant" });
        return;
      }
      case "constant": {
        const binding = layer.weights.values!;
        const values = toFloat32(this.weights.get(binding.name)!);
        const dtype = this.tensor(y).dtype;
        if (dtype === "int32") this.g.int32s(y, ints(p, "shape"), values);
        else if (dtype === "int64") this.g.int64s(y, ints(p, "shape"), Array.from(values));
        else this.g.floats(y, ints(p, "shape"), values);
        return;
      }
      case "identity": this.op("Identity", [x], y, n); return;
      case "cast": this.op("Cast", [x], y, n, { to: ONNX_TYPES[p.to as DataType] }); return;
      case "gather": this.op("Gather", layer.inputs as string[], y, n, { axis: num(p, "axis") }); return;
      case "topK": {
        const indices64 = this.g.fresh(`${n}.indices64`);
        this.g.node("TopK", [x, this.g.int64s(this.g.fresh(`${n}.k`), [1], [num(p, "k")])], [y, indices64], n, { axis: num(p, "axis"), largest: p.op === "max" ? 1 : 0, sorted: 1 });
        this.op("Cast", [indices64], layer.outputs[1]!, `${n}.indices`, { to: onnx.TensorProto.DataType.INT32 });
        return;
      }
      case "normalization": return this.normalization(layer);
      case "select": this.op("Where", layer.inputs as string[], y, n); return;
      case "parametricReLU": {
        const rank = this.tensor(x).shape.length;
        const count = layer.weights.slope!.shape[0]!;
        this.op("PRelu", [x, this.weight(layer, "slope", count === 1 ? [1] : [count, ...Array(rank - 2).fill(1)])], y, n);
        return;
      }
      case "lrn": this.op("LRN", [x], y, n, { size: num(p, "window"), alpha: f(num(p, "alpha")), beta: f(num(p, "beta")), bias: f(num(p, "k")) }); return;
      case "quantize": case "dequantize": {
        const axis = p.axis as number | null;
        const count = layer.weights.scale!.shape[0]!;
        const scale = this.weight(layer, "scale", axis === null ? [] : undefined);
        const zero = this.g.int8s(this.g.fresh(`${n}.zero_point`), axis === null ? [] : [count], Array(count).fill(0));
        if (layer.kind === "dequantize" && p.to !== "float32") this.refuse(layer, `dequantizing to ${p.to as string}`);
        this.op(layer.kind === "quantize" ? "QuantizeLinear" : "DequantizeLinear", [x, scale, zero], y, n, axis === null ? {} : { axis });
        return;
      }
      default: this.refuse(layer, `layer kind '${layer.kind}'`);
    }
  }

  private activation(layer: LayerIR, x: string, y: string): void {
    const p = layer.params;
    const n = layer.name;
    const alpha = num(p, "alpha"), beta = num(p, "beta");
    const part = (s: string) => this.g.fresh(`${n}.${s}`);
    switch (p.type as string) {
      case "relu": this.op("Relu", [x], y, n); return;
      case "sigmoid": this.op("Sigmoid", [x], y, n); return;
      case "tanh": this.op("Tanh", [x], y, n); return;
      case "leaky_relu": this.op("LeakyRelu", [x], y, n, { alpha: f(alpha) }); return;
      case "elu": this.op("Elu", [x], y, n, { alpha: f(alpha) }); return;
      case "selu": this.op("Selu", [x], y, n, { alpha: f(alpha), gamma: f(beta) }); return;
      case "softsign": this.op("Softsign", [x], y, n); return;
      case "softplus": {
        if (alpha === 1 && beta === 1) { this.op("Softplus", [x], y, n); return; }
        // α·softplus(β·x), TensorRT's parametrisation
        const inner = this.op("Mul", [x, this.scalar(`${n}.beta`, beta)], part("scaled"), `${n}.scaled`);
        const sp = this.op("Softplus", [inner], part("softplus"), `${n}.softplus`);
        this.op("Mul", [sp, this.scalar(`${n}.alpha`, alpha)], y, n);
        return;
      }
      case "clip": this.op("Clip", [x, this.scalar(`${n}.min`, alpha), this.scalar(`${n}.max`, beta)], y, n); return;
      case "hard_sigmoid": this.op("HardSigmoid", [x], y, n, { alpha: f(alpha), beta: f(beta) }); return;
      case "scaled_tanh": {
        const t = this.op("Tanh", [this.op("Mul", [x, this.scalar(`${n}.beta`, beta)], part("scaled"), `${n}.scaled`)], part("tanh"), `${n}.tanh`);
        this.op("Mul", [t, this.scalar(`${n}.alpha`, alpha)], y, n);
        return;
      }
      case "thresholded_relu": this.op("ThresholdedRelu", [x], y, n, { alpha: f(alpha) }); return;
      case "gelu_erf": {  // opset 17 has no Gelu: 0.5·x·(1 + erf(x/√2))
        const e = this.op("Erf", [this.op("Mul", [x, this.scalar(`${n}.rsqrt2`, Math.SQRT1_2)], part("scaled"), `${n}.scaled`)], part("erf"), `${n}.erf`);
        const one = this.op("Add", [e, this.scalar(`${n}.one`, 1)], part("one_plus"), `${n}.one_plus`);
        this.op("Mul", [this.op("Mul", [x, this.scalar(`${n}.half`, 0.5)], part("half"), `${n}.half`), one], y, n);
        return;
      }
      case "gelu_tanh": {  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        const cube = this.op("Mul", [this.op("Mul", [x, x], part("square"), `${n}.square`), x], part("cube"), `${n}.cube`);
        const inner = this.op("Add", [x, this.op("Mul", [cube, this.scalar(`${n}.c`, 0.044715)], part("cubic"), `${n}.cubic`)], part("inner"), `${n}.inner`);
        const t = this.op("Tanh", [this.op("Mul", [inner, this.scalar(`${n}.k`, Math.sqrt(2 / Math.PI))], part("scaled"), `${n}.scaled`)], part("tanh"), `${n}.tanh`);
        const one = this.op("Add", [t, this.scalar(`${n}.one`, 1)], part("one_plus"), `${n}.one_plus`);
        this.op("Mul", [this.op("Mul", [x, this.scalar(`${n}.half`, 0.5)], part("half"), `${n}.half`), one], y, n);
        return;
      }
      default: this.refuse(layer, `activation '${p.type as string}'`);
    }
  }

  private matrixMultiply(layer: LayerIR): void {
    const [a, b] = layer.inputs as [string, string];
    const { opA, opB } = layer.params as { opA: string; opB: string };
    const n = layer.name;
    const prepare = (t: string, op: string, which: string, vectorAxis: number) => {
      const rank = this.tensor(t).shape.length;
      if (op === "transpose") return this.op("Transpose", [t], this.g.fresh(`${n}.${which}T`), `${n}.${which}T`, { perm: [...Array(rank - 2).keys(), rank - 1, rank - 2] });
      if (op === "vector") return this.op("Unsqueeze", [t, this.g.int64s(this.g.fresh(`${n}.${which}.axes`), [1], [vectorAxis])], this.g.fresh(`${n}.${which}v`), `${n}.${which}v`);
      return t;
    };
    const squeeze = [...(opA === "vector" ? [-2] : []), ...(opB === "vector" ? [-1] : [])];
    const product = squeeze.length ? this.g.fresh(`${n}.product`) : layer.outputs[0]!;
    this.op("MatMul", [prepare(a, opA, "a", -2), prepare(b, opB, "b", -1)], product, squeeze.length ? `${n}.matmul` : n);
    if (squeeze.length) this.op("Squeeze", [product, this.g.int64s(this.g.fresh(`${n}.squeeze`), [squeeze.length], squeeze)], layer.outputs[0]!, n);
  }

  private normalization(layer: LayerIR): void {
    const p = layer.params;
    const n = layer.name;
    const [x, y] = [layer.inputs[0]!, layer.outputs[0]!];
    const shape = this.tensor(x).shape;
    const eps = num(p, "epsilon");
    const affine = Boolean(layer.weights.scale);
    const type = p.type as string;
    if (type === "layer" && affine) {
      this.op("LayerNormalization", [x, this.weight(layer, "scale"), this.weight(layer, "bias")], y, n, { axis: ints(p, "axes")[0]!, epsilon: f(eps) });
      return;
    }
    if (type === "instance") {
      const channels = shape[1]!;
      const scale = affine ? this.weight(layer, "scale") : this.g.floats(this.g.fresh(`${n}.ones`), [channels], new Float32Array(channels).fill(1));
      const bias = affine ? this.weight(layer, "bias") : this.g.floats(this.g.fresh(`${n}.zeros`), [channels], new Float32Array(channels));
      this.op("InstanceNormalization", [x, scale, bias], y, n, { epsilon: f(eps) });
      return;
    }
    // Group norm (and layer norm without affine): (x − mean)/√(var + ε) over groups, composed (GroupNormalization
    // is opset 18, with semantics that changed in 21).
    const part = (s: string) => this.g.fresh(`${n}.${s}`);
    const groups = num(p, "groups");
    const grouped = type === "group"
      ? this.op("Reshape", [x, this.g.int64s(part("group_shape"), [3], [0, groups, -1])], part("grouped"), `${n}.grouped`) : x;
    const axes = type === "group" ? [2] : ints(p, "axes");
    const mean = this.op("ReduceMean", [grouped], part("mean"), `${n}.mean`, { axes, keepdims: 1 });
    const centred = this.op("Sub", [grouped, mean], part("centred"), `${n}.centred`);
    const variance = this.op("ReduceMean", [this.op("Mul", [centred, centred], part("square"), `${n}.square`)], part("variance"), `${n}.variance`, { axes, keepdims: 1 });
    const std = this.op("Sqrt", [this.op("Add", [variance, this.scalar(`${n}.epsilon`, eps)], part("var_eps"), `${n}.var_eps`)], part("std"), `${n}.std`);
    const normalised = this.op("Div", [centred, std], part("normalised"), `${n}.normalised`);
    const restored = type === "group" ? this.op("Reshape", [normalised, this.op("Shape", [x], part("shape"), `${n}.shape`)], affine ? part("restored") : y, affine ? `${n}.restored` : n) : normalised;
    if (!affine) { if (type !== "group") this.op("Identity", [restored], y, n); return; }
    const paramShape = [shape[1]!, ...Array(shape.length - 2).fill(1)];
    this.op("Add", [this.op("Mul", [restored, this.weight(layer, "scale", paramShape)], part("scaled"), `${n}.scaled`), this.weight(layer, "bias", paramShape)], y, n);
  }
}

function valueInfo(t: TensorIR, dimName: (i: number) => string) {
  return onnx.ValueInfoProto.create({
    name: t.name,
    type: { tensorType: { elemType: ONNX_TYPES[t.dtype], shape: { dim: t.shape.map((d, i) => (d < 0 ? { dimParam: dimName(i) } : { dimValue: d })) } } },
  });
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
  const exporter = new LayerExporter(g, ir, network.weights, new Set());
  for (const layer of ir.layers) exporter.export(layer);
  const tensors = new Map([...ir.inputs, ...ir.tensors].map((t) => [t.name, t]));
  const outputs = ir.outputs.map((o) => {
    if (o.name !== o.tensor) g.node("Identity", [o.tensor], [o.name], `${o.name}.output`);
    return valueInfo({ ...tensors.get(o.tensor)!, name: o.name }, (i) => `${o.name}_dim${i}`);
  });
  // Dynamic input dims named after their input (`data_dim0`); outputs get their own names, as onnxruntime infers them.
  const model = onnx.ModelProto.create({
    irVersion: 8, producerName: "netdef", opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: ir.name, node: g.nodes, initializer: g.initializers,
      input: ir.inputs.map((t) => valueInfo(t, (i) => `${t.name}_dim${i}`)), output: outputs,
    },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  if (path) await writeFile(path, bytes);
  return bytes;
}
