/** Element types a tensor or weight can hold; names follow numpy/PyTorch, each maps to one TensorRT `DataType`. */
export const DATA_TYPES = ["float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"] as const;
export type DataType = (typeof DATA_TYPES)[number];

export function isDataType(value: unknown): value is DataType {
  return typeof value === "string" && (DATA_TYPES as readonly string[]).includes(value);
}
