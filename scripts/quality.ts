// npm run quality: INT8 and bfloat16 quality of the convolution fixture models on their evaluation sets (issue 30,
// item 3). Each set: 64 inputs, each element uniform in [-1, 1) from mulberry32 (debug/random.ts) — seed 1 to
// calibrate, seed 2026 to evaluate, whose PyTorch float64 outputs scripts/pytorch/eval_sets.py made
// (fixtures/eval). Reported: the relative L2 error ‖y − y₆₄‖ / ‖y₆₄‖ of the whole evaluation output, float32, bfloat16
// and INT8 by each calibration method.
import { buildEngine, calibrationReport, CALIBRATION_METHODS, loadWeights, quantize, reducedFloat, type Network, type WeightSource } from "netdef";
import { random } from "../debug/random.js";
import { defineMobileNetV2 } from "../models/mobilenet-v2.js";
import { defineShuffleNetV2 } from "../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../models/squeezenet.js";

export const QUALITY_MODELS: [string, (w: WeightSource) => Network][] = [["squeezenet", defineSqueezeNet], ["shufflenet_v2", defineShuffleNetV2], ["mobilenet_v2", defineMobileNetV2]];
const COUNT = 64, BATCH = 8, SHAPE = [3, 224, 224], PER = 3 * 224 * 224;

/** The set drawn from `seed`, in batches of 8 named `input`. */
export function drawnSet(seed: number): { input: { data: Float32Array; shape: number[] } }[] {
  const next = random(seed);
  const all = Float32Array.from({ length: COUNT * PER }, () => next() * 2 - 1);
  return Array.from({ length: COUNT / BATCH }, (_, b) => ({ input: { data: all.subarray(b * BATCH * PER, (b + 1) * BATCH * PER), shape: [BATCH, ...SHAPE] } }));
}

/** ‖y − reference‖ / ‖reference‖ of the network's outputs over the batches. */
export async function relativeL2(network: Network, batches: ReturnType<typeof drawnSet>, reference: Float64Array): Promise<number> {
  const engine = await buildEngine(network, { profiles: [{ input: { min: [BATCH, ...SHAPE], opt: [BATCH, ...SHAPE], max: [BATCH, ...SHAPE] } }] });
  const context = engine.createExecutionContext();
  let [num, den, at] = [0, 0, 0];
  for (const batch of batches) {
    const y = (await context.execute(batch)).output!.data as Float32Array;
    for (let i = 0; i < y.length; i++, at++) { num += (y[i]! - reference[at]!) ** 2; den += reference[at]! ** 2; }
  }
  engine.dispose();
  return Math.sqrt(num / den);
}

/** Every precision's error on one model: float32, bfloat16, INT8 per calibration method. */
export async function modelQuality(model: string, define: (w: WeightSource) => Network, methods = CALIBRATION_METHODS) {
  const net = define(await loadWeights(`fixtures/${model}.safetensors`));
  const reference = (await loadWeights(`fixtures/eval/${model}_eval.safetensors`)).get("output_fp64")!.data as Float64Array;
  const [calibration, evaluation] = [drawnSet(1), drawnSet(2026)];
  const rows = await calibrationReport(net, calibration);
  const errors: Record<string, number> = { float32: await relativeL2(net, evaluation, reference), bfloat16: await relativeL2(reducedFloat(net, "bfloat16"), evaluation, reference) };
  for (const m of methods) errors[`int8 ${m}`] = await relativeL2(quantize(net, Object.fromEntries(rows.map((r) => [r.tensor, r.tensor === "input" ? r.amax : r.clips[m]]))), evaluation, reference);
  return errors;
}

if (process.argv[1]?.endsWith("quality.ts")) {
  for (const [model, define] of QUALITY_MODELS) {
    const started = performance.now();
    const errors = await modelQuality(model, define);
    console.log(`${model.padEnd(14)} ${Object.entries(errors).map(([k, e]) => `${k} ${(100 * e).toFixed(3)}%`).join(", ")} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
}
