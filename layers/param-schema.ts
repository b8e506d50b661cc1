import { createHash } from "node:crypto";
import { DATA_TYPES } from "../dsl/dtype.js";
import { ACTIVATION_TYPES } from "./activation.js";
import { ELEMENT_WISE_OPS } from "./element-wise.js";
import type { LayerKind, ResolvedParams } from "./kinds.js";
import { UNARY_OPS } from "./unary.js";
import { PADDING_MODES } from "./window.js";

/**
 * How one resolved parameter is stored: its type, for strings of a union every value allowed, and whether it may be absent
 * (null in the IR, left out of a plan). Integers are JavaScript numbers within ±2^53.
 */
export type Field =
  | { readonly type: "number" | "integer" | "numbers" | "integers" | "boolean"; readonly optional?: true }
  | { readonly type: "string"; readonly values?: readonly string[]; readonly optional?: true };

type Optional<V> = null extends V ? { readonly optional: true } : undefined extends V ? { readonly optional: true } : { readonly optional?: never };
type Shape<V> =
  [V] extends [readonly number[]] ? { readonly type: "numbers" | "integers" } :
  [V] extends [number] ? { readonly type: "number" | "integer" } :
  [V] extends [boolean] ? { readonly type: "boolean" } :
  [V] extends [string] ? (string extends V ? { readonly type: "string"; readonly values?: never } : { readonly type: "string"; readonly values: readonly V[] }) : never;

/** The field that stores a value of type V: its type must fit V, and it is optional exactly when V may be null. */
export type FieldFor<V> = Shape<NonNullable<V>> & Optional<V>;

/** A schema for parameters of type T: one field for every key (a key missing here, or one too many, does not compile). */
export type ParamSchema<T> = { readonly [P in keyof T]-?: FieldFor<T[P]> };

/** Every value of a string union, as a list the compiler checks complete: `values<PoolingType>({ max: 1, … })`. */
export const values = <T extends string>(all: Record<T, 1>): readonly T[] => Object.keys(all) as T[];

const integer = { type: "integer" } as const;
const integers = { type: "integers" } as const;
const number = { type: "number" } as const;
const boolean = { type: "boolean" } as const;
const window = { kernel: integers, stride: integers, dilation: integers, prePadding: integers, postPadding: integers,
  paddingMode: { type: "string", values: PADDING_MODES }, ceilMode: boolean } as const;

/** Every layer kind's resolved parameters: what the IR records and `Network.fromJSON` checks. */
export const LAYER_PARAMS: { readonly [K in LayerKind]: ParamSchema<ResolvedParams<K>> } = {
  activation: { type: { type: "string", values: ACTIVATION_TYPES }, alpha: number, beta: number },
  batchNorm: { epsilon: number },
  cast: { to: { type: "string", values: DATA_TYPES } },
  concatenation: { axis: integer },
  constant: { shape: integers },
  convolution: { ...window, outChannels: integer, groups: integer, bias: boolean },
  deconvolution: { ...window, outChannels: integer, groups: integer, bias: boolean, outputPadding: integers },
  dequantize: { axis: { type: "integer", optional: true }, to: { type: "string", values: values({ float32: 1, float16: 1, bfloat16: 1 }) } },
  elementWise: { op: { type: "string", values: ELEMENT_WISE_OPS } },
  expand: { shape: integers, dimsFrom: { type: "integers", optional: true } },
  fullyConnected: { outFeatures: integer, inFeatures: integer, bias: boolean },
  gather: { axis: integer },
  identity: {},
  lrn: { window: integer, alpha: number, beta: number, k: number },
  matrixMultiply: {
    opA: { type: "string", values: values({ none: 1, transpose: 1, vector: 1 }) },
    opB: { type: "string", values: values({ none: 1, transpose: 1, vector: 1 }) },
  },
  normalization: { type: { type: "string", values: values({ layer: 1, instance: 1, group: 1 }) }, axes: integers, groups: integer, epsilon: number, affine: boolean },
  padding: { pre: integers, post: integers, value: number },
  parametricReLU: { numParameters: integer },
  pooling: { ...window, type: { type: "string", values: values({ max: 1, average: 1, max_average_blend: 1 }) }, countIncludePad: boolean, blendFactor: number },
  quantize: { axis: { type: "integer", optional: true } },
  reduce: { op: { type: "string", values: values({ sum: 1, prod: 1, max: 1, min: 1, avg: 1 }) }, axes: integers, keepDims: boolean },
  resize: {
    mode: { type: "string", values: values({ nearest: 1, linear: 1, cubic: 1 }) },
    scales: { type: "numbers", optional: true },
    outputShape: { type: "integers", optional: true },
    coordinateTransformation: { type: "string", values: values({ asymmetric: 1, align_corners: 1, half_pixel: 1 }) },
    nearestRounding: { type: "string", values: values({ floor: 1, ceil: 1, round_prefer_floor: 1, round_prefer_ceil: 1 }) },
    cubicCoefficient: number,
  },
  scale: { mode: { type: "string", values: values({ uniform: 1, channel: 1, elementwise: 1 }) }, channelAxis: integer },
  select: {},
  shuffle: { firstTranspose: integers, reshape: { type: "integers", optional: true }, dimsFrom: { type: "integers", optional: true }, secondTranspose: integers },
  slice: { start: integers, size: integers, stride: integers },
  softMax: { axis: integer },
  topK: { op: { type: "string", values: values({ max: 1, min: 1 }) }, k: integer, axis: integer },
  unary: { op: { type: "string", values: UNARY_OPS } },
};

/** Why `value` does not fit `field`, or undefined when it does. */
export function fieldMismatch(field: Field, value: unknown): string | undefined {
  if (value === null || value === undefined) return field.optional ? undefined : "missing";
  const isInteger = (v: unknown) => Number.isSafeInteger(v);
  const isNumber = (v: unknown) => typeof v === "number" && !Number.isNaN(v);
  switch (field.type) {
    case "number": return isNumber(value) ? undefined : `${JSON.stringify(value)} is not a number`;
    case "integer": return isInteger(value) ? undefined : `${JSON.stringify(value)} is not an integer`;
    case "boolean": return typeof value === "boolean" ? undefined : `${JSON.stringify(value)} is not a boolean`;
    case "numbers": return Array.isArray(value) && value.every(isNumber) ? undefined : `${JSON.stringify(value)} is not a list of numbers`;
    case "integers": return Array.isArray(value) && value.every(isInteger) ? undefined : `${JSON.stringify(value)} is not a list of integers`;
    case "string":
      if (typeof value !== "string") return `${JSON.stringify(value)} is not a string`;
      return !field.values || field.values.includes(value) ? undefined : `${JSON.stringify(value)} is not one of ${field.values.join(", ")}`;
  }
}

/** Every problem with `params` against `schema`: fields missing or of the wrong type, keys the schema lacks. */
export function paramProblems(schema: Readonly<Record<string, Field>>, params: unknown): string[] {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return ["parameters are not an object"];
  const record = params as Record<string, unknown>;
  const problems = Object.entries(schema).flatMap(([key, field]) => {
    const why = Object.hasOwn(record, key) || !field.optional ? fieldMismatch(field, record[key]) : undefined;
    return why ? [`parameter '${key}': ${why}`] : [];
  });
  for (const key of Object.keys(record)) if (!Object.hasOwn(schema, key)) problems.push(`parameter '${key}' is not one of this kind's`);
  return problems;
}

/** A short content hash (the first 12 hex digits of SHA-256), for versions derived from what they depend on. */
export const contentHash = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
