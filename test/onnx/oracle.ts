import * as ort from "onnxruntime-node";
import { buildEngine, type BuildOptions, exportOnnx, type Network, type OutputValue } from "netdef";
import { values } from "../outputs.js";
import { toleranceRatio } from "../tensorrt/tolerance.js";
import { defineCase, type CaseFeeds, type LayerCase } from "../../selftest/layer-cases.js";

/** onnxruntime's (CPU) outputs for the network's ONNX export. */
export async function runOnnxruntime(net: Network, feeds: CaseFeeds): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(await exportOnnx(net));
  return session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.shape)])));
}

/** Runs one case on the builtin engine (built with `options`) and on onnxruntime (CPU) from its ONNX export; returns both outputs. */
export async function runBoth(c: LayerCase, seed = 1, options: BuildOptions = {}) {
  const { net, feeds, outputs, profiles } = defineCase(c, seed);
  const engine = await buildEngine(net, { profiles, ...options });
  const builtin = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { data: v.data, shape: v.shape }])));
  const reference = await runOnnxruntime(net, feeds);
  return Array.from({ length: outputs }, (_, i) => ({ builtin: builtin[`out${i}`]!, onnxruntime: reference[`out${i}`]! as ort.Tensor }));
}

/** Largest |a − b| over the tolerance 1e-5·max|b| + 1e-6 (≤ 1 passes), and whether the shapes agree. */
export function agreement(a: OutputValue, b: ort.Tensor): { ratio: number; sameShape: boolean } {
  const expected = Array.from(b.data as ArrayLike<number | bigint>, Number), actual = values(a);
  const ratio = toleranceRatio(actual, expected);
  return { ratio, sameShape: a.shape.join() === b.dims.join() && actual.length === expected.length };
}
