import os from "node:os";
import { buildEngine } from "../api/build.js";
import { BuildCancelledError } from "../builder/errors.js";
import { packageVersion } from "../dsl/package-root.js";
import { LoweringError } from "../native/addon.js";
import { outputNumbers } from "../runtime/io.js";
import type { Network } from "../dsl/network.js";
import type { OptimizationProfile } from "../builder/build.js";
import type { WeightSource } from "../weights/source.js";
import { defineCase, layerCases, type CaseFeeds } from "./layer-cases.js";
import { modelWeights, SELFTEST_MODELS } from "./models.js";
import type { NumericOutputs, TensorRTUnderTest } from "./under-test.js";

/** One case's result: the steps it ran, its largest error over the tolerance (≤ 1 passes) and the verdict. */
export interface SelftestRow {
  case: string;
  kind: "layer" | "model";
  steps: string[];
  /** Largest |TensorRT − builtin| over |Δ| ≤ 1e-4·max|builtin| + 1e-5 (integers and booleans: exact), over all steps. */
  maxError: number;
  /** "refused": the lowering refuses the case (its reason in `detail`), as the DSL allows more than TensorRT takes. */
  verdict: "pass" | "fail" | "refused";
  detail?: string;
}

export interface SelftestReport {
  /** What ran the cases: TensorRT's version and the GPU, or the reference standing in. */
  tensorrt: string;
  real: boolean;
  netdef: string;
  host: string;
  rows: SelftestRow[];
  passed: number;
  failed: number;
  toString(): string;
}

export interface SelftestOptions {
  /** Only the cases whose name matches. Default: every layer case and every example model. */
  cases?: RegExp;
  onProgress?: (progress: { phase: string; step: number; steps: number }) => void;
  signal?: AbortSignal;
}

/** Largest error over the tolerance between two runs' outputs; Infinity where names or shapes differ. */
function errorRatio(actual: NumericOutputs, expected: NumericOutputs, exact: ReadonlySet<string>): number {
  let worst = 0;
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name];
    if (!a || a.shape.join() !== e.shape.join() || a.values.length !== e.values.length) return Infinity;
    let scale = 0;
    for (const v of e.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const tolerance = exact.has(name) ? 0 : 1e-4 * scale + 1e-5;
    e.values.forEach((v, i) => {
      const d = Math.abs(a.values[i]! - v);
      const ratio = Number.isNaN(d) ? (Number.isNaN(v) && Number.isNaN(a.values[i]) ? 0 : Infinity) : d === 0 ? 0 : d / tolerance;
      worst = Math.max(worst, ratio);
    });
  }
  return worst;
}

async function builtinOutputs(network: Network, inputs: CaseFeeds, profiles: OptimizationProfile[]): Promise<NumericOutputs> {
  const engine = await buildEngine(network, { profiles });
  try {
    const outputs = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, { data: v.data, shape: v.shape }])));
    return Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, { shape: [...o.shape], values: outputNumbers(o) }]));
  } finally {
    engine.dispose();
  }
}

/** Runs one case: build, host execution, device execution, three contexts at once, and (models) a refit. */
async function runCase(underTest: TensorRTUnderTest, name: string, kind: SelftestRow["kind"], network: Network, inputs: CaseFeeds, profiles: OptimizationProfile[], refitTo?: { weights: WeightSource; network: Network }): Promise<SelftestRow> {
  const row: SelftestRow = { case: name, kind, steps: [], maxError: 0, verdict: "pass" };
  const ir = network.toJSON(), dtypes = new Map([...ir.inputs, ...ir.tensors].map((t) => [t.name, t.dtype]));
  const exact = new Set(ir.outputs.filter((o) => !["float32", "float16", "bfloat16"].includes(dtypes.get(o.tensor)!)).map((o) => o.name));
  const expected = await builtinOutputs(network, inputs, profiles);
  let built;
  try {
    built = await underTest.build(network, profiles);
  } catch (error) {
    if (error instanceof LoweringError) return { ...row, verdict: "refused", detail: error.message };
    return { ...row, verdict: "fail", maxError: Infinity, steps: ["build"], detail: `${(error as Error).name}: ${(error as Error).message}` };
  }
  const step = (what: string, ratio: number) => {
    row.steps.push(what);
    row.maxError = Math.max(row.maxError, ratio);
  };
  try {
    const host = await built.execute(inputs);
    step("build+run", errorRatio(host, expected, exact));
    const shapes = Object.fromEntries(Object.entries(host).map(([n, o]) => [n, o.shape]));
    const device = await built.executeOnDevice(inputs, shapes);
    if (device) step("device I/O", errorRatio(device, host, exact));
    const contexts = await Promise.all([1, 2, 3].map((c) => built.execute(inputs, c)));
    step("3 contexts", Math.max(...contexts.map((o) => errorRatio(o, host, exact))));
    if (refitTo) {
      await built.refit(refitTo.weights);
      step("refit", errorRatio(await built.execute(inputs), await builtinOutputs(refitTo.network, inputs, profiles), exact));
    }
  } catch (error) {
    row.maxError = Infinity;
    row.detail = `${(error as Error).name}: ${(error as Error).message}`;
  } finally {
    built.dispose();
  }
  row.verdict = row.maxError <= 1 ? "pass" : "fail";
  return row;
}

/**
 * Every layer case and example model built and run on TensorRT (or on the reference standing in for it), each compared
 * with the builtin engine: host and device I/O, several contexts at once, and a refit by PyTorch names for the
 * models. The table it prints is meant for bug reports.
 */
export async function runSelftest(underTest: TensorRTUnderTest, options: SelftestOptions = {}): Promise<SelftestReport> {
  const chosen = (name: string) => !options.cases || options.cases.test(name);
  const layers = Object.entries(layerCases).filter(([name]) => chosen(name));
  const models = Object.entries(SELFTEST_MODELS).filter(([name]) => chosen(name));
  const steps = layers.length + models.length;
  const rows: SelftestRow[] = [];
  const progress = (phase: string) => {
    options.onProgress?.({ phase, step: rows.length, steps });
    if (options.signal?.aborted) throw new BuildCancelledError(`self-test cancelled after ${rows.length} of ${steps} cases`);
  };
  for (const [name, c] of layers) {
    progress(name);
    const { net, feeds, profiles } = defineCase(c);
    rows.push(await runCase(underTest, name, "layer", net, feeds, profiles));
  }
  for (const [name, model] of models) {
    progress(name);
    const network = model.define(modelWeights(model, 1));
    const input = network.toJSON().inputs[0]!;
    const count = model.shape.reduce((a, b) => a * b, 1);
    const feeds: CaseFeeds = { [input.name]: { data: Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37)), shape: model.shape, dtype: "float32" } };
    const profiles = [{ [input.name]: { min: [1, ...model.shape.slice(1)], opt: model.shape, max: [4, ...model.shape.slice(1)] } }];
    const refitted = modelWeights(model, 2);
    rows.push(await runCase(underTest, name, "model", network, feeds, profiles, { weights: refitted, network: model.define(refitted) }));
  }
  options.onProgress?.({ phase: "done", step: steps, steps });
  const report: SelftestReport = {
    tensorrt: underTest.description, real: underTest.real, netdef: packageVersion,
    host: `${os.platform()} ${os.arch()}, ${os.cpus()[0]?.model ?? "unknown CPU"}, Node ${process.versions.node}`,
    rows, passed: rows.filter((r) => r.verdict === "pass").length, failed: rows.filter((r) => r.verdict === "fail").length,
    toString: () => formatReport(report),
  };
  return report;
}

function formatReport(report: SelftestReport): string {
  const width = Math.min(60, Math.max(4, ...report.rows.map((r) => r.case.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.slice(0, width).padEnd(width) : i === 1 ? c.padEnd(36) : i === 2 ? c.padStart(10) : c)).join("  ");
  return [
    `netdef ${report.netdef} self-test on ${report.tensorrt}`,
    `host: ${report.host}`,
    `max error: largest |TensorRT − builtin| over 1e-4·max|builtin| + 1e-5 (≤ 1 passes; integer outputs exact)`,
    line(["case", "steps", "max error", "verdict"]),
    ...report.rows.map((r) => line([r.case, r.steps.join(", "), r.verdict === "refused" ? "" : Number.isFinite(r.maxError) ? r.maxError.toFixed(3) : "∞", r.verdict + (r.detail ? `: ${r.detail.split("\n")[0]}` : "")])),
    `${report.passed} passed, ${report.failed} failed, ${report.rows.length - report.passed - report.failed} refused by the lowering (TensorRT has no such layer or option)`,
  ].join("\n");
}
