// The README's main job: LeNet from PyTorch's weights classifies the 2,000 held-out MNIST digits on the builtin engine.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildEngine, loadWeights } from "netdef";
import { defineLeNet } from "../../models/lenet.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures");
const weights = await loadWeights(path.join(fixtures, "lenet.safetensors"));
const digits = await loadWeights(path.join(fixtures, "lenet_io.safetensors"));

const net = defineLeNet(weights);
console.log(net.summary().toString());
const buildStarted = performance.now();
const engine = await buildEngine(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [1, 1, 28, 28], max: [2000, 1, 28, 28] } }] });
console.log(`build: ${(performance.now() - buildStarted).toFixed(1)} ms`);
const ctx = engine.createExecutionContext();

const pixels = digits.float32("input");
const labels = digits.get("labels")!.data as Int32Array;
const reference = digits.get("output_fp64")!.data as Float64Array;
const count = labels.length;
const { prob } = await ctx.execute({ data: { data: pixels, shape: [count, 1, 28, 28] } });
if (prob?.dtype !== "float32") throw new Error("the network's output 'prob' is float32");  // each dtype has its own array type
const argmax = (values: ArrayLike<number>, row: number) => {
  let best = 0;
  for (let k = 1; k < 10; k++) if (values[row * 10 + k]! > values[row * 10 + best]!) best = k;
  return best;
};
let correct = 0, agree = 0;
for (let i = 0; i < count; i++) {
  const predicted = argmax(prob.data, i);
  if (predicted === labels[i]) correct++;
  if (predicted === argmax(reference, i)) agree++;
}
console.log(`accuracy: ${((100 * correct) / count).toFixed(2)}% (${correct}/${count})`);
console.log(`agreement with PyTorch: ${agree}/${count}`);

const one = { data: { data: pixels.subarray(0, 784), shape: [1, 1, 28, 28] } };
for (let i = 0; i < 20; i++) await ctx.execute(one);
const runs = 200;
let started = performance.now();
for (let i = 0; i < runs; i++) await ctx.execute(one);
const latency = (performance.now() - started) / runs;
const batch = { data: { data: pixels.subarray(0, 256 * 784), shape: [256, 1, 28, 28] } };
await ctx.execute(batch);
started = performance.now();
for (let i = 0; i < 10; i++) await ctx.execute(batch);
const throughput = (10 * 256) / ((performance.now() - started) / 1000);
console.log(`latency (batch 1): ${latency.toFixed(3)} ms; throughput (batch 256): ${throughput.toFixed(0)} images/s`);
