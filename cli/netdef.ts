#!/usr/bin/env node
// netdef's command line, trtexec-like: build, run, inspect, bench, export-onnx, refit, compare. `netdef help`.
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { runSelftest } from "../selftest/selftest.js";
import { nearestNames } from "../weights/source.js";
import { packageVersion } from "../dsl/package-root.js";
import { referenceUnderTest, tensorrtUnderTest } from "../selftest/under-test.js";
import { buildEngine, calibrate, checkTensorRT, TensorRTUnavailableError, type IOTensor, NetdefError, compareLayers, Engine, exportOnnx, loadWeights, Network, type OptimizationProfile, parseNpy, quantize, reducedFloat, refit, serializeNpy, type WeightSource } from "netdef";

const USAGE = `usage: netdef <command> [options]

  build <network.ts> --weights <file> [--profile in:min/opt/max]... [--precision fp32|fp16|bf16|int8 --calib <dir>]
        [--tuning off|fast|thorough --timing-cache <file>] [--tactic layer=tactic]... [--exclude-tactic tactic]... -o <model.plan>
  run <model.plan> --input [name=]<x.npy>... -o <out.npy>
  inspect <model.plan | network.ts> [--weights <file>]
  bench <model.plan> [--batch N] [--profile]
  export-onnx <network.ts> --weights <file> -o <model.onnx>
  refit <model.plan> --weights <file> [-o <refit.plan>]
  compare <network.ts> --weights <file> --input [name=]<x.npy> --reference <activations.safetensors>
  check --backend tensorrt <network.ts> --weights <file> [--profile in:min/opt/max]... [--seed N]
        what TensorRT would refuse and each layer whose TensorRT result differs from the builtin engine's, checked on
        netdef's TensorRT reference (no TensorRT or GPU needed); exit code 1 where there are findings
  selftest --backend tensorrt [--stand-in reference] [--cases <regex>]
        every layer case and example model on TensorRT against the builtin engine (host and device I/O, several
        contexts, refit by PyTorch names): a table to paste into a bug report; exit code 1 where a case fails.
        --stand-in reference runs it on the TensorRT reference where the addon has no TensorRT

  --json      machine-readable output on stdout, errors included ({ "error": { name, code, message, … } })
  --version   the netdef version
A network file is a TypeScript or JavaScript module whose default export (or first exported function) takes the
weights and returns the Network. Shapes in --profile are x-separated: data:1x1x28x28/8x1x28x28/64x1x28x28.
Exit codes: 0 success, 1 failure, 2 usage error.`;

/** The command line used wrongly: exit code 2. */
class UsageError extends NetdefError {
  override readonly name = "UsageError";
  readonly code = "usage";
}

const OPTIONS = {
  weights: { type: "string" }, output: { type: "string", short: "o" }, input: { type: "string", multiple: true },
  // `bench --profile` times each layer; elsewhere --profile gives an input's shape range.
  profile: process.argv[2] === "bench" ? { type: "boolean" as const } : { type: "string" as const, multiple: true }, reference: { type: "string" }, batch: { type: "string" },
  calib: { type: "string" }, tuning: { type: "string" }, "timing-cache": { type: "string" }, tactic: { type: "string", multiple: true }, "exclude-tactic": { type: "string", multiple: true },
  precision: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" }, version: { type: "boolean" }, backend: { type: "string" }, seed: { type: "string" }, "stand-in": { type: "string" }, cases: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** Each command's options (besides --json and --help) and whether it takes a file: anything else is a usage error. */
const COMMANDS: Readonly<Record<string, { options: readonly (keyof typeof OPTIONS)[]; file: boolean }>> = {
  build: { options: ["weights", "profile", "precision", "calib", "tuning", "timing-cache", "tactic", "exclude-tactic", "output"], file: true },
  run: { options: ["input", "output"], file: true },
  inspect: { options: ["weights"], file: true },
  bench: { options: ["batch", "profile"], file: true },
  "export-onnx": { options: ["weights", "output"], file: true },
  refit: { options: ["weights", "output"], file: true },
  compare: { options: ["weights", "input", "reference"], file: true },
  check: { options: ["backend", "weights", "profile", "seed"], file: true },
  selftest: { options: ["backend", "stand-in", "cases"], file: false },
  help: { options: [], file: false },
};

/** The command line parsed strictly (a misspelt flag is no flag), or what is wrong with it. */
function parseCommandLine() {
  try {
    const { values, positionals } = parseArgs({ allowPositionals: true, options: OPTIONS, strict: true });
    const [command, ...files] = positionals;
    const spec = command === undefined ? undefined : COMMANDS[command];
    if (!spec) return { values, positionals, problem: command === undefined || values.help ? undefined : `unknown command "${command}"` };
    const foreign = Object.keys(values).filter((o) => o !== "json" && o !== "help" && o !== "version" && !(spec.options as readonly string[]).includes(o));
    if (foreign.length) return { values, positionals, problem: `${command} takes no ${foreign.map((o) => `--${o}`).join(", ")} (it takes ${spec.options.map((o) => `--${o}`).join(", ") || "no options"})` };
    if (files.length > (spec.file ? 1 : 0)) return { values, positionals, problem: `${command} takes ${spec.file ? "one file" : "no file"}, but was given ${files.map((f) => `"${f}"`).join(", ")}` };
    return { values, positionals, problem: undefined };
  } catch (error) {
    // node:util's messages for unknown options and missing or extra values, without its advice on "--", with the
    // nearest option where one was misspelt.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    const unknown = /^Unknown option '--([^'=]+)/.exec(message)?.[1];
    const nearest = unknown === undefined ? [] : nearestNames(unknown, Object.keys(OPTIONS), 1, 2);
    return { values: {} as Record<string, never>, positionals: process.argv.slice(2, 4), problem: nearest.length ? `${message} (did you mean --${nearest[0]}?)` : message };
  }
}
const { values: options, positionals, problem } = parseCommandLine();
// --json holds for errors in the command line itself too, which leave `options` empty.
const json = Boolean(options.json) || process.argv.slice(2).includes("--json");
const print = (human: string, data: unknown) => console.log(json ? JSON.stringify(data, null, 2) : human);
const need = (value: unknown, what: string): string => {
  if (typeof value !== "string" || value === "") throw new UsageError(`missing ${what}`);
  return value;
};

/** Loads a network module and defines the network with `weights`. */
async function loadNetwork(file: string, weights?: WeightSource): Promise<Network> {
  if (/\.[cm]?ts$/.test(file)) (await import("tsx/esm/api")).register();
  const module = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
  const define = (typeof module.default === "function" ? module.default : Object.values(module).find((v) => typeof v === "function")) as ((w?: WeightSource) => Network) | undefined;
  if (!define) throw new UsageError(`${file} exports no function that defines a network`);
  const network = define(weights);
  if (!(network instanceof Network)) throw new UsageError(`${file}: its exported function did not return a Network`);
  return network;
}

function parseProfiles(specs: readonly string[]): OptimizationProfile[] {
  if (!specs.length) return [];
  const profile: OptimizationProfile = {};
  for (const spec of specs) {
    const match = /^([^:]+):([\dx]+)\/([\dx]+)\/([\dx]+)$/.exec(spec);
    if (!match) throw new UsageError(`--profile ${spec}: expected name:min/opt/max with x-separated shapes, e.g. data:1x1x28x28/8x1x28x28/64x1x28x28`);
    const dims = (s: string) => s.split("x").map((d) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) throw new UsageError(`--profile ${spec}: dimension ${d} is not an integer from 1 to ${2 ** 31 - 1}`);
      return n;
    });
    profile[match[1]!] = { min: dims(match[2]!), opt: dims(match[3]!), max: dims(match[4]!) };
  }
  return [profile];
}

/** `[name=]file.npy` inputs, named after the engine's inputs in order where no name is given. */
async function readInputs(specs: readonly string[], names: readonly string[]) {
  const inputs: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [i, spec] of specs.entries()) {
    const [name, file] = spec.includes("=") ? spec.split("=", 2) as [string, string] : [names[i] ?? `input${i}`, spec];
    const tensor = parseNpy(new Uint8Array(await readFile(file)), file);
    inputs[name] = { data: Float32Array.from(tensor.data as ArrayLike<number>), shape: [...tensor.shape] };
  }
  return inputs;
}

/**
 * The network in the precision --precision asks for: fp32 as defined; fp16/bf16 with weights and activations
 * rounded; int8 calibrated (entropy) on the .npy batches in --calib (cached beside them) then quantised.
 */
async function withPrecision(network: Network): Promise<Network> {
  const precision = (options.precision as string | undefined) ?? "fp32";
  if (precision === "fp32") return network;
  if (precision === "fp16" || precision === "bf16") return reducedFloat(network, precision === "fp16" ? "float16" : "bfloat16");
  if (precision !== "int8") throw new UsageError(`--precision ${precision}: expected fp32, fp16, bf16 or int8`);
  const dir = need(options.calib, "--calib <folder of .npy input batches> for --precision int8");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".npy")).sort();
  if (!files.length) throw new UsageError(`--calib ${dir}: no .npy files`);
  const inputName = network.toJSON().inputs[0]!.name;
  const batches = await Promise.all(files.map(async (f) => readInputs([`${inputName}=${path.join(dir, f)}`], [inputName])));
  const table = await calibrate(network, batches, { cacheFile: path.join(dir, "calibration.json"), onProgress: ({ batch, batches: n }) => progressBar("calibrate")({ phase: "calibration batches", step: batch, steps: n }) });
  return quantize(network, table);
}

/** A progress bar on stderr (a terminal only), one line rewritten in place. */
function progressBar(label: string) {
  return ({ phase, step, steps }: { phase: string; step: number; steps: number }) => {
    if (!process.stderr.isTTY || json) return;
    const width = 24, filled = Math.round((width * step) / Math.max(steps, 1));
    process.stderr.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${step}/${steps} ${phase.padEnd(50).slice(0, 50)}${step >= steps ? "\n" : ""}`);
  };
}

async function main(): Promise<void> {
  if (problem) throw new UsageError(problem);
  if (options.version) return print(`netdef ${packageVersion}`, { netdef: packageVersion });
  const [command, target] = positionals;
  if (options.help || !command || command === "help") { console.log(USAGE); return; }
  switch (command) {
    case "build": {
      const network = await withPrecision(await loadNetwork(need(target, "the network file"), await loadWeights(need(options.weights, "--weights"))));
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      const started = performance.now();
      const tuning = (options.tuning as string | undefined) ?? "off";
      if (!["off", "fast", "thorough"].includes(tuning)) throw new UsageError(`--tuning ${tuning}: expected off, fast or thorough`);
      const tactics = Object.fromEntries(((options.tactic as string[] | undefined) ?? []).map((spec) => {
        const at = spec.indexOf("=");
        if (at < 1 || at === spec.length - 1) throw new UsageError(`--tactic ${spec}: expected layer=tactic, e.g. conv2=direct_c16`);
        return [spec.slice(0, at), spec.slice(at + 1)];
      }));
      const engine = await buildEngine(network, {
        profiles: parseProfiles((options.profile as string[] | undefined) ?? []), onProgress: progressBar("build"), signal: controller.signal,
        tuning: tuning as "off" | "fast" | "thorough", timingCacheFile: options["timing-cache"] as string | undefined, tactics,
        excludeTactics: (options["exclude-tactic"] as string[] | undefined) ?? [],
      });
      const out = need(options.output, "-o <model.plan>");
      await engine.save(out);
      print(`built ${network.name} in ${(performance.now() - started).toFixed(0)} ms → ${out}`, { plan: out, network: network.name, layers: engine.header.layers.length });
      return;
    }
    case "run": {
      const engine = await Engine.load(need(target, "the plan file"));
      const inputs = await readInputs((options.input as string[] | undefined) ?? [], engine.inputs.map((t) => t.name));
      const outputs = await engine.createExecutionContext().execute(inputs);
      const out = options.output as string | undefined;
      const written: Record<string, string> = {};
      const names = Object.keys(outputs);
      for (const name of names) {
        const file = out ? (names.length === 1 ? out : out.replace(/\.npy$/, "") + `.${name}.npy`) : `${name}.npy`;
        const o = outputs[name]!;
        await writeFile(file, serializeNpy({ dtype: o.data instanceof Float32Array ? "float32" : o.data instanceof Int32Array ? "int32" : o.data instanceof Int8Array ? "int8" : "uint8", shape: o.shape, data: o.data }));
        written[name] = file;
      }
      print(names.map((n) => `${n} [${outputs[n]!.shape.join(",")}] → ${written[n]}`).join("\n"), { outputs: Object.fromEntries(names.map((n) => [n, { shape: outputs[n]!.shape, file: written[n] }])) });
      return;
    }
    case "inspect": {
      const file = need(target, "a plan or network file");
      if (/\.[cm]?[jt]s$/.test(file)) {
        const network = await loadNetwork(file, options.weights ? await loadWeights(options.weights as string) : undefined);
        const summary = network.summary();
        print(summary.toString(), { network: summary.name, layers: summary.rows, totalParameters: summary.totalParameters });
        return;
      }
      const engine = await Engine.load(file);
      const io = (header: { inputs: IOTensor[]; outputs: IOTensor[] }) => [
        ...header.inputs.map((t) => `input  ${t.name} ${t.dtype} [${t.shape.join(",")}]${t.profiles?.length ? ` profiles ${t.profiles.map((p) => `[${p.min.join(",")}]…[${p.max.join(",")}]`).join(" ")}` : ""}`),
        ...header.outputs.map((t) => `output ${t.name} ${t.dtype} [${t.shape.join(",")}]`),
      ];
      if (engine.backend === "tensorrt") {
        const { header } = engine;
        print([`TensorRT plan of "${header.network}" (netdef ${header.netdef}, TensorRT ${engine.inspect().tensorrt}, compute capability ${header.target.computeCapability / 10})`, ...io(header)].join("\n"), header);
        return;
      }
      const { header } = engine;
      const { halfStorage, channelBlocked, bfloat16Products, memory, layers } = engine.inspect();
      const human = [
        `plan of "${header.network}" (netdef ${header.netdef}, ${header.backend}, built on ${header.builtOn.platform} with ${header.builtOn.cpuFeatures.join(" ")})`,
        ...io(header),
        `activation memory at ${Object.entries(memory.shapes).map(([n, s]) => `${n} [${s.join(",")}]`).join(", ")}: peak ${(memory.peakBytes / 2 ** 20).toFixed(2)} MiB of ${(memory.naiveBytes / 2 ** 20).toFixed(2)} MiB naive (${((100 * memory.peakBytes) / memory.naiveBytes).toFixed(0)}%)${memory.unallocated.length ? `; ${memory.unallocated.length} tensors of fused chains never allocated` : ""}`,
        ...(["bfloat16", "float16"] as const).filter((type) => halfStorage[type].length).map((type) => `${type} storage: ${halfStorage[type].length} tensors (${halfStorage[type].join(", ")})`),
        ...(channelBlocked.tensors.length ? [`channel-blocked (NCHW8c): ${channelBlocked.tensors.length} tensors (${channelBlocked.tensors.join(", ")}), read or written by ${channelBlocked.layers.length} layers`] : []),
        ...(bfloat16Products.length ? [`bfloat16 products (AVX-512 BF16): ${bfloat16Products.length} layers (${bfloat16Products.join(", ")})`] : []),
        `${header.layers.length} layers after optimisation (${header.ir.layers.length} defined):`,
        ...layers.map((l) => `  ${l.name.padEnd(28)} ${l.kind.padEnd(16)}${l.tactic ? ` tactic ${l.tactic}` : ""}${l.kernel && l.kernel !== l.tactic ? ` runs ${l.kernel}` : ""}${l.fusedFrom.length > 1 ? ` fused: ${l.fusedFrom.join(" + ")}` : ""}`),
      ].join("\n");
      print(human, { ...header, layers, memory, halfStorage, channelBlocked, bfloat16Products });
      return;
    }
    case "bench": {
      const batch = Number(options.batch ?? 1);
      if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch ${String(options.batch)}: expected an integer ≥ 1`);
      const engine = await Engine.load(need(target, "the plan file"));
      const ctx = engine.createExecutionContext();
      const inputs = Object.fromEntries(engine.inputs.map((t) => {
        const shape = t.shape.map((d, i) => (d < 0 ? (i === 0 ? batch : t.profiles?.[0]?.opt[i] ?? 1) : d));
        return [t.name, { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)), shape }];
      }));
      for (let i = 0; i < 3; i++) await ctx.execute(inputs);
      const times: number[] = [];
      const deadline = performance.now() + 2000;
      while (times.length < 10 || performance.now() < deadline) {
        const started = performance.now();
        await ctx.execute(inputs);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const median = times[times.length >> 1]!;
      const result: Record<string, unknown> = { batch, runs: times.length, medianMs: median, p90Ms: times[Math.floor(times.length * 0.9)], throughput: (batch * 1000) / median };
      let human = `batch ${batch}: median ${median.toFixed(3)} ms, p90 ${(result.p90Ms as number).toFixed(3)} ms, ${(result.throughput as number).toFixed(1)} items/s over ${times.length} runs`;
      if (options.profile) {
        const runs = 20;
        const totals = new Map<string, number>();
        for (let i = 0; i < runs; i++) for (const p of (await ctx.execute(inputs, { profile: true })).profile) totals.set(p.layer, (totals.get(p.layer) ?? 0) + p.milliseconds / runs);
        const sum = [...totals.values()].reduce((a, b) => a + b, 0);
        human += "\n" + [...totals].map(([layer, ms]) => `  ${layer.padEnd(28)} ${ms.toFixed(4).padStart(10)} ms ${((100 * ms) / sum).toFixed(1).padStart(5)}%`).join("\n");
        result.layers = Object.fromEntries(totals);
      }
      print(human, result);
      return;
    }
    case "export-onnx": {
      const network = await loadNetwork(need(target, "the network file"), await loadWeights(need(options.weights, "--weights")));
      const out = need(options.output, "-o <model.onnx>");
      const bytes = await exportOnnx(network, out);
      print(`exported ${network.name} (${bytes.length} bytes) → ${out}`, { onnx: out, bytes: bytes.length });
      return;
    }
    case "refit": {
      const file = need(target, "the plan file");
      const engine = await Engine.load(file);
      await refit(engine, await loadWeights(need(options.weights, "--weights")));
      const out = (options.output as string | undefined) ?? file;
      await engine.save(out);
      print(`refit ${engine.header.network} with ${options.weights as string} → ${out}`, { plan: out });
      return;
    }
    case "compare": {
      const network = await loadNetwork(need(target, "the network file"), await loadWeights(need(options.weights, "--weights")));
      const inputs = await readInputs((options.input as string[] | undefined) ?? [], network.toJSON().inputs.map((t) => t.name));
      const report = await compareLayers(network, inputs, await loadWeights(need(options.reference, "--reference")));
      print(report.toString(), { rows: report.rows, firstDivergent: report.firstDivergent ?? null, unmatched: report.unmatched });
      if (report.firstDivergent) process.exitCode = 1;
      return;
    }
    case "check": {
      if (options.backend !== "tensorrt") throw new UsageError(`check --backend ${String(options.backend ?? "")}: expected --backend tensorrt (the builtin engine is the one checked against)`);
      const seed = Number(options.seed ?? 1);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed ${String(options.seed)}: expected an integer ≥ 0`);
      const network = await loadNetwork(need(target, "the network file"), await loadWeights(need(options.weights, "--weights")));
      const report = await checkTensorRT(network, { profiles: parseProfiles((options.profile as string[] | undefined) ?? []), seed });
      print(report.toString(), { network: report.network, findings: report.findings, layersCompared: report.layersCompared, shapesChecked: report.shapesChecked });
      if (report.findings.length) process.exitCode = 1;
      return;
    }
    case "selftest": {
      if (options.backend !== "tensorrt") throw new UsageError(`selftest --backend ${String(options.backend ?? "")}: expected --backend tensorrt`);
      const standIn = options["stand-in"] as string | undefined;
      if (standIn !== undefined && standIn !== "reference") throw new UsageError(`--stand-in ${standIn}: expected --stand-in reference`);
      let cases: RegExp | undefined;
      try {
        cases = options.cases === undefined ? undefined : new RegExp(options.cases as string);
      } catch {
        throw new UsageError(`--cases ${String(options.cases)}: not a regular expression`);
      }
      let underTest;
      try {
        underTest = standIn ? referenceUnderTest() : tensorrtUnderTest();
      } catch (error) {
        if (error instanceof TensorRTUnavailableError) throw new TensorRTUnavailableError(`${error.message}. Without TensorRT, --stand-in reference runs the self-test on netdef's TensorRT reference`);
        throw error;
      }
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      const report = await runSelftest(underTest, { cases, signal: controller.signal, onProgress: progressBar("selftest") });
      print(report.toString(), { tensorrt: report.tensorrt, real: report.real, netdef: report.netdef, host: report.host, passed: report.passed, failed: report.failed, rows: report.rows });
      if (report.failed) process.exitCode = 1;
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** A file the command line names that cannot be read as one: the user's mistake, like a bad flag. */
const PATH_ERRORS: Readonly<Record<string, string>> = { ENOENT: "no such file or directory", EISDIR: "is a directory, not a file", ENOTDIR: "a part of the path is not a directory", EACCES: "permission denied" };

main().catch((error: unknown) => {
  // Node's EISDIR from a read names no path: the file then is the command's own (its first argument).
  const { code, path: file = positionals[1] } = error as { code?: string; path?: string };
  const usage = error instanceof UsageError || (code !== undefined && file !== undefined && code in PATH_ERRORS);
  const message = error instanceof UsageError || !usage ? (error as Error).message : `${file}: ${PATH_ERRORS[code!]}`;
  const name = usage ? "UsageError" : (error as Error).name;
  if (json) {
    const { layer, callSite } = error as { layer?: string; callSite?: unknown };
    console.log(JSON.stringify({ error: { name, code: usage ? "usage" : (error as { code?: string }).code, message, layer, callSite } }, null, 2));
  }
  console.error(usage ? `netdef: ${message}\n\n${USAGE}` : `netdef: ${name}: ${message}`);
  process.exitCode = usage ? 2 : 1;
});
