import type { DataType } from "../dsl/dtype.js";
import { formatShape } from "../dsl/shape.js";
import { ExecutionError, type NativeInput, type NativeOutput } from "../native/addon.js";
import type { CheckedInput } from "./backend.js";
import type { IOTensor } from "../plan/header.js";
import { float16BitsToNumber, numberToFloat16Bits } from "../weights/tensor.js";

/**
 * The typed array that holds each data type's values, for inputs and outputs alike. float16 and bfloat16 values are
 * their 16-bit patterns (Node 20 has no Float16Array); bool is one byte a value, 0 or 1.
 */
export interface ArrayOf {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

const ARRAYS: { readonly [D in DataType]: abstract new (length: number) => ArrayOf[D] } = {
  float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array, int8: Int8Array, uint8: Uint8Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
};

export type InputArray = ArrayOf[DataType];
/** An input: the typed array of its data type (ArrayOf) and the input's exact shape (static inputs), or the data with its shape. */
export type InputValue = InputArray | { data: InputArray; shape: readonly number[] };

/** An output: its values in the typed array of its data type (ArrayOf), its shape and data type. */
export type OutputValue = { [D in DataType]: { data: ArrayOf[D]; shape: number[]; dtype: D } }[DataType];

/**
 * Each input checked against the engine's: name, data type (its array), shape, and the optimization profile's
 * ranges (`profile`'s, or any profile's where undefined).
 */
export function checkedInputs(expected: readonly IOTensor[], inputs: Record<string, InputValue>, profile: number | undefined): CheckedInput[] {
  if (typeof inputs !== "object" || inputs === null) throw new ExecutionError("execute(inputs): inputs must be an object of named arrays");
  const unknown = Object.keys(inputs).filter((n) => !expected.some((t) => t.name === n));
  if (unknown.length) throw new ExecutionError(`unknown input(s) ${unknown.map((n) => `'${n}'`).join(", ")}; the engine's inputs are ${expected.map((t) => `'${t.name}'`).join(", ")}`);
  return expected.map((tensor) => {
    const value = inputs[tensor.name];
    if (value === undefined) throw new ExecutionError(`missing input '${tensor.name}' (${tensor.dtype} ${formatShape(tensor.shape)})`);
    const { data, shape } = ArrayBuffer.isView(value) ? { data: value, shape: tensor.shape } : value;
    const Array = ARRAYS[tensor.dtype];
    if (!(data instanceof Array)) {
      const article = /^[AEIOU]/.test(Array.name) ? "an" : "a";
      throw new ExecutionError(`input '${tensor.name}' is ${tensor.dtype}: pass its values in ${article} ${Array.name}${tensor.dtype.endsWith("float16") ? " of 16-bit patterns" : ""}, received ${describe(data)}`);
    }
    if (!globalThis.Array.isArray(shape)) throw new ExecutionError(`input '${tensor.name}': shape must be an array of dimensions, received ${describe(shape)}`);
    if (shape.some((d) => d < 0)) throw new ExecutionError(`input '${tensor.name}' has dynamic shape ${formatShape(tensor.shape)}: pass { data, shape } with the actual shape`);
    if (shape.length !== tensor.shape.length || shape.some((d, i) => !Number.isInteger(d) || d < 1 || (tensor.shape[i] !== -1 && d !== tensor.shape[i]))) {
      throw new ExecutionError(`input '${tensor.name}' has shape ${formatShape(shape)}, expected ${formatShape(tensor.shape)}`);
    }
    const ranges = profile === undefined ? tensor.profiles : tensor.profiles?.slice(profile, profile + 1);
    if (ranges?.length && !ranges.some((p) => shape.every((d, i) => d >= p.min[i]! && d <= p.max[i]!))) {
      const which = profile === undefined ? "the optimization profile(s)" : `optimization profile ${profile} (this context's)`;
      throw new ExecutionError(`input '${tensor.name}' shape ${formatShape(shape)} is outside ${which}: ${ranges.map((p) => `${formatShape(p.min)}…${formatShape(p.max)}`).join(", ")}`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new ExecutionError(`input '${tensor.name}' holds ${data.length} values but shape ${formatShape(shape)} needs ${count}`);
    return { name: tensor.name, dtype: tensor.dtype, data, shape: [...shape] };
  });
}

/** An input as the builtin engine takes it. */
export function builtinInput(input: CheckedInput): NativeInput {
  return { name: input.name, data: nativeData(input.dtype, input.data), shape: input.shape };
}

function describe(value: unknown): string {
  return ArrayBuffer.isView(value) ? value.constructor.name : Object.prototype.toString.call(value).slice(8, -1);
}

/** The values as the native engine takes them: float32 (every type that float32 holds exactly) or the integers themselves. */
function nativeData(dtype: DataType, data: InputArray): NativeInput["data"] {
  switch (dtype) {
    case "float32": case "int32": case "int64": return data as Float32Array | Int32Array | BigInt64Array;
    case "float16": return Float32Array.from(data as Uint16Array, float16BitsToNumber);
    case "bfloat16": {
      const out = new Float32Array(data.length), bits = new Uint32Array(out.buffer);
      (data as Uint16Array).forEach((h, i) => { bits[i] = h << 16; });
      return out;
    }
    case "int8": case "uint8": case "bool": return Float32Array.from(data as Int8Array | Uint8Array, (v) => (dtype === "bool" ? Number(v !== 0) : v));
  }
}

/** A builtin engine's output in the typed array of its data type (the values are already of that type: nothing is rounded here). */
export function builtinOutput(tensor: IOTensor, output: NativeOutput): OutputValue {
  const { data } = output, shape = output.shape;
  const value = (converted: InputArray) => ({ data: converted, shape, dtype: tensor.dtype }) as OutputValue;
  switch (tensor.dtype) {
    case "float32": return value(data as Float32Array);
    case "int64": return value(data as BigInt64Array);
    case "int32": return value(data instanceof BigInt64Array ? Int32Array.from(data, Number) : Int32Array.from(data));
    case "float16": return value(Uint16Array.from(data as Float32Array, numberToFloat16Bits));
    case "bfloat16": {
      const floats = data as Float32Array;
      return value(Uint16Array.from(new Uint32Array(floats.buffer, floats.byteOffset, floats.length), (b) => b >>> 16));
    }
    case "int8": return value(Int8Array.from(data as Float32Array));
    case "uint8": case "bool": return value(Uint8Array.from(data as Float32Array));
  }
}

/** An output given as the bytes of its data type's values (TensorRT's), in that type's array. */
export function outputFromBytes(dtype: DataType, bytes: Uint8Array, shape: number[]): OutputValue {
  const Array = ARRAYS[dtype] as unknown as new (buffer: ArrayBufferLike, offset: number, length: number) => InputArray;
  const size = (ARRAYS[dtype] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const copy = bytes.slice();  // its own buffer, aligned for the type
  return { data: new Array(copy.buffer, 0, copy.length / size), shape, dtype } as OutputValue;
}

/** An input's bytes, as TensorRT takes them. */
export function inputBytes(input: CheckedInput): Uint8Array {
  return new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
}

/** An output's values as numbers: 16-bit float patterns decoded, integers (int64 too) as numbers. */
export function outputNumbers(output: OutputValue): number[] {
  if (output.dtype === "float16") return Array.from(output.data, float16BitsToNumber);
  if (output.dtype === "bfloat16") {
    const bits = new Uint32Array(Array.from(output.data, (b) => b << 16));
    return Array.from(new Float32Array(bits.buffer));
  }
  return Array.from(output.data as ArrayLike<number | bigint>, Number);
}
