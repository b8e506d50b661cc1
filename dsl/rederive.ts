import { isDeepStrictEqual } from "node:util";
import { LAYER_ARITY, LAYERS } from "../layers/kinds.js";
import { LayerContext, type LayerDefinition, type TensorDesc } from "../layers/layer.js";
import { NetworkError } from "./errors.js";
import type { LayerIR, TensorIR } from "./ir.js";
import { formatShape } from "./shape.js";

const describe = (t: TensorDesc) => `${t.dtype} ${formatShape(t.shape)}`;

/**
 * Infers a layer of an IR again, as the DSL did when it was defined, from its recorded inputs and parameters: undefined
 * where the IR records what that inference gives (parameters, output names, dtypes and shapes, weight roles and
 * shapes), else how it differs. An IR read from a file or a plan is trusted no further than this.
 */
export function rederive(layer: LayerIR, inputs: readonly TensorIR[], outputs: readonly TensorIR[]): string | undefined {
  // K and its params correlate, which TypeScript cannot follow into the union of definitions.
  const definition = LAYERS[layer.kind] as LayerDefinition<string, unknown, unknown>;
  const arity = LAYER_ARITY[layer.kind], [least, most] = arity.inputs;
  if (inputs.length < least || inputs.length > most) return `has ${inputs.length} inputs, but its kind takes ${least === most ? least : `${least} to ${most}`}`;
  if (outputs.length !== arity.outputs) return `has ${outputs.length} outputs, but its kind gives ${arity.outputs}`;
  let inference;
  try {
    const given = definition.fromResolved(layer.params, { inputs, outputs, weights: layer.weights });
    inference = definition.infer(new LayerContext(layer.name, layer.kind, layer.callSite), inputs, given);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    return `does not infer from its recorded inputs (${inputs.map(describe).join(", ")}) and parameters: ${error.message}`;
  }
  const params = JSON.parse(JSON.stringify(inference.params)) as unknown;
  if (!isDeepStrictEqual(params, layer.params)) {
    return `records parameters ${JSON.stringify(layer.params)}, but its inputs and parameters resolve to ${JSON.stringify(params)}`;
  }
  const names = inference.outputs.map((_, i) => (i === 0 ? layer.name : `${layer.name}:${i}`));
  if (!isDeepStrictEqual(names, layer.outputs)) return `records outputs ${layer.outputs.join(", ")}, but it has ${names.join(", ")}`;
  for (const [i, o] of inference.outputs.entries()) {
    const recorded = outputs[i]!;
    if (o.dtype !== recorded.dtype || !isDeepStrictEqual([...o.shape], [...recorded.shape])) {
      return `records output "${recorded.name}" as ${describe(recorded)}, but its inputs and parameters give ${describe(o)}`;
    }
  }
  const requested = Object.fromEntries((inference.weights ?? []).map((w) => [w.role, [...w.shape]]));
  const recorded = Object.fromEntries(Object.entries(layer.weights).map(([role, w]) => [role, [...w.shape]]));
  if (!isDeepStrictEqual(requested, recorded)) {
    const list = (w: Record<string, number[]>) => Object.entries(w).map(([role, shape]) => `${role} ${formatShape(shape)}`).join(", ") || "none";
    return `records weights ${list(recorded)}, but its inputs and parameters need ${list(requested)}`;
  }
  return undefined;
}
