import type { LayerKind, ResolvedParams } from "../layers/kinds.js";
import { contentHash, LAYER_PARAMS } from "../layers/param-schema.js";
import { isDataType, type DataType } from "./dtype.js";

/**
 * The graph IR: plain, frozen, JSON-serialisable data. Backends read only this. Weights are referenced by
 * `state_dict` name; their values live in a WeightSource.
 */
export interface TensorIR {
  readonly name: string;
  readonly dtype: DataType;
  /** -1 marks a dimension known only at run time. */
  readonly shape: readonly number[];
}

export interface WeightBindingIR {
  /** The weight's name in the weight source (PyTorch's state_dict key), or `<layer>.<role>` for values given inline. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Values given inline in the code, held by the network (`network.weights`), not looked up in a weight source. */
  readonly inline?: true;
}

/** What every layer of the IR holds, whatever its kind. */
export interface LayerIRBase {
  /** Unique within the network; by convention the PyTorch module path (`features.3.conv`). */
  readonly name: string;
  /** Names of the tensors consumed, in the layer's order. */
  readonly inputs: readonly string[];
  /** Names of the tensors produced: the layer's name, then `<name>:1`, … for further outputs. */
  readonly outputs: readonly string[];
  /** Weights by role (`kernel`, `bias`, `mean`, …). */
  readonly weights: Readonly<Record<string, WeightBindingIR>>;
  /** The user's `file:line:column` that added the layer. */
  readonly callSite?: string;
}

/**
 * A layer of the IR: a union over the layer kinds, each with its parameters as its definition resolves them (every
 * default filled in). `switch (layer.kind)` narrows `params`.
 */
export type LayerIR<K extends LayerKind = LayerKind> = {
  [k in K]: LayerIRBase & { readonly kind: k; readonly params: Readonly<ResolvedParams<k>> };
}[K];

export interface OutputIR {
  /** The name the engine gives the output. */
  readonly name: string;
  readonly tensor: string;
}

/**
 * The IR's version, derived from every kind's parameter schema: a kind or parameter added, renamed or retyped gives
 * another version, so an IR of another netdef is refused rather than misread. A change of what a parameter means
 * with its type unchanged must bump MEANING_REVISION.
 */
const MEANING_REVISION = 2;  // 2: pooling's blendFactor and scale's elementwise channelAxis as TensorRT means them
export const IR_VERSION = `${MEANING_REVISION}.${contentHash(LAYER_PARAMS)}`;

export interface NetworkIR {
  readonly format: "netdef.network";
  /** IR_VERSION of the netdef that wrote it. */
  readonly version: string;
  readonly name: string;
  readonly inputs: readonly TensorIR[];
  /** In definition order, which is a topological order. */
  readonly layers: readonly LayerIR[];
  /** Every layer output's dtype and shape. */
  readonly tensors: readonly TensorIR[];
  readonly outputs: readonly OutputIR[];
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isDims = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 64 && v.every((d) => Number.isInteger(d));

/**
 * What keeps `value` from having the IR's structure (fields of the right JSON types; not yet whether its layers hold
 * together, which Network.fromJSON infers), or undefined.
 */
export function irStructureProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return "not an object";
  if (typeof value.name !== "string") return "name is not a string";
  for (const list of ["inputs", "layers", "tensors", "outputs"] as const) if (!Array.isArray(value[list])) return `${list} is not a list`;
  for (const t of [...(value.inputs as unknown[]), ...(value.tensors as unknown[])]) {
    if (!isRecord(t) || typeof t.name !== "string" || !isDataType(t.dtype) || !isDims(t.shape)) return `tensor ${JSON.stringify(t)?.slice(0, 200)} is not { name, dtype, shape }`;
  }
  for (const l of value.layers as unknown[]) {
    if (!isRecord(l) || typeof l.name !== "string" || typeof l.kind !== "string" || !isStrings(l.inputs) || !isStrings(l.outputs) || !isRecord(l.weights)
      || (l.callSite !== undefined && typeof l.callSite !== "string")) return `layer ${JSON.stringify(isRecord(l) ? l.name : l)?.slice(0, 200)} is not { name, kind, inputs, outputs, params, weights }`;
    for (const [role, w] of Object.entries(l.weights)) {
      if (!isRecord(w) || typeof w.name !== "string" || !isDims(w.shape) || (w.inline !== undefined && w.inline !== true)) return `layer "${l.name}": weight ${role} is not { name, shape }`;
    }
  }
  for (const o of value.outputs as unknown[]) if (!isRecord(o) || typeof o.name !== "string" || typeof o.tensor !== "string") return `output ${JSON.stringify(o)?.slice(0, 200)} is not { name, tensor }`;
  return undefined;
}
