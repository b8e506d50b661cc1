// Structure-aware plan mutants: the builder's own graph (after its passes) changed where byte flips rarely reach —
// kinds renamed, input counts, declared shapes, weight lengths, parameters pushed past their ranges, and the network the
// header records (what refit rebuilds from) changed likewise — then encoded as
// a plan, loaded and run at its profile's min and max shapes. Every outcome must be a PlanError, an ExecutionError
// or a working engine: anything else (another error, a crash) is a failure. Shared by test/engine/robustness.test.ts
// and scripts/fuzz-plans.ts.
import { buildEngine, Engine, ExecutionError, type InputValue, Network, PlanError, refit, RefitError, type WeightSource } from "netdef";
import { buildGraph, type BuildGraph, type BuildOp } from "../../builder/graph.js";
import { runPasses } from "../../builder/optimize.js";
import { PASSES } from "../../builder/passes.js";
import { defineLeNet } from "../../models/lenet.js";
import type { PlanHeader } from "../../plan/header.js";
import { encodePlan } from "../../plan/encode.js";
import { PLAN_KINDS } from "../../plan/schema.js";
import { loadFixtureWeights } from "../fixtures.js";

export interface PlanSubject {
  name: string;
  network: Network;
  profile: Record<string, { min: number[]; opt: number[]; max: number[] }>;
}

/** The networks mutated: a small convolutional one, LeNet, and one with nearly every layer kind. */
export async function planSubjects(): Promise<PlanSubject[]> {
  const w = (n: number, v = 0.1) => Float32Array.from({ length: n }, (_, i) => v * Math.sin(i + 1));
  const small = new Network("small");
  small.markOutput(small.addInput("x", "float32", [-1, 2, 6, 6])
    .addConvolution("conv", { outChannels: 8, kernel: 3, padding: 1, weights: { kernel: w(144), bias: w(8) } })
    .addActivation("relu", { type: "relu" })
    .addConvolution("dw", { outChannels: 8, kernel: 3, groups: 8, padding: 1, weights: { kernel: w(72), bias: w(8) } })
    .addConvolution("conv2", { outChannels: 5, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(360), bias: w(5) } })
    .addPooling("pool", { type: "max", window: 2, stride: 1 })
    .addFullyConnected("fc", { outFeatures: 4, weights: { kernel: w(80), bias: w(4) } })
    .addSoftMax("softmax", { axis: 1 }));
  const all = new Network("kinds");
  const x = all.addInput("x", "float32", [-1, 4, 6, 6]);
  const c = x.addConvolution("conv", { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: w(144), bias: w(4) } })
    .addDeconvolution("deconv", { outChannels: 4, kernel: 2, stride: 2, weights: { kernel: w(64), bias: w(4) } })
    .addPooling("pool", { type: "average", window: 2 })
    .addBatchNorm("bn", { weights: { weight: w(4, 1), bias: w(4), mean: w(4), variance: w(4, 0.5).map(Math.abs) } })
    .addScale("scale", { mode: "channel", scale: w(4, 1) })
    .addParametricReLU("prelu", { numParameters: 4, weights: { slope: w(4) } })
    .addLRN("lrn", { window: 3 })
    .addNormalization("gn", { type: "group", groups: 2, weights: { scale: w(4, 1), bias: w(4) } })
    .addUnary("abs", "abs")
    .addPadding("pad", { pre: [1, 1], post: [0, 1], value: 0.5 })
    .addResize("up", { mode: "nearest", scales: [1, 1, 2, 2] })
    .addSlice("crop", { start: [0, 0, 0, 0], size: [1, 4, 6, 6] });
  const pooled = c.addReduce("mean", { op: "avg", axes: [2, 3], keepDims: true });
  const gated = c.addElementWise("gate", pooled.addActivation("sig", { type: "sigmoid" }), "prod");
  // The last image (counted from the end of the dynamic batch), expanded back over it, rows by the batch's size.
  const spread = gated.addSlice("last", { axes: 0, start: -1, size: -1 }).addExpand("spread", { shape: [x.dim(0), -1, -1, -1] });
  const flat = spread.addShuffle("flat", { reshape: [x.dim(0), -1] });
  const mm = flat.addMatrixMultiply("mm", all.addConstant("k", { shape: [144, 6], weights: w(864) }));
  const picked = mm.addGather("g", all.addConstant("i", { shape: [2], weights: Float32Array.of(1, 4), dtype: "int32" }), { axis: 1 });
  const chosen = all.addSelect("sel", picked.addElementWise("gt", picked, "greater"), picked, picked.addUnary("neg", "neg"));
  const top = all.addConcatenation("cat", [chosen, chosen.addCast("c16", { to: "float16" }).addCast("c32", { to: "float32" })], { axis: 1 }).addTopK("top", { op: "max", k: 2 });
  all.markOutput(top.values.addSoftMax("sm", { axis: 1 }), "y");
  all.markOutput(top.indices, "indices");
  return [
    { name: "small", network: small, profile: { x: { min: [1, 2, 6, 6], opt: [2, 2, 6, 6], max: [3, 2, 6, 6] } } },
    { name: "lenet", network: defineLeNet(await loadFixtureWeights("lenet.safetensors")), profile: { data: { min: [1, 1, 28, 28], opt: [2, 1, 28, 28], max: [3, 1, 28, 28] } } },
    { name: "kinds", network: all, profile: { x: { min: [1, 4, 6, 6], opt: [1, 4, 6, 6], max: [1, 4, 6, 6] } } },
  ];
}

/** What a plan of the subject is made of, to mutate: its optimised graph and a header that loads. */
export async function planParts(subject: PlanSubject): Promise<{ graph: () => Promise<BuildGraph>; header: PlanHeader; weights: WeightSource }> {
  const engine = await buildEngine(subject.network, { profiles: [subject.profile] });
  const graph = async () => {
    const g = buildGraph(subject.network.toJSON(), subject.network.weights);
    await runPasses(g, PASSES, true);
    return g;
  };
  return { graph, header: engine.header, weights: subject.network.weights };
}

type Random = () => number;
const pick = <T>(rand: Random, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const EXTREMES = [0, -1, 1, 2, 3, 7, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 40, 1e9, 0.5, 65535];

/** One structural change to the graph, in place; returns what it did. */
export function mutateGraph(graph: BuildGraph, rand: Random): string {
  const op = pick(rand, graph.ops) as BuildOp & { params: Record<string, unknown>; weights: Record<string, Float32Array | BigInt64Array> };
  const tensors = [...graph.tensors.keys()];
  switch (Math.floor(rand() * 6)) {
    case 0: {
      const kind = pick(rand, PLAN_KINDS);
      (op as { kind: string }).kind = kind;
      return `${op.name}: kind → ${kind}`;
    }
    case 1: {
      if (rand() < 0.5 && op.inputs.length) { op.inputs.pop(); return `${op.name}: an input fewer`; }
      op.inputs.push(pick(rand, tensors));
      return `${op.name}: an input more`;
    }
    case 2: {
      const name = pick(rand, tensors), t = graph.tensors.get(name)!;
      const shape = [...t.shape];
      if (rand() < 0.2) shape.push(pick(rand, [1, 2, 8]));
      else if (rand() < 0.2 && shape.length > 1) shape.pop();
      else if (shape.length) shape[Math.floor(rand() * shape.length)] = pick(rand, [-1, 1, 2, 3, 8, 20, 65535, 2 ** 31 - 1]);
      graph.tensors.set(name, { ...t, shape });
      return `tensor ${name}: shape → [${shape.join(",")}]`;
    }
    case 3: {
      const roles = Object.keys(op.weights);
      if (!roles.length) return `${op.name}: no weights`;
      const role = pick(rand, roles), w = op.weights[role]!;
      const length = pick(rand, [0, 1, w.length - 1, w.length + 1, Math.floor(w.length / 2), w.length * 2]);
      op.weights[role] = (w instanceof BigInt64Array ? new BigInt64Array(Math.max(0, length)) : new Float32Array(Math.max(0, length)).fill(0.5)) as Float32Array;
      return `${op.name}: weight ${role} → ${length} values`;
    }
    case 4: {
      const keys = Object.keys(op.params);
      if (!keys.length) return `${op.name}: no parameters`;
      const key = pick(rand, keys), next = mutateValue(rand, op.params[key]);
      op.params = { ...op.params, [key]: next } as never;
      return `${op.name}: ${key} → ${JSON.stringify(next)}`;
    }
    default: {
      const i = graph.ops.indexOf(op), j = Math.floor(rand() * graph.ops.length);
      [graph.ops[i], graph.ops[j]] = [graph.ops[j]!, graph.ops[i]!];
      return `ops ${i} and ${j} swapped`;
    }
  }
}

/** The same value changed as a mutant's parameter would be: numbers to extremes, lists lengthened, cut or changed. */
function mutateValue(rand: Random, value: unknown): unknown {
  if (typeof value === "number") return pick(rand, EXTREMES);
  if (typeof value === "boolean") return !value;
  if (typeof value === "string") return pick(rand, ["", "bogus", "max", "relu", "explicit_round_up", "sum", "float16"]);
  if (Array.isArray(value)) {
    const list = [...value];
    if (rand() < 0.3) list.push(pick(rand, EXTREMES));
    else if (rand() < 0.3) list.pop();
    else if (list.length) list[Math.floor(rand() * list.length)] = pick(rand, EXTREMES);
    return list;
  }
  return pick(rand, [...EXTREMES, null, "x", [], {}]);
}

const isObject = (v: unknown): v is object => typeof v === "object" && v !== null;
type MutableIR = { inputs: { shape: unknown }[]; tensors: { shape: unknown }[]; outputs: { tensor: string }[];
  layers: { name: string; inputs: string[]; params: Record<string, unknown>; weights: Record<string, { shape: unknown }> }[] };

/** One change to the network the plan's header records (what refit rebuilds from), in place; returns what it did. */
export function mutateNetwork(ir: MutableIR, rand: Random): string {
  const layer = pick(rand, ir.layers);
  const tensorNames = ir.layers.flatMap((l) => (Array.isArray(l.inputs) ? l.inputs : []));
  switch (Math.floor(rand() * 5)) {
    case 0: {
      const keys = isObject(layer.params) ? Object.keys(layer.params) : [];
      if (!keys.length) return `network ${layer.name}: no parameters`;
      const key = pick(rand, keys);
      layer.params[key] = mutateValue(rand, layer.params[key]);
      return `network ${layer.name}: ${key} → ${JSON.stringify(layer.params[key])}`;
    }
    case 1: {
      const t = pick(rand, rand() < 0.3 ? ir.inputs : ir.tensors);
      t.shape = mutateValue(rand, t.shape);
      return `network tensor: shape → ${JSON.stringify(t.shape)}`;
    }
    case 2: {
      const roles = isObject(layer.weights) ? Object.keys(layer.weights) : [];
      if (!roles.length) return `network ${layer.name}: no weights`;
      const w = layer.weights[pick(rand, roles)]!;
      if (!isObject(w)) return `network ${layer.name}: no weights`;
      w.shape = mutateValue(rand, w.shape);
      return `network ${layer.name}: a weight's shape → ${JSON.stringify(w.shape)}`;
    }
    case 3: {
      if (!Array.isArray(layer.inputs) || !layer.inputs.length) return `network ${layer.name}: no inputs`;
      layer.inputs[Math.floor(rand() * layer.inputs.length)] = pick(rand, tensorNames);
      return `network ${layer.name}: reads another tensor`;
    }
    default: {
      const field = pick(rand, ["inputs", "outputs", "weights", "params", "name", "kind"] as const);
      (layer as Record<string, unknown>)[field] = pick(rand, [null, 5, "x", [], {}, [1]]);
      return `network ${layer.name}: ${field} → junk`;
    }
  }
}

/** Inputs of the profile's `which` shape, deterministic values. */
function inputsAt(subject: PlanSubject, which: "min" | "max"): Record<string, InputValue> {
  return Object.fromEntries(Object.entries(subject.profile).map(([name, p]) => {
    const shape = p[which];
    return [name, { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)), shape }];
  }));
}

export interface MutantOutcome {
  rejected: number;
  loaded: number;
  failures: string[];
}

/** `count` mutants of the subject (1–3 changes each), from `seed`: each loaded and run at the min and max shapes. */
export async function runPlanMutants(subject: PlanSubject, parts: Awaited<ReturnType<typeof planParts>>, count: number, seed: number,
  onCase?: (i: number, what: string) => void): Promise<MutantOutcome> {
  let state = seed >>> 0;
  const rand: Random = () => { state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0; return state / 2 ** 32; };
  const outcome: MutantOutcome = { rejected: 0, loaded: 0, failures: [] };
  const pristine = await parts.graph();
  for (let i = 0; i < count; i++) {
    const graph: BuildGraph = { ...pristine, tensors: new Map(pristine.tensors), ops: pristine.ops.map((o) => ({ ...o, inputs: [...o.inputs], weights: { ...o.weights } }) as BuildOp) };
    const ir = structuredClone(parts.header.ir) as unknown as MutableIR;
    const what = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 1 / 7 ? mutateNetwork(ir, rand) : mutateGraph(graph, rand))).join("; ");
    onCase?.(i, what);
    let plan: Uint8Array;
    try {
      plan = encodePlan(graph, { ...parts.header, ir }, { unchecked: true });
    } catch {
      outcome.rejected++;  // the writer itself refused (a tensor no op produces, say): no plan to load
      continue;
    }
    try {
      const engine = await Engine.deserialize(plan);
      outcome.loaded++;
      for (const which of ["min", "max"] as const) {
        await engine.createExecutionContext().execute(inputsAt(subject, which)).catch((e: unknown) => { if (!(e instanceof ExecutionError)) throw e; });
      }
      if (what.includes("network")) {
        // A refit rebuilds the plan from the recorded network.
        await refit(engine, parts.weights).catch((e: unknown) => { if (!(e instanceof RefitError) && !(e instanceof PlanError)) throw e; });
        await engine.createExecutionContext().execute(inputsAt(subject, "max")).catch((e: unknown) => { if (!(e instanceof ExecutionError)) throw e; });
      }
      engine.dispose();
    } catch (error) {
      if (error instanceof PlanError) outcome.rejected++;
      else outcome.failures.push(`${subject.name} #${i} (${what}): ${(error as Error).name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return outcome;
}
