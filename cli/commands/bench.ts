import { Engine, type InputArray } from "netdef";
import type { DataType } from "../../dsl/dtype.js";
import { integerOption, numberOption, UsageError, type Invocation } from "../command-line.js";
import { readable, readInputs } from "../files.js";
import { runShapes } from "../shapes.js";

/** Deterministic values of `dtype` for a benchmark input (sin for floats, small integers else). */
function syntheticInput(dtype: DataType, count: number): InputArray {
  if (dtype === "float32") return Float32Array.from({ length: count }, (_, i) => Math.sin(i));
  if (dtype === "int64") return BigInt64Array.from({ length: count }, (_, i) => BigInt(i % 7));
  if (dtype === "int32") return Int32Array.from({ length: count }, (_, i) => i % 7);
  if (dtype === "int8") return Int8Array.from({ length: count }, (_, i) => (i % 7) - 3);
  if (dtype === "uint8" || dtype === "bool") return Uint8Array.from({ length: count }, (_, i) => i % 2);
  return new Uint16Array(count);  // float16 / bfloat16 zeros
}

/** The q-th quantile of sorted times (nearest rank). */
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/**
 * netdef bench: latency of one execution context as trtexec measures it — warm-up for --warmUp ms, then at least
 * --iterations runs and --duration seconds — as min, mean, median, p90, p99 and max; --dumpProfile adds each
 * layer's mean time.
 */
export async function bench({ files: [plan], options, print }: Invocation): Promise<void> {
  const warmUpMs = numberOption(options.warmUp, "warmUp", 200, 0);
  const iterations = integerOption(options.iterations, "iterations", 10, 1);
  const durationS = numberOption(options.duration, "duration", 3, 0);
  const engine = await Engine.load(await readable(plan!));
  const shapes = runShapes(engine.inputs, options.shapes);
  const given = await readInputs(options.loadInputs ?? [], engine.inputs);
  const inputs = Object.fromEntries(engine.inputs.map((t) => {
    const shape = given[t.name]?.shape ?? shapes[t.name]!;
    if (options.shapes !== undefined && given[t.name] && shape.join() !== shapes[t.name]!.join()) throw new UsageError(`--shapes gives '${t.name}' [${shapes[t.name]!.join(",")}], but its file holds [${shape.join(",")}]`);
    return [t.name, given[t.name] ?? { data: syntheticInput(t.dtype, shape.reduce((a, b) => a * b, 1)), shape }];
  }));
  const ctx = engine.createExecutionContext();
  const warmUpEnd = performance.now() + warmUpMs;
  do await ctx.execute(inputs); while (performance.now() < warmUpEnd);
  const times: number[] = [];
  const deadline = performance.now() + durationS * 1000;
  while (times.length < iterations || performance.now() < deadline) {
    const started = performance.now();
    await ctx.execute(inputs);
    times.push(performance.now() - started);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const stats = {
    minMs: sorted[0]!, meanMs: times.reduce((a, b) => a + b, 0) / times.length, medianMs: quantile(sorted, 0.5),
    p90Ms: quantile(sorted, 0.9), p99Ms: quantile(sorted, 0.99), maxMs: sorted.at(-1)!,
  };
  const result: Record<string, unknown> = { shapes: Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, v.shape])), runs: times.length, ...stats, queriesPerSecond: 1000 / stats.medianMs };
  const f = (ms: number) => ms.toFixed(3);
  let human = `${Object.entries(result.shapes as Record<string, number[]>).map(([n, s]) => `${n} [${s.join(",")}]`).join(", ")}: ${times.length} runs; latency min ${f(stats.minMs)} ms, mean ${f(stats.meanMs)}, median ${f(stats.medianMs)}, p90 ${f(stats.p90Ms)}, p99 ${f(stats.p99Ms)}, max ${f(stats.maxMs)}; ${(1000 / stats.medianMs).toFixed(1)} queries/s`;
  if (options.dumpProfile) {
    const runs = Math.max(iterations, 10);
    const totals = new Map<string, number>();
    for (let i = 0; i < runs; i++) for (const p of (await ctx.execute(inputs, { profile: true })).profile) totals.set(p.layer, (totals.get(p.layer) ?? 0) + p.milliseconds / runs);
    const sum = [...totals.values()].reduce((a, b) => a + b, 0);
    human += "\n" + [...totals].map(([layer, ms]) => `  ${layer.padEnd(28)} ${ms.toFixed(4).padStart(10)} ms ${((100 * ms) / sum).toFixed(1).padStart(5)}%`).join("\n");
    result.layers = Object.fromEntries(totals);
  }
  print(human, result);
}
