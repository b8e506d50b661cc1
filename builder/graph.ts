import type { DataType } from "../dsl/dtype.js";
import type { LayerIR, NetworkIR, TensorIR } from "../dsl/ir.js";
import { formatShape } from "../dsl/shape.js";
import type { Epilogue, PlanKind, PlanParams } from "../plan/schema.js";
import { nearestSuffix, type WeightSource } from "../weights/source.js";
import { elementCount, toFloat32, toInt64 } from "../weights/tensor.js";
import { BuildError } from "./errors.js";

/** What every op of the build graph holds, whatever its kind. */
export interface BuildOpBase {
  name: string;
  inputs: string[];
  outputs: string[];
  /** State_dict name each weight came from… by role, the values (float32; an integer constant's `values`: int64). */
  weights: Record<string, Float32Array>;
  /** The state_dict name each weight came from, by role (absent for values a pass computed). */
  weightNames: Record<string, string>;
  /** The network's layers this op computes (itself alone unless a pass fused others in). */
  fusedFrom: string[];
  /** The user's `file:line:column` that added the layer (the first of those fused into it), for errors about it. */
  callSite?: string;
  /** The 16-bit type every value of the layer's own kernel had before a BatchNorm or scale was folded into it. */
  kernelType?: "bfloat16" | "float16";
}

/**
 * A layer as the builder works on it: the IR's layer with its weights' values, and the layers fused into it; a union
 * over the plan's kinds (the DSL's and the builder's own), so that `op.kind` narrows `op.params`.
 */
export type BuildOp<K extends PlanKind = PlanKind> = { [k in K]: Omit<BuildOpBase, "weights"> & { kind: k; params: PlanParams[k]; weights: WeightValues<k> } }[K];

/** An op's weight values by role: float32, but for a constant, whose values are int64 when its tensor is an integer one. */
export type WeightValues<K extends PlanKind> = K extends "constant" ? { values?: Float32Array | BigInt64Array } : Record<string, Float32Array>;

/** The network being optimised: passes rewrite `ops`; inputs, outputs and tensor descriptions stay. */
export interface BuildGraph {
  name: string;
  inputs: TensorIR[];
  tensors: Map<string, { dtype: DataType; shape: readonly number[] }>;
  ops: BuildOp[];
  outputs: { name: string; tensor: string }[];
}

/** The IR with every weight looked up and converted to float32; all missing or misshapen weights in one error. */
export function buildGraph(ir: NetworkIR, weights: WeightSource): BuildGraph {
  const problems: { layer: LayerIR; text: string }[] = [];
  const ops = ir.layers.map((layer): BuildOp => {
    const problem = (text: string) => problems.push({ layer, text: `${layer.name}: ${text}${layer.callSite ? ` (${layer.callSite})` : ""}` });
    const values: Record<string, Float32Array | BigInt64Array> = {};
    const integerType = layer.kind === "constant" ? integerDtype(ir, layer.outputs[0]!) : undefined;
    for (const [role, binding] of Object.entries(layer.weights)) {
      const found = weights.get(binding.name);
      if (!found) {
        const nearest = nearestSuffix(binding.name, weights.names(), "nearest: ");
        problem(`weight '${binding.name}' is missing${nearest && ` (${nearest})`}`);
        continue;
      }
      if (elementCount(found.shape) !== elementCount(binding.shape) || (!found.flat && formatShape(found.shape) !== formatShape(binding.shape))) {
        problem(`weight '${binding.name}' has shape ${formatShape(found.shape)}, expected ${formatShape(binding.shape)}`);
        continue;
      }
      if (!integerType) { values[role] = toFloat32(found); continue; }
      const integers = toInt64(found, integerType);
      if (typeof integers === "string") problem(`weight '${binding.name}' ${integers}`);
      else values[role] = integers;
    }
    const weightNames = Object.fromEntries(Object.entries(layer.weights).map(([role, b]) => [role, b.name]));
    // A layer's kind and params carry over as they are (every layer kind is a plan kind with at least its params).
    return { kind: layer.kind, name: layer.name, inputs: [...layer.inputs], outputs: [...layer.outputs], params: { ...layer.params }, weights: values, weightNames,
      fusedFrom: [layer.name], ...(layer.callSite ? { callSite: layer.callSite } : {}) } as BuildOp;
  });
  if (problems.length) {
    const only = problems.length === 1 ? problems[0]!.layer : undefined;
    throw new BuildError(`cannot build "${ir.name}": ${problems.length} weight problem(s):\n  ${problems.map((p) => p.text).join("\n  ")}`,
      only ? { layer: only.name, callSite: only.callSite } : {});
  }
  const tensors = new Map<string, { dtype: DataType; shape: readonly number[] }>();
  for (const t of [...ir.inputs, ...ir.tensors]) tensors.set(t.name, { dtype: t.dtype, shape: t.shape });
  return { name: ir.name, inputs: [...ir.inputs], tensors, ops, outputs: ir.outputs.map((o) => ({ ...o })) };
}

function integerDtype(ir: NetworkIR, tensor: string): "int32" | "int64" | undefined {
  const dtype = ir.tensors.find((t) => t.name === tensor)?.dtype;
  return dtype === "int32" || dtype === "int64" ? dtype : undefined;
}

/** The epilogue (fused activation, rounding, INT8 input) and tactic of a convolution or dense layer; undefined for other kinds. */
export function epilogueOf(op: BuildOp): (Epilogue & { readonly tactic?: string }) | undefined {
  return op.kind === "convolution" || op.kind === "fullyConnected" ? op.params : undefined;
}

/** How many ops read each tensor (network outputs count as a reader). */
export function readers(graph: BuildGraph): Map<string, number> {
  const count = new Map<string, number>();
  for (const op of graph.ops) for (const t of op.inputs) count.set(t, (count.get(t) ?? 0) + 1);
  for (const o of graph.outputs) count.set(o.tensor, (count.get(o.tensor) ?? 0) + 1);
  return count;
}

/**
 * The 16-bit type a tensor's values are rounded to in the optimised network, in which the engine then holds it: its
 * producer's fused rounding, a chain of element-wise steps ending in a cast (or, before chains are fused, a cast
 * back to float32 after a cast to the type), or the type of all that a layer that only selects or moves values read.
 */
export function roundedType(graph: BuildGraph, tensor: string): "bfloat16" | "float16" | undefined {
  const producer = graph.ops.find((o) => o.outputs.includes(tensor));
  if (!producer) return undefined;
  const type = (t: unknown) => (t === "bfloat16" || t === "float16" ? t : undefined);
  if (producer.kind === "cast") {
    if (producer.params.to !== "float32") return type(producer.params.to);
    const narrow = graph.ops.find((o) => o.outputs.includes(producer.inputs[0]!));
    return narrow?.kind === "cast" ? type(narrow.params.to) : undefined;
  }
  if (producer.kind === "pointwiseChain") return type(String(producer.params.steps).split("|").filter((s) => s.startsWith("cast:") && s !== "cast:float32").at(-1)?.slice(5));
  const passed = valuesPassedOn(producer);
  if (!passed) return epilogueOf(producer)?.roundTo;
  const types = new Set(passed.map((t) => roundedType(graph, t)));
  return types.size === 1 ? [...types][0] : undefined;
}

/**
 * For a layer that only selects or moves values (shuffle, identity, concatenation, gather, slice, max pooling, ReLU,
 * nearest resizing), the inputs whose values its outputs are (a gather's data, not its indices); undefined for a
 * layer that computes new values.
 */
export function valuesPassedOn(op: BuildOp): readonly string[] | undefined {
  if (op.kind === "gather" || op.kind === "slice" || op.kind === "shuffle") return op.inputs.slice(0, 1);  // not the indices, not the tensors whose sizes a reshape takes
  const selects = op.kind === "identity" || op.kind === "concatenation" || (op.kind === "pooling" && op.params.type === "max")
    || (op.kind === "activation" && op.params.type === "relu") || (op.kind === "resize" && op.params.mode === "nearest");
  return selects ? op.inputs : undefined;
}
