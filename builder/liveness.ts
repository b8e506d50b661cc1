import { shapeAt, type LiveTensor, type Liveness } from "../plan/memory.js";
import type { BuildGraph } from "./graph.js";

/**
 * Liveness over the optimised graph: a tensor is live from the layer that writes it to the last that reads it
 * (network outputs to the end). `optShapes` fixes the dynamic dimensions; other dims come from the IR.
 */
export function liveness(graph: BuildGraph, optShapes: Record<string, readonly number[]>): Liveness {
  const values = (name: string) => shapeAt(optShapes, name, graph.tensors.get(name)!.shape).reduce((a, b) => a * b, 1);
  const lastUse = new Map<string, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => lastUse.set(t, i)));
  for (const o of graph.outputs) lastUse.set(o.tensor, graph.ops.length);
  const tensors: LiveTensor[] = graph.inputs.map((t) => ({ name: t.name, values: values(t.name), from: -1, to: lastUse.get(t.name) ?? -1 }));
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => tensors.push({ name: t, values: values(t), from: i, to: lastUse.get(t) ?? i })));
  return { tensors, steps: graph.ops.length, shapes: Object.fromEntries(Object.entries(optShapes).map(([k, v]) => [k, [...v]])) };
}
