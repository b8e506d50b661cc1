/** A weight as stored: element type, shape and the elements, row-major (C order). */

export const WEIGHT_DTYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "bool"] as const;
export type WeightDType = (typeof WEIGHT_DTYPES)[number];

/** float16 and bfloat16 are held as their raw 16-bit patterns; bool as one byte per element. */
export type WeightArray = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | BigUint64Array | Uint32Array | Uint16Array | Uint8Array;

export interface WeightTensor {
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  readonly data: WeightArray;
  /** Set by formats that store no shape (tensorrtx .wts): `shape` is [count] and only the count is checked. */
  readonly flat?: boolean;
}

export const WEIGHT_DTYPE_SIZE: Readonly<Record<WeightDType, number>> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1,
};

/** A typed-array view of `count` elements of `dtype` at `byteOffset` (which must be aligned for it). */
export function typedArrayFor(dtype: WeightDType, buffer: ArrayBufferLike, byteOffset: number, count: number): WeightArray {
  switch (dtype) {
    case "float64": return new Float64Array(buffer, byteOffset, count);
    case "float32": return new Float32Array(buffer, byteOffset, count);
    case "float16": case "bfloat16": case "uint16": return new Uint16Array(buffer, byteOffset, count);
    case "int64": return new BigInt64Array(buffer, byteOffset, count);
    case "int32": return new Int32Array(buffer, byteOffset, count);
    case "int16": return new Int16Array(buffer, byteOffset, count);
    case "int8": return new Int8Array(buffer, byteOffset, count);
    case "uint64": return new BigUint64Array(buffer, byteOffset, count);
    case "uint32": return new Uint32Array(buffer, byteOffset, count);
    case "uint8": case "bool": return new Uint8Array(buffer, byteOffset, count);
  }
}

export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The 16-bit pattern of a float16 value (ties to even where it is not one; ±∞ beyond 65504; NaN stays NaN). */
export function numberToFloat16Bits(value: number): number {
  const f = new Float32Array([value]), bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000, magnitude = Math.abs(value);
  if (Number.isNaN(value)) return sign | 0x7e00;
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) {  // subnormal: steps of 2^-24
    const scaled = magnitude * 2 ** 24, floor = Math.floor(scaled), fraction = scaled - floor;
    return sign | (floor + (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? 1 : 0));
  }
  const exponent = ((bits >>> 23) & 0xff) - 112, mantissa = bits & 0x7fffff;
  const kept = mantissa >>> 13, rest = mantissa & 0x1fff;
  const rounded = (exponent << 10 | kept) + (rest > 0x1000 || (rest === 0x1000 && (kept & 1)) ? 1 : 0);
  return sign | rounded;
}

/**
 * The elements as float32. float32 data is returned as is (no copy); every other type converts, exactly where
 * float32 can represent the value (all of f16/bf16/(u)int8/(u)int16, wider integers up to 2^24 in magnitude; float64 rounds to nearest).
 */
export function toFloat32(tensor: WeightTensor): Float32Array {
  const { dtype, data } = tensor;
  if (dtype === "float32") return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === "float16") for (let i = 0; i < out.length; i++) out[i] = float16BitsToNumber((data as Uint16Array)[i]!);
  else if (dtype === "bfloat16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = (data as Uint16Array)[i]! << 16;
  } else if (dtype === "int64" || dtype === "uint64") for (let i = 0; i < out.length; i++) out[i] = Number((data as BigInt64Array)[i]!);
  else out.set(data as Exclude<WeightArray, BigInt64Array | BigUint64Array>);
  return out;
}

/** An integer constant's values as int64, exactly, or what is wrong with them: fractions, or values the type cannot hold. */
export function toInt64(tensor: WeightTensor, dtype: "int32" | "int64"): BigInt64Array | string {
  const { data } = tensor;
  const out = new BigInt64Array(data.length);
  const [low, high] = dtype === "int32" ? [-(2n ** 31n), 2n ** 31n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  const floats = tensor.dtype === "float16" || tensor.dtype === "bfloat16" ? toFloat32(tensor) : undefined;
  for (let i = 0; i < data.length; i++) {
    const value = floats ? floats[i]! : data[i]!;
    if (typeof value === "number" && !Number.isInteger(value)) return `holds ${value}, which is not an integer, for an ${dtype} constant`;
    const integer = BigInt(value);
    if (integer < low || integer > high) return `holds ${integer}, outside the range of ${dtype}`;
    out[i] = integer;
  }
  return out;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
