// --precision and trtexec's --fp16 / --bf16 / --int8 (with --calib): one precision, however given.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { calibrate, quantize, reducedFloat, type Network } from "netdef";
import { need, UsageError, type Options } from "./command-line.js";
import { readInputs } from "./files.js";
import { progressBar } from "./progress.js";

type Precision = "fp32" | "fp16" | "bf16" | "int8";

/** The precision the flags ask for; two that disagree are a UsageError. */
export function precisionOf(options: Options): Precision {
  const flags = (["fp16", "bf16", "int8"] as const).filter((p) => options[p]);
  const given = options.precision;
  if (given !== undefined && !["fp32", "fp16", "bf16", "int8"].includes(given)) throw new UsageError(`--precision ${given}: expected fp32, fp16, bf16 or int8`);
  const all = [...new Set([...flags, ...(given ? [given] : [])])];
  if (all.length > 1) throw new UsageError(`one precision at a time, but was given ${all.map((p) => `--${p}`).join(" and ")}`);
  if (options.calib !== undefined && all[0] !== "int8") throw new UsageError("--calib is for --int8 (calibration batches)");
  return (all[0] ?? "fp32") as Precision;
}

/**
 * The network in that precision: fp32 as defined; fp16/bf16 with weights and activations rounded; int8 calibrated
 * (MSE clips, the default of calibrate) on the .npy batches in --calib (cached beside them as calibration.json) then quantised.
 */
export async function withPrecision(network: Network, options: Options, json: boolean, signal: AbortSignal): Promise<Network> {
  const precision = precisionOf(options);
  if (precision === "fp32") return network;
  if (precision === "fp16" || precision === "bf16") return reducedFloat(network, precision === "fp16" ? "float16" : "bfloat16");
  const dir = need(options.calib, "--calib <folder of .npy input batches> for --int8");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".npy")).sort();
  if (!files.length) throw new UsageError(`--calib ${dir}: no .npy files`);
  const inputs = network.toJSON().inputs;
  const batches = await Promise.all(files.map((f) => readInputs([`${inputs[0]!.name}:${path.join(dir, f)}`], inputs)));
  const table = await calibrate(network, batches, { cacheFile: path.join(dir, "calibration.json"), signal, onProgress: ({ batch, batches: n }) => progressBar("calibrate", json)({ phase: "calibration batches", step: batch, steps: n }) });
  return quantize(network, table);
}
