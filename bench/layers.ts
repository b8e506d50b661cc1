// Where the time goes, layer by layer, beside onnxruntime: `npm run bench:layers -- mobilenet_v2 8` (model and batch;
// default mobilenet_v2 at batch 1). Both engines run in float32 in one process, with their own profilers: the
// builtin engine's per-layer times (`execute({ profile: true })`) and onnxruntime's per-node kernel times
// (`enableProfiling`), medians over 20 runs each. A builtin layer is matched with the onnxruntime nodes named after
// any of the network layers it computes (its `fusedFrom`; onnxruntime names a fused node after one of them, with a
// suffix such as `_nchwc`). The profilers add their own overhead: compare layers, not totals with `npm run bench`.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { buildEngine, exportOnnx } from "netdef";
import { benchCases, benchInputs, benchProfile } from "./cases.js";
import { printTable, summary } from "./report.js";

const model = process.argv[2] ?? "mobilenet_v2", batch = Number(process.argv[3] ?? 1), runs = 20;
const c = benchCases.find((b) => b.model === model);
if (!c) throw new Error(`bench:layers: no model '${model}'; the models are ${benchCases.map((b) => b.model).join(", ")}`);
if (!Number.isInteger(batch) || batch < 1) throw new Error(`bench:layers: batch must be a positive integer, not '${process.argv[3]}'`);
const net = c.define(await c.weights());
const inputs = benchInputs(c, batch);
const median = (samples: number[]) => summary(samples).median;

const engine = await buildEngine(net, { profiles: [benchProfile(c, batch)], tuning: "fast" });
const ctx = engine.createExecutionContext();
const ours = new Map<string, number[]>();
for (let i = 0; i < runs + 2; i++) {
  const { profile } = await ctx.execute(inputs, { profile: true });
  if (i >= 2) for (const p of profile) ours.set(p.layer, [...(ours.get(p.layer) ?? []), p.milliseconds]);
}

const folder = mkdtempSync(path.join(tmpdir(), "netdef-layers-"));
const session = await ort.InferenceSession.create(await exportOnnx(net), { intraOpNumThreads: 2, interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: path.join(folder, "ort") });
const feeds = Object.fromEntries(Object.entries(inputs).map(([name, { data, shape }]) => [name, new ort.Tensor("float32", data, shape)]));
for (let i = 0; i < runs + 2; i++) await session.run(feeds);
session.endProfiling();
await session.release();
const events = JSON.parse(readFileSync(path.join(folder, readdirSync(folder)[0]!), "utf8")) as { cat: string; name: string; dur: number }[];
rmSync(folder, { recursive: true });
const theirs = new Map<string, number[]>();
for (const e of events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"))) {
  const node = e.name.slice(0, -"_kernel_time".length);
  theirs.set(node, [...(theirs.get(node) ?? []), e.dur / 1000]);
}
for (const [node, times] of theirs) theirs.set(node, times.slice(2));  // the first runs warm up

const rows = [["layer", "builtin ms", "onnxruntime ms", "ratio", "onnxruntime nodes"]];
const matched = new Set<string>();
let total = 0, peerTotal = 0;
for (const layer of engine.inspect().layers) {
  const ms = median(ours.get(layer.name) ?? [0]);
  const nodes = [...theirs.keys()].filter((n) => layer.fusedFrom.some((f) => n === f || n.startsWith(`${f}_`)));
  nodes.forEach((n) => matched.add(n));
  const peer = nodes.reduce((sum, n) => sum + median(theirs.get(n)!), 0);
  total += ms;
  peerTotal += peer;
  // A layer that a later one computes with its own (a fused producer) takes 0 ms here: its time is that layer's.
  const ratio = !nodes.length ? "" : ms > 0 ? (peer / ms).toFixed(2) : "fused";
  rows.push([layer.name, ms.toFixed(3), nodes.length ? peer.toFixed(3) : "", ratio, nodes.join(" ")]);
}
const unmatched = [...theirs.keys()].filter((n) => !matched.has(n));
for (const n of unmatched) { const ms = median(theirs.get(n)!); peerTotal += ms; rows.push(["", "", ms.toFixed(3), "", n]); }
rows.push(["total", total.toFixed(3), peerTotal.toFixed(3), (peerTotal / total).toFixed(2), ""]);
console.log(`${model} float32, batch ${batch}: medians of ${runs} profiled runs; ratio = onnxruntime ms / builtin ms`);
printTable(rows, [0, 4]);
engine.dispose();
