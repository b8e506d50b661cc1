import * as ort from "onnxruntime-node";
import { buildEngine, type BuildOptions, exportOnnx, Network, type OutputValue, type Tensor } from "netdef";
import { values } from "../outputs.js";
import { random } from "../weights/fuzz.js";

export interface OracleCase {
  inputs: Record<string, { shape: number[]; dtype?: "float32" | "int32" | "int64" | "bool"; values?: readonly (number | bigint)[] }>;
  define: (net: Network, x: Record<string, Tensor>, w: (...shape: number[]) => Float32Array) => Tensor | Tensor[];
}

export type CaseFeeds = Record<string, { data: Float32Array | Int32Array | BigInt64Array | Uint8Array; shape: number[]; dtype: "float32" | "int32" | "int64" | "bool" }>;

/** One case's network (outputs marked out0, out1, …) and input values, from the seeded generator. */
export function defineCase(c: OracleCase, seed = 1): { net: Network; feeds: CaseFeeds; outputs: number } {
  const rand = random(seed);
  const net = new Network("oracle");
  const tensors: Record<string, Tensor> = {};
  const feeds: CaseFeeds = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    const dtype = spec.dtype ?? "float32";
    tensors[name] = net.addInput(name, dtype, spec.shape);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = spec.values ?? Array.from({ length: count }, () => (dtype === "bool" ? Number(rand() < 0.5) : dtype === "int32" ? Math.floor(rand() * 3) : rand() * 2 - 1));
    const data = dtype === "int64" ? BigInt64Array.from(values, (v) => BigInt(v)) : values.map(Number);
    feeds[name] = { data: data instanceof BigInt64Array ? data : dtype === "bool" ? Uint8Array.from(data) : dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data), shape: spec.shape, dtype };
  }
  const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * 0.5);
  const outputs = [c.define(net, tensors, w)].flat();
  outputs.forEach((t, i) => net.markOutput(t, `out${i}`));
  return { net, feeds, outputs: outputs.length };
}

/** onnxruntime's (CPU) outputs for the network's ONNX export. */
export async function runOnnxruntime(net: Network, feeds: CaseFeeds): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(await exportOnnx(net));
  return session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.shape)])));
}

/** Runs one case on the builtin engine (built with `options`) and on onnxruntime (CPU) from its ONNX export; returns both outputs. */
export async function runBoth(c: OracleCase, seed = 1, options: BuildOptions = {}) {
  const { net, feeds, outputs } = defineCase(c, seed);
  const engine = await buildEngine(net, options);
  const builtin = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data])));
  const reference = await runOnnxruntime(net, feeds);
  return Array.from({ length: outputs }, (_, i) => ({ builtin: builtin[`out${i}`]!, onnxruntime: reference[`out${i}`]! as ort.Tensor }));
}

/** Largest |a − b| over the tolerance 1e-5·max|b| + 1e-6 (≤ 1 passes), and whether the shapes agree. */
export function agreement(a: OutputValue, b: ort.Tensor): { ratio: number; sameShape: boolean } {
  const expected = Array.from(b.data as ArrayLike<number | bigint>, Number), actual = values(a);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);  // (spread arguments overflow the stack on large outputs)
  let ratio = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (Number.isNaN(expected[i]) && Number.isNaN(actual[i])) continue;
    ratio = Math.max(ratio, diff / (1e-5 * scale + 1e-6));
  }
  return { ratio, sameShape: a.shape.join() === b.dims.join() && actual.length === expected.length };
}
