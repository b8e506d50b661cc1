// Weight loading throughput: `npm run bench:weights`. Writes a 50 MB float32 safetensors checkpoint to a temporary
// folder, then loads it repeatedly with loadWeights and reports MB/s (file read from the page cache + validation).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadWeights, serializeSafetensors, type WeightTensor } from "netdef";

const megabytes = 50;
const dir = await mkdtemp(path.join(tmpdir(), "netdef-bench-"));
const file = path.join(dir, "checkpoint.safetensors");
const tensors: [string, WeightTensor][] = [];
const perTensor = 1 << 20; // 4 MB each
for (let i = 0; i < (megabytes * 2 ** 20) / (perTensor * 4); i++) {
  const data = new Float32Array(perTensor).map((_, j) => Math.sin(i * perTensor + j));
  tensors.push([`layers.${i}.weight`, { dtype: "float32", shape: [1024, 1024], data }]);
}
const bytes = serializeSafetensors(tensors);
await writeFile(file, bytes);
const runs = 20;
await loadWeights(file); // warm the page cache
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const started = performance.now();
  const store = await loadWeights(file);
  times.push(performance.now() - started);
  if (store.size !== tensors.length) throw new Error("wrong tensor count");
}
times.sort((a, b) => a - b);
const median = times[runs >> 1]!;
console.log(`loadWeights: ${(bytes.length / 2 ** 20).toFixed(1)} MB safetensors, median of ${runs}: ${median.toFixed(1)} ms = ${(bytes.length / 2 ** 20 / (median / 1000)).toFixed(0)} MB/s`);
await rm(dir, { recursive: true });
