// Element by element: activation, element-wise, unary, scale, select, parametric ReLU, cast, identity, Q/DQ.
import { requireRule, type LayerView } from "../layer.js";
import { erf, roundHalfEven } from "../math.js";
import type { TensorRTType } from "../network.js";
import { FLOAT_TYPES, indexOf, stridesOf, volume, type TensorSpec, type TensorValue } from "../values.js";
import { needed, type LayerRule } from "./rule.js";

const TYPED = "tensor data types are inferred from network input types and operator type specification (NvInfer.h, createNetworkV2)";
const BROADCAST = "The input tensors must have the same rank and compatible type. … For each dimension, their lengths must match, or one of them must be one. (NvInfer.h, addElementWise)";

/** The broadcast shape of equal-rank shapes, as the element-wise layer defines it. */
function broadcast(rule: string, ...shapes: number[][]): number[] {
  const rank = shapes[0]!.length;
  requireRule(shapes.every((s) => s.length === rank), rule, `inputs of ranks ${shapes.map((s) => s.length).join(" and ")}`);
  return shapes[0]!.map((_, d) => {
    const sizes = shapes.map((s) => s[d]!), big = Math.max(...sizes);
    requireRule(sizes.every((n) => n === big || n === 1), rule, `dimension ${d}: ${sizes.join(" vs ")}`);
    return big;
  });
}

/** The value of `t` read at output position `flat` of `shape` (broadcasting its dimensions of 1). */
function reader(t: TensorValue, shape: readonly number[]): (flat: number) => number {
  const strides = stridesOf(t.shape);
  if (t.shape.every((d, i) => d === shape[i])) return (flat) => t.data[flat]!;
  return (flat) => {
    const index = indexOf(flat, shape);
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += (t.shape[d] === 1 ? 0 : index[d]!) * strides[d]!;
    return t.data[offset]!;
  };
}

function map(x: TensorValue, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return out;
}

const ACTIVATIONS: Record<string, (x: number, a: number, b: number) => number> = {
  kRELU: (x) => Math.max(0, x),
  kSIGMOID: (x) => 1 / (1 + Math.exp(-x)),
  kTANH: Math.tanh,
  kLEAKY_RELU: (x, a) => (x >= 0 ? x : a * x),  // "LeakyRelu activation: x>=0 ? x : alpha * x."
  kELU: (x, a) => (x >= 0 ? x : a * (Math.exp(x) - 1)),  // "Elu activation: x>=0 ? x : alpha * (exp(x) - 1)."
  kSELU: (x, a, b) => (x > 0 ? b * x : b * (a * Math.exp(x) - a)),  // "Selu activation: x>0 ? beta * x : beta * (alpha*exp(x) - alpha)"
  kSOFTSIGN: (x) => x / (1 + Math.abs(x)),  // "Softsign activation: x / (1+|x|)"
  kSOFTPLUS: (x, a, b) => a * Math.log(Math.exp(b * x) + 1),  // "Parametric softplus activation: alpha*log(exp(beta*x)+1)"
  kCLIP: (x, a, b) => Math.max(a, Math.min(b, x)),  // "Clip activation: max(alpha, min(beta, x))"
  kHARD_SIGMOID: (x, a, b) => Math.max(0, Math.min(1, a * x + b)),  // "Hard sigmoid activation: max(0, min(1, alpha*x+beta))"
  kSCALED_TANH: (x, a, b) => a * Math.tanh(b * x),  // "Scaled tanh activation: alpha*tanh(beta*x)"
  kTHRESHOLDED_RELU: (x, a) => (x > a ? x : 0),  // "Thresholded ReLU activation: x>alpha ? x : 0"
  kGELU_ERF: (x) => 0.5 * x * (1 + erf(Math.sqrt(0.5) * x)),  // "GELU erf activation: 0.5 * x * (1 + erf(sqrt(0.5) * x))"
  kGELU_TANH: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (0.044715 * x ** 3 + x))),
};

export const activation: LayerRule = {
  setters: ["setAlpha", "setBeta"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), type = layer.text("type");
    requireRule(FLOAT_TYPES.has(x.type) || (type === "kRELU" && (x.type === "kINT32" || x.type === "kINT64")), "Int32 and Int64 are valid only for activation type kRELU. (NvInfer.h, addActivation)", `${type} of a ${x.type} input`);
    return [{ ...x }];
  },
  execute(layer, inputs) {
    const f = ACTIVATIONS[layer.text("type")]!, a = layer.setNumber("setAlpha", 0), b = layer.setNumber("setBeta", 0);
    return [map(needed(inputs, 0, layer), (v) => f(v, a, b))];
  },
};

const LOGICAL = new Set(["kAND", "kOR", "kXOR"]), COMPARISON = new Set(["kEQUAL", "kGREATER", "kLESS"]);
const ELEMENT_WISE: Record<string, (a: number, b: number, integer: boolean) => number> = {
  kSUM: (a, b) => a + b, kPROD: (a, b) => a * b, kMAX: (a, b) => Math.max(a, b), kMIN: (a, b) => Math.min(a, b), kSUB: (a, b) => a - b,
  // Integers divide as C does (truncating); kFLOOR_DIV is "Floor division of the first element by the second."
  kDIV: (a, b, integer) => (integer ? Math.trunc(a / b) : a / b), kPOW: Math.pow, kFLOOR_DIV: (a, b) => Math.floor(a / b),
  kAND: (a, b) => Number(a !== 0 && b !== 0), kOR: (a, b) => Number(a !== 0 || b !== 0), kXOR: (a, b) => Number((a !== 0) !== (b !== 0)),
  kEQUAL: (a, b) => Number(a === b), kGREATER: (a, b) => Number(a > b), kLESS: (a, b) => Number(a < b),
};

export const elementWise: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const a = needed(inputs, 0, layer), b = needed(inputs, 1, layer), op = layer.text("op");
    requireRule(a.type === b.type, BROADCAST + " (strongly typed: the same type)", `inputs of types ${a.type} and ${b.type}`);
    requireRule(LOGICAL.has(op) ? a.type === "kBOOL" : a.type !== "kBOOL", "Operations kAND, kOR, and kXOR must have inputs of DataType::kBOOL. All other operations must have inputs of floating-point type, DataType::kINT8, DataType::kINT32, or DataType::kINT64. (NvInfer.h, enum ElementWiseOperation)",
      `${op} of ${a.type} inputs`);
    return [{ type: COMPARISON.has(op) ? "kBOOL" : a.type, shape: broadcast(BROADCAST, a.shape, b.shape) }];
  },
  execute(layer, inputs, [output]) {
    const a = needed(inputs, 0, layer), b = needed(inputs, 1, layer), f = ELEMENT_WISE[layer.text("op")]!, integer = !FLOAT_TYPES.has(a.type);
    const ra = reader(a, output!.shape), rb = reader(b, output!.shape);
    const out = new Float64Array(volume(output!.shape));
    for (let i = 0; i < out.length; i++) out[i] = f(ra(i), rb(i), integer);
    return [out];
  },
};

const UNARY: Record<string, (x: number) => number> = {
  kEXP: Math.exp, kLOG: Math.log, kSQRT: Math.sqrt, kRECIP: (x) => 1 / x, kABS: Math.abs, kNEG: (x) => -x, kSIN: Math.sin, kCOS: Math.cos,
  kTAN: Math.tan, kSINH: Math.sinh, kCOSH: Math.cosh, kASIN: Math.asin, kACOS: Math.acos, kATAN: Math.atan, kASINH: Math.asinh,
  kACOSH: Math.acosh, kATANH: Math.atanh, kCEIL: Math.ceil, kFLOOR: Math.floor, kERF: erf, kNOT: (x) => Number(x === 0),
  kSIGN: Math.sign, kROUND: roundHalfEven, kISINF: (x) => Number(x === Infinity || x === -Infinity), kISNAN: (x) => Number(Number.isNaN(x)),
};

export const unary: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), op = layer.text("operation");
    const allowed = op === "kNOT" ? x.type === "kBOOL" : op === "kSIGN" || op === "kABS" ? FLOAT_TYPES.has(x.type) || ["kINT8", "kINT32", "kINT64"].includes(x.type) : FLOAT_TYPES.has(x.type);
    requireRule(allowed, "Operations kNOT must have inputs of DataType::kBOOL. Operation kSIGN and kABS must have inputs of floating-point type, DataType::kINT8, DataType::kINT32 or DataType::kINT64. … All other operations must have inputs of floating-point type. (NvInfer.h, enum UnaryOperation)",
      `${op} of a ${x.type} input`);
    return [{ type: op === "kISINF" || op === "kISNAN" ? "kBOOL" : x.type, shape: [...x.shape] }];
  },
  execute(layer, inputs) {
    return [map(needed(inputs, 0, layer), UNARY[layer.text("operation")]!)];
  },
};

export const scale: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), mode = layer.text("mode"), axis = layer.number("channelAxis");
    requireRule(x.shape.length >= 4, "The input tensor is required to have at least 4 dimensions. (NvInfer.h, IScaleLayer)", `a rank-${x.shape.length} input`);
    requireRule(FLOAT_TYPES.has(x.type), "Int32 tensors are not valid input tensors. (NvInfer.h, addScaleNd)", `a ${x.type} input`);
    requireRule(axis >= 0 && axis < x.shape.length, "channelAxis The channel axis. (NvInfer.h, addScaleNd)", `channel axis ${axis} of a rank-${x.shape.length} input`);
    const count = mode === "kUNIFORM" ? 1 : mode === "kCHANNEL" ? x.shape[axis]! : volume(x.shape.slice(axis));
    for (const role of ["shift", "scale", "power"]) {
      const w = layer.weights(role);
      if (!w) continue;
      requireRule(w.values.length === count, "For ScaleMode::kUNIFORM, the number of weights equals 1. For ScaleMode::kCHANNEL, the number of weights equals the channel dimension. For ScaleMode::kELEMENTWISE, the number of weights equals the product of all input dimensions at channelAxis and beyond. (NvInfer.h, addScaleNd)",
        `${role} with ${w.values.length} values in ${mode} mode, expected ${count}`);
      requireRule(w.type === x.type, TYPED, `${role} of type ${w.type} for a ${x.type} input`);
    }
    return [{ ...x }];
  },
  // "output = (input* scale + shift)^ power"; "The default shift is 0, the default power is 1, and the default scale is 1."
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), mode = layer.text("mode"), axis = layer.number("channelAxis");
    const [shift, scale_, power] = ["shift", "scale", "power"].map((r) => layer.weights(r)?.values);
    const inner = volume(x.shape.slice(axis + 1)), channels = x.shape[axis]!, tail = volume(x.shape.slice(axis));
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      const w = mode === "kUNIFORM" ? 0 : mode === "kCHANNEL" ? Math.floor(i / inner) % channels : i % tail;
      const v = x.data[i]! * (scale_ ? scale_[w]! : 1) + (shift ? shift[w]! : 0);
      out[i] = power ? v ** power[w]! : v;
    }
    return [out];
  },
};

export const select: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const [c, a, b] = [0, 1, 2].map((i) => needed(inputs, i, layer));
    requireRule(c!.type === "kBOOL", "condition The condition tensor to the layer. Must have type DataType::kBOOL. (NvInfer.h, addSelect)", `a ${c!.type} condition`);
    requireRule(a!.type === b!.type, TYPED, `branches of types ${a!.type} and ${b!.type}`);
    return [{ type: a!.type, shape: broadcast("All three input tensors must have the same rank, and along each axis must have the same length or a length of one. (NvInfer.h, addSelect)", c!.shape, a!.shape, b!.shape) }];
  },
  execute(layer, inputs, [output]) {
    const [c, a, b] = [0, 1, 2].map((i) => reader(needed(inputs, i, layer), output!.shape));
    const out = new Float64Array(volume(output!.shape));
    for (let i = 0; i < out.length; i++) out[i] = c!(i) !== 0 ? a!(i) : b!(i);
    return [out];
  },
};

export const parametricReLU: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), slope = needed(inputs, 1, layer);
    const rule = "slope The slope tensor to the layer. This tensor should be unidirectionally broadcastable to the input tensor. (NvInfer.h, addParametricReLU)";
    requireRule(slope.shape.length === x.shape.length && slope.shape.every((d, i) => d === 1 || d === x.shape[i]), rule, `a slope of ${slope.shape} for an input of ${x.shape}`);
    requireRule(slope.type === x.type && FLOAT_TYPES.has(x.type), TYPED, `a ${slope.type} slope for a ${x.type} input`);
    return [{ ...x }];
  },
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), slope = reader(needed(inputs, 1, layer), x.shape);
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = x.data[i]! >= 0 ? x.data[i]! : x.data[i]! * slope(i);
    return [out];
  },
};

const CASTABLE = new Set<TensorRTType>(["kFLOAT", "kHALF", "kBF16", "kINT32", "kINT64", "kBOOL", "kUINT8", "kINT8"]);
export const cast: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), to = layer.text("toType") as TensorRTType;
    requireRule(CASTABLE.has(x.type) && CASTABLE.has(to), "This layer casts a given tensor to the datatype specified by toType. (NvInfer.h, ICastLayer)", `a cast from ${x.type} to ${to}`);
    return [{ type: to, shape: [...x.shape] }];
  },
  // Float to integer truncates toward zero, as C's conversion does.
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), to = layer.text("toType");
    return [map(x, (v) => (FLOAT_TYPES.has(to as TensorRTType) || !FLOAT_TYPES.has(x.type) ? v : Math.trunc(v)))];
  },
};

export const identity: LayerRule = {
  setters: [],
  infer: (layer, inputs) => [{ ...needed(inputs, 0, layer) }],
  execute: (layer, inputs) => [Float64Array.from(needed(inputs, 0, layer).data)],
};

const SCALES_POSITIVE = "All scale coefficients must have strictly positive values. (NvInfer.h, IQuantizeLayer, IDequantizeLayer)";

/** The scale of a Q/DQ layer, per tensor (0-d) or along `axis` (1-d); checked as TensorRT documents. */
function quantizationScale(layer: LayerView, x: TensorSpec, scale: TensorSpec): number {
  const rule = "The scale value must be a scalar for per-tensor quantization, a 1D tensor for per-channel quantization … The size of the 1D scale tensor must match the size of the quantization axis. (NvInfer.h, IQuantizeLayer)";
  const axis = layer.setNumber("setAxis", -1);
  if (scale.shape.length === 0) return axis;
  requireRule(layer.rootedAtConstant(0), layer.method === "addQuantize"
    ? "Per-channel quantization is supported only for weight inputs. Thus, Activations cannot be quantized per-channel. (NvInfer.h, IQuantizeLayer)"
    : "Per-channel dequantization is supported only for input that is rooted at an IConstantLayer (i.e. weights). (NvInfer.h, IDequantizeLayer)", "per-channel scales for an activation");
  requireRule(scale.shape.length === 1 && axis >= 0 && axis < x.shape.length && scale.shape[0] === x.shape[axis], rule, `a scale of ${scale.shape} with axis ${axis} for an input of ${x.shape}`);
  return axis;
}

/** Element i's scale (per tensor, or along `axis`), the scales checked positive as TensorRT requires. */
function perAxis(x: TensorValue, scale: TensorValue, axis: number): (i: number) => number {
  requireRule(scale.data.every((v) => v > 0), SCALES_POSITIVE, `scales ${[...scale.data].filter((v) => !(v > 0)).slice(0, 3).join(", ")}`);
  if (scale.shape.length === 0) return () => scale.data[0]!;
  const inner = volume(x.shape.slice(axis + 1)), size = x.shape[axis]!;
  return (i) => scale.data[Math.floor(i / inner) % size]!;
}

export const quantize: LayerRule = {
  setters: ["setAxis"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), scale = needed(inputs, 1, layer), to = layer.text("outputType") as TensorRTType;
    requireRule(FLOAT_TYPES.has(x.type), "The input type, if constrained, must be constrained to DataType::kFLOAT, DataType::kHALF, or DataType::kBF16. (NvInfer.h, IQuantizeLayer)", `a ${x.type} input`);
    requireRule(to === "kINT8" || to === "kFP8", "The output type, if constrained, must be constrained to DataType::kINT8, DataType::kFP8, DataType::kINT4 or DataType::kFP4. (NvInfer.h, IQuantizeLayer)", `output type ${to}`);
    requireRule(scale.type === "kFLOAT" || scale.type === x.type, "For strongly typed networks, if the scale data type is DataType::kHALF or DataType::kBF16, it must match the input data type. (NvInfer.h, IQuantizeLayer)", `a ${scale.type} scale for a ${x.type} input`);
    quantizationScale(layer, x, scale);
    return [{ type: to, shape: [...x.shape] }];
  },
  // "output[n,c,h,w] = clamp(round(input[n,c,h,w] / scale) + zeroPt)"; "Rounding type is rounding-to-nearest
  // ties-to-even … INT8: [-128, 127]" (IQuantizeLayer).
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), scale = needed(inputs, 1, layer), s = perAxis(x, scale, layer.setNumber("setAxis", -1));
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-128, Math.min(127, roundHalfEven(x.data[i]! / s(i))));
    return [out];
  },
};

export const dequantize: LayerRule = {
  setters: ["setAxis"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), scale = needed(inputs, 1, layer), to = layer.text("outputType") as TensorRTType;
    requireRule(x.type === "kINT8" || x.type === "kFP8", "The input type, if constrained, must be constrained to DataType::kINT8, DataType::kFP8, DataType::kINT4 or DataType::kFP4. (NvInfer.h, IDequantizeLayer)", `a ${x.type} input`);
    requireRule(FLOAT_TYPES.has(to), "The output type, if constrained, must be constrained to DataType::kFLOAT, DataType::kHALF, or DataType::kBF16. (NvInfer.h, IDequantizeLayer)", `output type ${to}`);
    quantizationScale(layer, x, scale);
    return [{ type: to, shape: [...x.shape] }];
  },
  // "output[n,c,h,w] = (input[n,c,h,w] - zeroPt) * scale"
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), scale = needed(inputs, 1, layer), s = perAxis(x, scale, layer.setNumber("setAxis", -1));
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = x.data[i]! * s(i);
    return [out];
  },
};
