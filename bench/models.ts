// Latency and throughput, side by side with onnxruntime (CPU, 2 intra-op threads) in the same process: `npm run bench`
// [-- <model>]. The builtin engines are built with auto-tuning ("fast", tuned at batch 1). Each engine runs in four
// turns of a quarter second per batch size, the engines taking turns, so all meet the same spells of a shared machine.
// One row per model, precision and batch: median ms per execution for the builtin engine and for onnxruntime on
// PyTorch's own ONNX export (fixtures/onnx, made by scripts/pytorch/bench_models.py) and on netdef's export of the
// same network, onnxruntime always in float32, the baseline the reduced precisions are measured against; the ratios
// (onnxruntime ms / builtin ms: above 1 means the builtin engine is faster), the ratio of the fastest runs (less
// disturbed by a noisy machine), and the builtin engine's GFLOP/s.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { buildEngine, calibrate, type Engine, exportOnnx, type Network, quantize, reducedFloat } from "netdef";
import { benchCases as cases, benchInputs, benchProfile, type BenchCase, type Precision, pytorchExport } from "./cases.js";
import { countFlops } from "./flops.js";
import { printTable, summary, timeTurn } from "./report.js";
const only = process.argv[2];
const turns = 4;

/** The network in `precision`: bfloat16 rounding, or INT8 Q/DQ calibrated (min-max) on two batches of inputs. */
async function inPrecision(net: Network, precision: Precision, c: BenchCase): Promise<Network> {
  if (precision === "float32") return net;
  if (precision === "bfloat16") return reducedFloat(net, "bfloat16");
  return quantize(net, await calibrate(net, [0.5, 1].map((scale) => benchInputs(c, 1, scale)), { method: "minmax" }));
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

const rows: string[][] = [["model", "precision", "batch", "builtin ms", "onnxruntime ms", "ratio", "best ratio", "on netdef's export ms", "ratio", "builtin GFLOP/s"]];
const missing: string[] = [];
const options = { intraOpNumThreads: 2, interOpNumThreads: 1 };
for (const c of cases.filter((c) => !only || c.model === only)) {
  const net = c.define(await c.weights());
  const engines: { precision: Precision; ctx: ReturnType<Engine["createExecutionContext"]>; engine: Engine }[] = [];
  for (const precision of c.precisions) {
    const variant = await inPrecision(net, precision, c);
    const started = performance.now();
    const engine = await buildEngine(variant, { profiles: [benchProfile(c, Math.max(...c.batches))], tuning: "fast" });
    process.stderr.write(`built ${c.model} (${precision}) in ${(performance.now() - started).toFixed(0)} ms\n`);
    engines.push({ precision, engine, ctx: engine.createExecutionContext() });
  }
  const pytorch = pytorchExport(c);
  if (!pytorch) missing.push(c.onnx);
  const peers = [pytorch ? await ort.InferenceSession.create(pytorch, options) : undefined, await ort.InferenceSession.create(await exportOnnx(net), options)];
  for (const batch of c.batches) {
    const inputs = benchInputs(c, batch);
    // onnxruntime's inputs by position: PyTorch's export names LeNet's input "input" where the network says "data".
    const feeds = peers.map((session) => session && Object.fromEntries(Object.values(inputs).map(({ data, shape }, i) => [session.inputNames[i]!, new ort.Tensor("float32", data, shape)])));
    const builtin = engines.map(() => [] as number[]), peer = peers.map(() => [] as number[]);
    for (let turn = 0; turn < turns; turn++) {
      for (const [i, { ctx }] of engines.entries()) await timeTurn(() => ctx.execute(inputs), builtin[i]!, 0.25);
      for (const [i, session] of peers.entries()) if (session) await timeTurn(() => session.run(feeds[i]!), peer[i]!, 0.25);
    }
    const [theirs, ofOurs] = peer.map((samples) => (samples.length ? summary(samples) : undefined));
    for (const [i, { precision }] of engines.entries()) {
      const ms = summary(builtin[i]!);
      const gflops = (countFlops(net, batch) / 1e9) / (ms.median / 1000);
      const cells = (s: { median: number; best: number } | undefined) => (s ? [s.median.toFixed(3), (s.median / ms.median).toFixed(2)] : ["—", "—"]);
      rows.push([c.model, precision, String(batch), ms.median.toFixed(3), ...cells(theirs), theirs ? (theirs.best / ms.best).toFixed(2) : "—", ...cells(ofOurs!), gflops.toFixed(1)]);
      process.stderr.write(`  ${precision} batch ${batch}: builtin ${ms.median.toFixed(3)} ms, onnxruntime ${theirs?.median.toFixed(3) ?? "—"} / ${ofOurs!.median.toFixed(3)} ms\n`);
    }
  }
  for (const { engine } of engines) engine.dispose();
  for (const session of peers) await session?.release();
}
printTable(rows, [0, 1]);
if (missing.length) console.log(`No PyTorch export of ${missing.join(", ")} on this machine (too large to commit): python3 scripts/pytorch/bench_models.py fixtures <list.json> <folder> makes them (see its header).`);
const ticksAfter = cpuTicks();
if (ticksBefore && ticksAfter && ticksAfter.total > ticksBefore.total) {
  const share = (100 * (ticksAfter.steal - ticksBefore.steal)) / (ticksAfter.total - ticksBefore.total);
  console.log(`CPU time taken by the host during this run (steal): ${share.toFixed(1)} %`);
}
