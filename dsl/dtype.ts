/** Element types a tensor or weight can hold; names follow numpy/PyTorch, each maps to one TensorRT `DataType`. */
export const DATA_TYPES = ["float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"] as const;
export type DataType = (typeof DATA_TYPES)[number];

export const FLOAT_TYPES: readonly DataType[] = ["float32", "float16", "bfloat16"];

export function isDataType(value: unknown): value is DataType {
  return typeof value === "string" && (DATA_TYPES as readonly string[]).includes(value);
}

export function isFloatType(dtype: DataType): boolean {
  return FLOAT_TYPES.includes(dtype);
}

/** Bytes per element; what a buffer of `count` elements of this type occupies. */
export const DTYPE_SIZE: Readonly<Record<DataType, number>> = {
  float32: 4, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int32: 4, int64: 8, bool: 1,
};
