import { readFile, writeFile } from "node:fs/promises";
import { Network } from "../dsl/network.js";
import type { InputValue } from "../runtime/io.js";
import { INT8_QUANTIZATION, type CalibrationTable } from "../precision/quantize.js";
import { buildEngine } from "./build.js";

/** How a tensor's clip (amax) is chosen from its values over the calibration set. */
export type CalibrationMethod = "entropy" | "minmax" | "percentile" | "mse";
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ["entropy", "minmax", "percentile", "mse"];

export interface CalibrateOptions {
  /**
   * "mse" (the default: the clip minimising the expected squared error of INT8 rounding and clipping), "entropy"
   * (TensorRT's default: the clip minimising KL divergence), "minmax" (the largest |x|) or "percentile" (the
   * `percentile`-th percentile of |x|, as TensorRT's and ONNX Runtime's percentile calibrators). Network inputs keep
   * their full range under every method. MSE is the default because entropy cuts too much of some tensors' range on
   * models it was not tuned for: on the fixture models' evaluation sets (npm run quality) the INT8 output's relative
   * L2 error is 24–44 % with entropy and 0.9–1.7 % with MSE.
   */
  method?: CalibrationMethod;
  /** A method per tensor, where one method clips what another keeps (the report shows each method's clip). */
  methods?: Readonly<Record<string, CalibrationMethod>>;
  /** The percentile method's percentile of |x|. Default 99.99. */
  percentile?: number;
  /** Tensors to calibrate. Default: the inputs of every convolution, deconvolution, dense and matrix layer. */
  tensors?: readonly string[];
  onProgress?: (progress: { batch: number; batches: number }) => void;
  signal?: AbortSignal;
  /** Reused when it holds this method and these tensors; written after a calibration otherwise. */
  cacheFile?: string;
}

/** One calibrated tensor: its largest |x|, each method's clip, the clip chosen and the share of values it clips. */
export interface CalibrationRow {
  tensor: string;
  amax: number;
  clips: Record<CalibrationMethod, number>;
  method: CalibrationMethod;
  chosen: number;
  clippedShare: number;
}

const BINS = 2048;

/** The tensors whose INT8 scales a quantised network needs: the data inputs of the layers quantize() quantizes. */
export function quantisedInputs(network: Network): string[] {
  return [...new Set(network.toJSON().layers.filter((l) => INT8_QUANTIZATION[l.kind] === "quantize input").map((l) => l.inputs[0]!))];
}

/** KL-divergence threshold search over a histogram of |x| (TensorRT's entropy calibrator, 128 quantised bins). */
export function entropyThreshold(histogram: Float64Array, binWidth: number, levels = 128): number {
  let best = histogram.length, bestDivergence = Infinity;
  for (let i = levels; i <= histogram.length; i++) {
    const reference = Array.from(histogram.subarray(0, i));
    let outliers = 0;
    for (let j = i; j < histogram.length; j++) outliers += histogram[j]!;
    reference[i - 1]! += outliers;
    // Q: the first i bins merged into `levels` bins, then spread back over the bins that were non-empty.
    const candidate = new Array<number>(i).fill(0);
    const merge = i / levels;
    for (let q = 0; q < levels; q++) {
      const start = Math.floor(q * merge), end = q === levels - 1 ? i : Math.floor((q + 1) * merge);
      let sum = 0, nonEmpty = 0;
      for (let j = start; j < end; j++) { sum += histogram[j]!; if (histogram[j]! > 0) nonEmpty++; }
      for (let j = start; j < end; j++) if (histogram[j]! > 0) candidate[j] = sum / nonEmpty;
    }
    const pTotal = reference.reduce((a, b) => a + b, 0), qTotal = candidate.reduce((a, b) => a + b, 0);
    if (pTotal === 0 || qTotal === 0) continue;
    let divergence = 0;
    for (let j = 0; j < i; j++) {
      const p = reference[j]! / pTotal, q = candidate[j]! / qTotal;
      if (p > 0) divergence += q > 0 ? p * Math.log(p / q) : p * 20;  // an empty Q bin under mass: heavily penalised
    }
    if (divergence < bestDivergence) { bestDivergence = divergence; best = i; }
  }
  return (best + 0.5) * binWidth;
}

/** The `percentile`-th percentile of |x| from its histogram: the upper edge of the bin where that share is reached. */
export function percentileThreshold(histogram: Float64Array, binWidth: number, percentile: number): number {
  const total = histogram.reduce((a, b) => a + b, 0), target = (total * percentile) / 100;
  let seen = 0;
  for (let j = 0; j < histogram.length; j++) {
    seen += histogram[j]!;
    if (seen >= target) return (j + 1) * binWidth;
  }
  return histogram.length * binWidth;
}

/**
 * The clip T minimising the expected squared error of symmetric INT8 quantisation (step T/127) over a histogram of
 * |x|: rounding noise step²/12 for the values inside, (|x| − T)² for those clipped (bin centres).
 */
export function mseThreshold(histogram: Float64Array, binWidth: number, levels = 128): number {
  let best = histogram.length, bestError = Infinity;
  for (let i = levels; i <= histogram.length; i++) {
    const step = (i * binWidth) / 127;
    let error = 0, inside = 0;
    for (let j = 0; j < i; j++) inside += histogram[j]!;
    error += (inside * step * step) / 12;
    for (let j = i; j < histogram.length; j++) {
      const over = (j + 0.5) * binWidth - i * binWidth;
      error += histogram[j]! * over * over;
    }
    if (error < bestError) { bestError = error; best = i; }
  }
  return best * binWidth;
}

/**
 * Runs the float network over a calibration dataset and returns each calibrated tensor's amax, with progress and
 * cancellation; a cache file makes later calls instant.
 * ```ts
 * const table = await calibrate(net, batches, { method: "entropy", cacheFile: "lenet.calib.json" });
 * const int8 = quantize(net, table);
 * ```
 */
export async function calibrate(network: Network, dataset: Iterable<Record<string, InputValue>> | readonly Record<string, InputValue>[], options: CalibrateOptions = {}): Promise<CalibrationTable> {
  const method = options.method ?? "mse";
  const tensors = [...(options.tensors ?? quantisedInputs(network))];
  const key = { method, methods: options.methods ?? {}, percentile: options.percentile ?? 99.99 };
  if (options.cacheFile) {
    const cached = await readFile(options.cacheFile, "utf8").then((t) => JSON.parse(t) as typeof key & { amax: CalibrationTable }, () => undefined);
    const same = cached?.method === method && JSON.stringify(cached.methods ?? {}) === JSON.stringify(key.methods) && (cached.percentile ?? 99.99) === key.percentile;
    if (same && tensors.every((t) => typeof cached!.amax?.[t] === "number")) return Object.fromEntries(tensors.map((t) => [t, cached!.amax[t]!]));
  }
  const rows = await calibrationReport(network, dataset, options);
  const table: CalibrationTable = Object.fromEntries(rows.map((r) => [r.tensor, r.chosen]));
  if (options.cacheFile) await writeFile(options.cacheFile, JSON.stringify({ ...key, amax: table }, null, 2));
  return table;
}

/**
 * Calibration's findings per tensor: its largest |x| over the dataset, the clip each method would choose, the one
 * chosen (`method`, or `methods[tensor]`) and the share of its values that clip cuts. `calibrate` returns the
 * chosen clips; this shows where methods disagree (entropy clipping what min-max keeps).
 */
export async function calibrationReport(network: Network, dataset: Iterable<Record<string, InputValue>> | readonly Record<string, InputValue>[], options: CalibrateOptions = {}): Promise<CalibrationRow[]> {
  const method = options.method ?? "mse", percentile = options.percentile ?? 99.99;
  for (const m of [method, ...Object.values(options.methods ?? {})]) if (!CALIBRATION_METHODS.includes(m)) throw new RangeError(`calibrate: method "${m}" is none of ${CALIBRATION_METHODS.join(", ")}`);
  if (!(percentile > 0 && percentile <= 100)) throw new RangeError(`calibrate: percentile must be in (0, 100], but received ${percentile}`);
  const tensors = [...(options.tensors ?? quantisedInputs(network))];
  const unknown = Object.keys(options.methods ?? {}).filter((t) => !tensors.includes(t));
  if (unknown.length) throw new RangeError(`calibrate: methods names ${unknown.map((t) => `"${t}"`).join(", ")}, which ${unknown.length > 1 ? "are" : "is"} not calibrated (${tensors.join(", ")})`);
  const batches = [...dataset];
  if (batches.length === 0) throw new RangeError("calibrate: the dataset holds no batches");
  const debug = Network.fromJSON(network.toJSON(), { weights: network.weights });
  for (const t of tensors) {
    const handle = debug.tensor(t);
    if (!handle) throw new RangeError(`calibrate: "${t}" is not a tensor of network "${network.name}"`);
    if (!debug.toJSON().inputs.some((i) => i.name === t)) debug.markDebug(handle);
  }
  const shapes = (batch: Record<string, InputValue>) => Object.fromEntries(Object.entries(batch).map(([k, v]) => [k, ArrayBuffer.isView(v) ? undefined : [...v.shape]]));
  const largest = new Map<string, number[]>();
  for (const batch of batches) for (const [k, s] of Object.entries(shapes(batch))) if (s) largest.set(k, (largest.get(k) ?? s).map((d, i) => Math.max(d, s[i]!)));
  const profiles = debug.toJSON().inputs.filter((i) => i.shape.some((d) => d < 0)).map((i) => {
    const max = largest.get(i.name) ?? i.shape.map((d) => Math.max(d, 1));
    return [i.name, { min: max.map((d, j) => (i.shape[j]! < 0 ? 1 : d)), opt: max, max }] as const;
  });
  const engine = await buildEngine(debug, profiles.length ? { profiles: [Object.fromEntries(profiles)] } : {});
  const ctx = engine.createExecutionContext();
  const values = async (batch: Record<string, InputValue>) => {
    const out = await ctx.execute(batch);
    return (t: string) => {
      const input = batch[t];
      return out[t]?.data ?? (input && (ArrayBuffer.isView(input) ? input : input.data));
    };
  };
  // Pass 1: amax per tensor; pass 2: histograms of |x| over [0, amax] (every method's clip, for the report).
  const amax = new Map(tensors.map((t) => [t, 0]));
  const passes = 2;
  const histograms = new Map(tensors.map((t) => [t, new Float64Array(BINS)]));
  for (let pass = 0; pass < passes; pass++) {
    for (const [b, batch] of batches.entries()) {
      if (options.signal?.aborted) { engine.dispose(); throw new Error("calibration cancelled"); }
      const read = await values(batch);
      for (const t of tensors) {
        const data = read(t)!;
        if (pass === 0) {
          let m = amax.get(t)!;
          for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(Number(data[i])));
          amax.set(t, m);
        } else {
          const h = histograms.get(t)!, width = amax.get(t)! / BINS;
          if (width > 0) for (let i = 0; i < data.length; i++) h[Math.min(BINS - 1, Math.floor(Math.abs(Number(data[i])) / width))]! += 1;
        }
      }
      options.onProgress?.({ batch: pass * batches.length + b + 1, batches: passes * batches.length });
    }
  }
  engine.dispose();
  // Network inputs keep their whole range (their values are the caller's data, e.g. pixels in [0, 1], where a
  // clip only loses information); the method chooses the clip of intermediate tensors.
  const networkInputs = new Set(network.toJSON().inputs.map((i) => i.name));
  return tensors.map((t) => {
    const m = amax.get(t)!, h = histograms.get(t)!, width = m / BINS;
    const clips: Record<CalibrationMethod, number> = m > 0
      ? { minmax: m, entropy: Math.min(m, entropyThreshold(h, width)), percentile: Math.min(m, percentileThreshold(h, width, percentile)), mse: Math.min(m, mseThreshold(h, width)) }
      : { minmax: m, entropy: m, percentile: m, mse: m };
    const chosenMethod = options.methods?.[t] ?? method;
    const chosen = networkInputs.has(t) ? m : clips[chosenMethod];
    let clipped = 0;
    if (width > 0) for (let j = Math.min(BINS, Math.floor(chosen / width)); j < BINS; j++) clipped += h[j]!;
    const total = h.reduce((a, b) => a + b, 0);
    return { tensor: t, amax: m, clips, method: chosenMethod, chosen, clippedShare: total > 0 ? clipped / total : 0 };
  });
}
