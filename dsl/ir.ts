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
  /** The weight's name in the weight source (PyTorch's state_dict key). */
  readonly name: string;
  readonly shape: readonly number[];
}

export interface LayerIR {
  readonly kind: string;
  /** Unique within the network; by convention the PyTorch module path (`features.3.conv`). */
  readonly name: string;
  /** Names of the tensors consumed, in the layer's order. */
  readonly inputs: readonly string[];
  /** Names of the tensors produced: the layer's name, then `<name>:1`, … for further outputs. */
  readonly outputs: readonly string[];
  /** Every parameter with its default filled in (the layer's `…Resolved` type). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Weights by role (`kernel`, `bias`, `mean`, …). */
  readonly weights: Readonly<Record<string, WeightBindingIR>>;
  /** The user's `file:line:column` that added the layer. */
  readonly callSite?: string;
}

export interface OutputIR {
  /** The name the engine gives the output. */
  readonly name: string;
  readonly tensor: string;
}

export interface NetworkIR {
  readonly format: "netdef.network";
  readonly version: 1;
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
