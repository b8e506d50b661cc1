import type { LayerKind, ResolvedParams } from "../layers/kinds.js";
import { contentHash, LAYER_PARAMS } from "../layers/param-schema.js";
import type { DataType } from "./dtype.js";

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
