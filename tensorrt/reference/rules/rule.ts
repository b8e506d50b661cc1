import type { LayerView } from "../layer.js";
import type { TensorSpec, TensorValue } from "../values.js";

/**
 * How the reference takes one INetworkDefinition method's layers: `infer` validates the layer as TensorRT does at
 * definition and build time (each refusal a RuleViolation citing its header text) and gives its outputs' types and
 * dimensions by TensorRT's rules; `execute` computes them with plain loops, in float64.
 */
export interface LayerRule {
  /** The setters TensorRT's layer of this kind has (calling another is a violation). */
  readonly setters: readonly string[];
  infer(layer: LayerView, inputs: readonly (TensorSpec | undefined)[]): TensorSpec[];
  execute(layer: LayerView, inputs: readonly (TensorValue | undefined)[], outputs: readonly TensorSpec[]): Float64Array[];
}

/** The input at `index`, which the layer must have. */
export function needed<T>(inputs: readonly (T | undefined)[], index: number, layer: LayerView): T {
  const input = inputs[index];
  if (input === undefined) throw new Error(`${layer.name}: input ${index} is missing`);
  return input;
}
