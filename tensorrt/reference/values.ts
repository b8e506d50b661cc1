import { roundToBfloat16, roundToFloat16 } from "../../precision/reduced-float.js";
import { float16BitsToNumber } from "../../weights/tensor.js";
import type { DefinedWeights, TensorRTType } from "./network.js";

/** A tensor's type and dimensions, as TensorRT infers them. */
export interface TensorSpec {
  type: TensorRTType;
  shape: number[];
  /** A shape tensor's values, which TensorRT knows at build time from the input dimensions. */
  data?: Float64Array;
}

/** A tensor's values, every type held in float64 (integers exactly up to 2^53). */
export interface TensorValue extends TensorSpec {
  data: Float64Array;
}

export const FLOAT_TYPES: ReadonlySet<TensorRTType> = new Set(["kFLOAT", "kHALF", "kBF16"]);

export const volume = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) { strides[i] = s; s *= shape[i]!; }
  return strides;
}

/** The multi-index of flat position `flat` in `shape`. */
export function indexOf(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) { index[i] = flat % shape[i]!; flat = Math.floor(flat / shape[i]!); }
  return index;
}

/** How the reference holds float tensors: unrounded (an ideal float64 run), or rounded to each tensor's declared type. */
export type ReferencePrecision = "float64" | "declared";

/**
 * `data` as a tensor of `type` stores it: integers wrapped to their width, booleans 0/1; in "declared" precision,
 * float32, float16 and bfloat16 rounded to nearest (ties to even), as TensorRT stores each layer's output. In place.
 */
export function store(type: TensorRTType, data: Float64Array, precision: ReferencePrecision): Float64Array {
  const declared = precision === "declared";
  const round = type === "kINT32" ? (v: number) => v | 0 : type === "kBOOL" ? (v: number) => (v !== 0 ? 1 : 0) : type === "kUINT8" ? (v: number) => v & 255
    : !declared ? undefined : type === "kHALF" ? roundToFloat16 : type === "kBF16" ? roundToBfloat16 : type === "kFLOAT" ? Math.fround : undefined;
  if (round) for (let i = 0; i < data.length; i++) data[i] = round(data[i]!);
  return data;
}

/** Weights' values: what TensorRT reads from the bytes the lowering gave it, in their type. */
export function weightValues(w: DefinedWeights): Float64Array {
  const view = new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
  const out = new Float64Array(w.count);
  for (let i = 0; i < w.count; i++) {
    switch (w.type) {
      case "kFLOAT": out[i] = view.getFloat32(i * 4, true); break;
      case "kHALF": out[i] = float16BitsToNumber(view.getUint16(i * 2, true)); break;
      case "kBF16": out[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]!; break;
      case "kINT32": out[i] = view.getInt32(i * 4, true); break;
      case "kINT64": out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case "kINT8": out[i] = view.getInt8(i); break;
      case "kUINT8": case "kBOOL": out[i] = view.getUint8(i); break;
      default: throw new Error(`weights of type ${w.type} are not modelled by the reference`);
    }
  }
  return out;
}
