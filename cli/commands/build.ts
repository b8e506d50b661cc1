import { buildEngine, loadWeights } from "netdef";
import { need, UsageError, type Invocation } from "../command-line.js";
import { loadNetwork, writable } from "../files.js";
import { precisionOf, withPrecision } from "../precision.js";
import { interruptSignal, progressBar } from "../progress.js";
import { profilesFrom } from "../shapes.js";

/** netdef build: a network file and its weights to a plan, for the builtin engine or TensorRT. */
export async function build({ files: [file], options, json, print }: Invocation): Promise<void> {
  const weights = need(options.weights, "--weights");
  const backends = options.backend ?? ["builtin"];
  if (backends.length > 1 || !["builtin", "tensorrt"].includes(backends[0]!)) throw new UsageError(`--backend ${backends.join(" --backend ")}: expected one of builtin, tensorrt`);
  const backend = backends[0] as "builtin" | "tensorrt";
  const tuning = options.tuning ?? "off";
  if (!["off", "fast", "thorough"].includes(tuning)) throw new UsageError(`--tuning ${tuning}: expected off, fast or thorough`);
  const tactics = Object.fromEntries((options.tactic ?? []).map((spec) => {
    const at = spec.indexOf("=");
    if (at < 1 || at === spec.length - 1) throw new UsageError(`--tactic ${spec}: expected layer=tactic, e.g. conv2=direct_c16`);
    return [spec.slice(0, at), spec.slice(at + 1)];
  }));
  if (backend === "tensorrt" && (options.tuning || options.tactic || options["exclude-tactic"])) throw new UsageError("--tuning, --tactic and --exclude-tactic choose the builtin engine's kernels; TensorRT tunes its own");
  const profiles = profilesFrom(options);
  if (precisionOf(options) === "int8") need(options.calib, "--calib <folder of .npy input batches> for --int8");
  // Every path checked before the (long) build: the output is none of the files read.
  const out = await writable(need(options.output, "-o <model.plan>"), [file, weights, options["timing-cache"], options.calib && `${options.calib}/calibration.json`]);
  const signal = interruptSignal();
  const network = await withPrecision(await loadNetwork(file!, await loadWeights(weights)), options, json, signal);
  const started = performance.now();
  const common = { profiles, onProgress: progressBar("build", json), signal, timingCacheFile: options["timing-cache"] };
  const engine = backend === "tensorrt"
    ? await buildEngine(network, { backend, ...common, refit: "all" })
    : await buildEngine(network, { ...common, tuning: tuning as "off" | "fast" | "thorough", tactics, excludeTactics: options["exclude-tactic"] ?? [] });
  await engine.save(out);
  const layers = engine.backend === "builtin" ? (engine.header as { layers: unknown[] }).layers.length : undefined;
  print(`built ${network.name} (${backend}) in ${(performance.now() - started).toFixed(0)} ms → ${out}`, { plan: out, network: network.name, backend, layers });
}
