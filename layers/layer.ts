import type { DataType } from "../dsl/dtype.js";
import { NetworkError, type NetworkIssue } from "../dsl/errors.js";
import { formatShape, normalizeAxis, type Shape } from "../dsl/shape.js";
import type { WeightTensor } from "../weights/tensor.js";

/** What a layer knows about each of its inputs and outputs while the network is defined. */
export interface TensorDesc {
  readonly dtype: DataType;
  readonly shape: Shape;
}

/**
 * A weight given to a layer: the `state_dict` name to look up in the network's weight source, or the values
 * themselves: a typed array of the layer's shape (Float32Array; Int32Array or BigInt64Array for an integer
 * constant's values or gather indices), or a full WeightTensor.
 */
export type WeightInput = string | InlineValues | WeightTensor;
export type InlineValues = Float32Array | Int32Array | BigInt64Array;

/** A weight a layer needs: its role, where to find it and the shape the layer's parameters imply. */
export interface WeightRequest {
  readonly role: string;
  readonly input: WeightInput;
  readonly shape: readonly number[];
  /** Why that shape, as the tail of a sentence: "the input has 32 channels". */
  readonly because: string;
}

/** The result of checking a layer's parameters against its inputs. */
export interface Inference<R> {
  readonly params: R;
  readonly outputs: readonly TensorDesc[];
  readonly weights?: readonly WeightRequest[];
}

/** Reports problems with a layer's arguments as NetworkErrors naming the layer and the user's line. */
export class LayerContext {
  constructor(readonly layer: string, readonly kind: string, readonly callSite: string | undefined) {}

  fail(argument: string, expected: string, received: string, code: NetworkIssue["code"] = "invalid_argument", message?: string): never {
    throw new NetworkError([{
      code, layer: this.layer, kind: this.kind, argument, expected, received, callSite: this.callSite,
      message: message ?? `${this.layer} (${this.kind}): ${argument} must be ${expected}, but received ${received}`,
    }]);
  }

  /** An axis checked against `rank` and made non-negative. */
  axis(argument: string, axis: number, rank: number): number {
    return normalizeAxis(axis, rank) ?? this.fail(argument, `an integer in [${-rank}, ${rank - 1}] for a rank-${rank} input`, String(axis));
  }

  /** An input's rank checked. */
  rank(input: TensorDesc, allowed: (rank: number) => boolean, expected: string, which = "input"): void {
    if (!allowed(input.shape.length)) this.fail(which, expected, `shape ${formatShape(input.shape)} (rank ${input.shape.length})`, "shape_mismatch");
  }

  /** A positive integer (or `min`-bounded integer) argument. */
  int(argument: string, value: number, min = 1): number {
    if (!Number.isInteger(value) || value < min) this.fail(argument, `an integer ≥ ${min}`, String(value));
    return value;
  }

  /** A scalar or per-dimension list of integers ≥ min, expanded to `count` values. */
  ints(argument: string, value: number | readonly number[], count: number, min: number): number[] {
    const list = typeof value === "number" ? Array<number>(count).fill(value) : [...value];
    if (list.length !== count) this.fail(argument, `a number or a list of ${count}`, `a list of ${list.length} (${formatShape(list)})`);
    for (const v of list) if (!Number.isInteger(v) || v < min) this.fail(argument, `integers ≥ ${min}`, formatShape(list));
    return list;
  }

  oneOf<T extends string>(argument: string, value: T, allowed: readonly T[]): T {
    if (!allowed.includes(value)) this.fail(argument, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, JSON.stringify(value));
    return value;
  }

  dtype(input: TensorDesc, allowed: readonly DataType[], which = "input"): void {
    if (!allowed.includes(input.dtype)) this.fail(which, `of type ${allowed.join(" or ")}`, input.dtype, "dtype_mismatch");
  }
}

/**
 * One layer kind: its parameters as the user gives them (P), checked and resolved with every default filled in (R,
 * what the IR records), and its outputs inferred.
 */
export interface LayerDefinition<K extends string, P, R> {
  readonly kind: K;
  infer(ctx: LayerContext, inputs: readonly TensorDesc[], params: P): Inference<R>;
  /**
   * Parameters as a user would give them that resolve to `resolved`: Network.fromJSON (and so every plan load and
   * refit) infers each recorded layer again from them rather than trusting the shapes and weights the IR declares.
   */
  fromResolved(resolved: R, recorded: RecordedLayer): P;
}

/** What the IR records of a layer besides its parameters: its inputs, its weights' names by role, its outputs. */
export interface RecordedLayer {
  readonly inputs: readonly TensorDesc[];
  readonly weights: Readonly<Record<string, { readonly name: string }>>;
  readonly outputs: readonly TensorDesc[];
}

/** `fromResolved` of the kinds whose resolved parameters are parameters a user could give as they are. */
export const resolvedAsGiven = <R>(resolved: R): R => resolved;

export const defineLayer = <K extends string, P, R>(definition: LayerDefinition<K, P, R>): LayerDefinition<K, P, R> => definition;
