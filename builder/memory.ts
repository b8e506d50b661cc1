import type { BuildGraph } from "./graph.js";

/** Activation memory of a plan at one input shape: every tensor held at once, against the peak of the live set. */
export interface ActivationMemory {
  /** Bytes if every tensor had its own buffer for the whole execution. */
  naiveBytes: number;
  /** The largest sum of live tensors at any layer (inputs and outputs included), which buffer reuse achieves. */
  peakBytes: number;
  /** The input shapes these figures are for (the profiles' opt shapes). */
  shapes: Record<string, number[]>;
}

/**
 * Liveness over the optimised graph: a tensor is live from the layer that writes it to the last that reads it
 * (network outputs to the end). `optShapes` fixes the dynamic dimensions; other dims come from the IR.
 */
export function activationMemory(graph: BuildGraph, optShapes: Record<string, readonly number[]>): ActivationMemory {
  const bytes = new Map<string, number>();
  const batch = (Object.values(optShapes)[0]?.[0]) ?? 1;
  for (const [name, t] of graph.tensors) {
    const shape = optShapes[name] ?? t.shape.map((d) => (d < 0 ? batch : d));
    bytes.set(name, 4 * shape.reduce((a, b) => a * b, 1));
  }
  const lastUse = new Map<string, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => lastUse.set(t, i)));
  for (const o of graph.outputs) lastUse.set(o.tensor, graph.ops.length);
  const live = new Set(graph.inputs.map((t) => t.name));
  const sum = () => [...live].reduce((s, t) => s + bytes.get(t)!, 0);
  let peak = sum();
  graph.ops.forEach((op, i) => {
    op.outputs.forEach((t) => live.add(t));
    peak = Math.max(peak, sum());
    for (const t of op.inputs) if (lastUse.get(t) === i) live.delete(t);
    for (const t of op.outputs) if (!lastUse.has(t)) live.delete(t);
  });
  const used = new Set([...graph.inputs.map((t) => t.name), ...graph.ops.flatMap((op) => op.outputs)]);
  const naiveBytes = [...used].reduce((s, t) => s + bytes.get(t)!, 0);
  return { naiveBytes, peakBytes: peak, shapes: Object.fromEntries(Object.entries(optShapes).map(([k, v]) => [k, [...v]])) };
}
