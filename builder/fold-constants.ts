import { addon } from "../native/addon.js";
import { encodePlan } from "../plan/encode.js";
import type { BuildGraph, BuildOp } from "./graph.js";
import { removeDeadLayers } from "./passes.js";

/**
 * Constant folding: a layer whose inputs are all constants is computed once, at build time, by the builtin
 * kernels themselves, and becomes a constant; constants nothing reads any more are dropped. Returns the layers
 * folded. (Asynchronous, so it runs after the synchronous passes.)
 */
export async function foldConstants(graph: BuildGraph): Promise<string[]> {
  const producer = new Map<string, BuildOp>();
  for (const op of graph.ops) if (op.kind === "constant") producer.set(op.outputs[0]!, op);
  const folded: string[] = [];
  for (const [index, op] of graph.ops.entries()) {
    if (op.kind === "constant" || op.outputs.length !== 1 || op.inputs.length === 0 || !op.inputs.every((t) => producer.has(t))) continue;
    const output = op.outputs[0]!;
    const info = graph.tensors.get(output)!;
    if (info.shape.some((d) => d < 0)) continue;
    const feeding = [...new Set(op.inputs.map((t) => producer.get(t)!))];
    const tensors = new Map([...feeding.map((c) => [c.outputs[0]!, graph.tensors.get(c.outputs[0]!)!] as const), [output, info] as const]);
    const plan = encodePlan({ name: `fold.${op.name}`, inputs: [], tensors, ops: [...feeding, op], outputs: [{ name: output, tensor: output }] }, {});
    const engine = await addon().Engine.deserialize(plan);
    try {
      const { outputs } = await engine.createContext().execute([], false);
      const constant: BuildOp = {
        kind: "constant", name: op.name, inputs: [], outputs: [output], params: { shape: [...info.shape] },
        weights: { values: outputs[0]!.data }, weightNames: {}, fusedFrom: op.fusedFrom,
      };
      graph.ops[index] = constant;
      producer.set(output, constant);
      folded.push(op.name);
    } finally {
      engine.dispose();
    }
  }
  removeDeadLayers(graph);
  return folded;
}
