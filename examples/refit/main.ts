// Swap weights live: refit a running LeNet engine by PyTorch name, no rebuild: npm run example:refit
import path from "node:path";
import { buildEngine, loadWeights, refit, WeightStore } from "netdef";
import { fixtures } from "../fixture-check.js";
import { defineLeNet } from "../../models/lenet.js";

const weights = await loadWeights(path.join(fixtures, "lenet.safetensors"));
const digits = await loadWeights(path.join(fixtures, "lenet_io.safetensors"));
const engine = await buildEngine(defineLeNet(weights), { profiles: [{ data: { min: [1, 1, 28, 28], opt: [100, 1, 28, 28], max: [100, 1, 28, 28] } }] });
const ctx = engine.createExecutionContext();
const labels = digits.get("labels")!.data as Int32Array;
const batch = { data: { data: digits.float32("input").subarray(0, 100 * 784), shape: [100, 1, 28, 28] } };
const accuracy = async () => {
  const { prob } = await ctx.execute(batch);
  let correct = 0;
  for (let i = 0; i < 100; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (prob!.data[i * 10 + k]! > prob!.data[i * 10 + best]!) best = k;
    if (best === labels[i]) correct++;
  }
  return correct;
};
console.log(`trained weights: ${await accuracy()}/100 correct`);
// "Untrain" the classifier: swap its two rows for digits 0 and 1, by name, into the running engine.
const fc2 = weights.float32("fc2.weight").slice();
const bias = weights.float32("fc2.bias").slice();
fc2.copyWithin(0, 500, 1000).set(weights.float32("fc2.weight").subarray(0, 500), 500);
[bias[0], bias[1]] = [bias[1]!, bias[0]!];
await refit(engine, new WeightStore([["fc2.weight", { dtype: "float32", shape: [10, 500], data: fc2 }], ["fc2.bias", { dtype: "float32", shape: [10], data: bias }]]));
console.log(`after swapping classes 0 and 1 by refit: ${await accuracy()}/100 correct`);
await refit(engine, weights);
console.log(`after refitting the trained weights back: ${await accuracy()}/100 correct`);
