// Latency and throughput of the builtin engine on the fixture models: `npm run bench`.
// Prints one row per model and batch: median ms per execution and images/s, over repeated runs after warm-up.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, type Network, type WeightSource } from "netdef";
import { defineLeNet } from "../examples/lenet/network.js";
import { defineMobileNetV2 } from "../examples/mobilenet-v2/network.js";
import { defineYoloBlock } from "../examples/yolo-block/network.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");
const cases: { model: string; define: (w: WeightSource) => Network; weights: string; input: string; item: number[]; batches: number[] }[] = [
  { model: "lenet", define: defineLeNet, weights: "lenet.safetensors", input: "data", item: [1, 28, 28], batches: [1, 256] },
  { model: "yolo_block", define: defineYoloBlock, weights: "yolo_block.safetensors", input: "input", item: [3, 64, 64], batches: [1] },
  { model: "mobilenet_v2", define: defineMobileNetV2, weights: "mobilenet_v2.safetensors", input: "input", item: [3, 224, 224], batches: [1, 8] },
];

/** Median wall time of `run` in ms, after warm-up, over enough repetitions to fill about a second. */
async function time(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const samples: number[] = [];
  const deadline = performance.now() + 1000;
  while (samples.length < 5 || (performance.now() < deadline && samples.length < 500)) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[samples.length >> 1]!;
}

const rows: string[][] = [["model", "batch", "builtin ms", "images/s"]];
for (const c of cases) {
  const maxBatch = Math.max(...c.batches);
  const started = performance.now();
  const engine = await c.define(await loadWeights(path.join(fixtures, c.weights))).build({
    profiles: [{ [c.input]: { min: [1, ...c.item], opt: [1, ...c.item], max: [maxBatch, ...c.item] } }],
  });
  process.stderr.write(`built ${c.model} in ${(performance.now() - started).toFixed(0)} ms\n`);
  const ctx = engine.createExecutionContext();
  for (const batch of c.batches) {
    const shape = [batch, ...c.item];
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
    const ms = await time(() => ctx.execute({ [c.input]: { data, shape } }));
    rows.push([c.model, String(batch), ms.toFixed(3), ((batch * 1000) / ms).toFixed(0)]);
    process.stderr.write(`  batch ${batch}: ${ms.toFixed(3)} ms\n`);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((cell, i) => (i < 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
