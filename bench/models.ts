// Latency and throughput, side by side with onnxruntime (CPU, 2 intra-op threads) in the same process: `npm run bench`.
// The builtin engines are built with auto-tuning ("fast", tuned at batch 1). Each engine runs in four turns of a
// quarter second per batch size, the engines taking turns, so both meet the same spells of a shared machine.
// One row per model, precision and batch: median ms per execution for each engine (onnxruntime always in float32,
// the baseline the reduced precisions are measured against), their ratio (onnxruntime ms / builtin ms: above 1
// means the builtin engine is faster), the same ratio of the fastest runs (less disturbed by a noisy machine), and
// the builtin engine's GFLOP/s.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { buildEngine, calibrate, type Engine, exportOnnx, type Network, quantize, reducedFloat } from "netdef";
import { benchCases as cases, type Precision } from "./cases.js";
import { countFlops } from "./flops.js";
import { printTable, summary } from "./report.js";
const only = process.argv[2];

/**
 * Wall times of `run` in ms over `seconds`, after warm-up, added to `samples`. Each engine is timed in several
 * short turns, alternating with the other's and separated by pauses (so the other's thread pool has gone to
 * sleep): a slow spell of this shared machine then falls on both engines instead of deciding the ratio.
 */
async function timeTurn(run: () => Promise<unknown>, samples: number[], seconds: number): Promise<void> {
  for (let i = 0; i < 2; i++) await run();
  const deadline = performance.now() + seconds * 1000;
  do {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  } while (performance.now() < deadline && samples.length < 2000);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const turns = 4;

/** The network in `precision`: bfloat16 rounding, or INT8 Q/DQ calibrated (min-max) on two batches of `sample`. */
async function inPrecision(net: Network, precision: Precision, input: string, sample: { data: Float32Array; shape: number[] }): Promise<Network> {
  if (precision === "float32") return net;
  if (precision === "bfloat16") return reducedFloat(net, "bfloat16");
  const batches = [1, 2].map((k) => ({ [input]: { data: sample.data.map((v) => v * k * 0.5), shape: sample.shape } }));
  return quantize(net, await calibrate(net, batches, { method: "minmax" }));
}

/**
 * The CPU time of this machine so far, all cores, and the part the hypervisor gave to others (`steal` in /proc/stat,
 * in clock ticks), or undefined off Linux: how disturbed a run was, printed with its table.
 */
function cpuTicks(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}
const ticksBefore = cpuTicks();

const rows: string[][] = [["model", "precision", "batch", "builtin ms", "onnxruntime ms", "ratio", "best ratio", "builtin GFLOP/s"]];
for (const c of cases.filter((c) => !only || c.model === only)) {
  const net = c.define(await c.weights());
  const maxBatch = Math.max(...c.batches);
  const inputs = c.batches.map((batch) => {
    const shape = [batch, ...c.item];
    return { batch, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)) };
  });
  const engines: { precision: Precision; ctx: ReturnType<Engine["createExecutionContext"]>; engine: Engine }[] = [];
  for (const precision of c.precisions ?? ["float32"]) {
    const variant = await inPrecision(net, precision, c.input, inputs[0]!);
    const started = performance.now();
    const engine = await buildEngine(variant, { profiles: [{ [c.input]: { min: [1, ...c.item], opt: [1, ...c.item], max: [maxBatch, ...c.item] } }], tuning: "fast" });
    process.stderr.write(`built ${c.model} (${precision}) in ${(performance.now() - started).toFixed(0)} ms\n`);
    engines.push({ precision, engine, ctx: engine.createExecutionContext() });
  }
  const session = await ort.InferenceSession.create(await exportOnnx(net), { intraOpNumThreads: 2, interOpNumThreads: 1 });
  for (const { batch, shape, data } of inputs) {
    const builtin = engines.map(() => [] as number[]), onnxruntime: number[] = [];
    for (let turn = 0; turn < turns; turn++) {
      for (const [i, { ctx }] of engines.entries()) await timeTurn(() => ctx.execute({ [c.input]: { data, shape } }), builtin[i]!, 0.25);
      await timeTurn(() => session.run({ [c.input]: new ort.Tensor("float32", data, shape) }), onnxruntime, 0.25);
    }
    const peer = summary(onnxruntime);
    for (const [i, { precision }] of engines.entries()) {
      const ms = summary(builtin[i]!);
      const gflops = (countFlops(net, batch) / 1e9) / (ms.median / 1000);
      rows.push([c.model, precision, String(batch), ms.median.toFixed(3), peer.median.toFixed(3), (peer.median / ms.median).toFixed(2), (peer.best / ms.best).toFixed(2), gflops.toFixed(1)]);
      process.stderr.write(`  ${precision} batch ${batch}: builtin ${ms.median.toFixed(3)} ms, onnxruntime ${peer.median.toFixed(3)} ms\n`);
    }
  }
  for (const { engine } of engines) engine.dispose();
  await session.release();
}
printTable(rows, [0, 1]);
const ticksAfter = cpuTicks();
if (ticksBefore && ticksAfter && ticksAfter.total > ticksBefore.total) {
  const share = (100 * (ticksAfter.steal - ticksBefore.steal)) / (ticksAfter.total - ticksBefore.total);
  console.log(`CPU time taken by the host during this run (steal): ${share.toFixed(1)} %`);
}
