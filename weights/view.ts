import { typedArrayFor, WEIGHT_DTYPE_SIZE, type WeightArray, type WeightDType } from "./tensor.js";

/**
 * Elements of `dtype` stored little-endian at `offset` in `bytes`: a view over the same memory when aligned,
 * else an aligned copy (typed arrays cannot start at a misaligned byte).
 */
export function littleEndianElements(bytes: Uint8Array, offset: number, count: number, dtype: WeightDType): WeightArray {
  const size = WEIGHT_DTYPE_SIZE[dtype];
  const start = bytes.byteOffset + offset;
  if (start % size === 0) return typedArrayFor(dtype, bytes.buffer, start, count);
  const copy = bytes.slice(offset, offset + count * size);
  return typedArrayFor(dtype, copy.buffer, 0, count);
}
