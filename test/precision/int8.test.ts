// INT8 by calibration: Q/DQ inserted before every heavy layer, kernels on per-channel INT8 grids, accuracy stated.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildEngine, calibrate, Network, OptionError, quantisedInputs, quantize } from "netdef";
import { entropyThreshold } from "../../api/calibrate.js";
import { defineLeNet } from "../../models/lenet.js";
import { loadFixtureWeights, sameClass } from "../fixtures.js";
import { floats } from "../outputs.js";

describe("entropy threshold", () => {
  it("clips a decaying distribution's far tail", () => {
    // counts 10,000·e^(−j/40) (negligible past bin ~600) and one outlier at bin 2,047: the clip falls well inside.
    const h = Float64Array.from({ length: 2048 }, (_, j) => Math.round(10_000 * Math.exp(-j / 40)));
    h[2047] = 1;
    const threshold = entropyThreshold(h, 1);
    expect(threshold).toBeGreaterThan(128);
    expect(threshold).toBeLessThan(1024);
  });

  it("keeps the whole range of a uniform distribution", () => {
    const h = new Float64Array(2048).fill(3);
    expect(entropyThreshold(h, 1)).toBe(2048.5);
  });
});

describe("LeNet in INT8", () => {
  it.each(["entropy", "minmax"] as const)("%s calibration: ≥ 99% of the 2,000 digits classified as PyTorch does", async (method) => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const io = await loadFixtureWeights("lenet_io.safetensors");
    const pixels = io.float32("input");
    const net = defineLeNet(weights);
    // Calibration data: 5 batches of 100 digits (unlabelled use of the first 500; the agreement is over all 2,000).
    const batches = [0, 1, 2, 3, 4].map((b) => ({ data: { data: pixels.subarray(b * 78_400, (b + 1) * 78_400), shape: [100, 1, 28, 28] } }));
    const progress: number[] = [];
    const cacheFile = path.join(await mkdtemp(path.join(tmpdir(), "netdef-calib-")), "lenet.calib.json");
    const table = await calibrate(net, batches, { method, onProgress: ({ batch }) => progress.push(batch), cacheFile });
    expect(Object.keys(table).sort()).toEqual(["data", "pool1", "pool2", "relu1"]);
    expect(progress.at(-1)).toBe(method === "entropy" ? 10 : 5);
    expect(JSON.parse(await readFile(cacheFile, "utf8"))).toEqual({ method, amax: table });
    expect(await calibrate(net, [], { method, cacheFile })).toEqual(table); // from the cache: no batches needed

    const int8 = quantize(net, table);
    expect(int8.toJSON().layers.filter((l) => l.kind === "quantize").map((l) => l.name)).toEqual(["data.quantize", "pool1.quantize", "pool2.quantize", "relu1.quantize"]);
    const engine = await buildEngine(int8, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [2000, 1, 28, 28], max: [2000, 1, 28, 28] } }] });
    const { prob } = await engine.createExecutionContext().execute({ data: { data: pixels, shape: [2000, 1, 28, 28] } });
    const agree = sameClass(floats(prob), io.get("output_fp64")!.data as Float64Array, 10);
    expect(agree / 2000).toBeGreaterThanOrEqual(0.99);
  }, 60_000);

  it("a calibration table with an amax of 0 (or not a finite number) is an OptionError, not a silent scale of 1", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    expect(() => quantize(net, { data: 1, pool1: 0, relu1: Number.NaN })).toThrow(OptionError);
    expect(() => quantize(net, { data: 1, pool1: 0 })).toThrow(/'pool1': 0/);
  });

  it("calibrates exactly the tensors quantize() quantizes: a product of two activations stays float, uncalibrated", () => {
    const net = new Network("mixed");
    const x = net.addInput("x", "float32", [1, 2, 4, 4]);
    const c = x.addConvolution("c", { outChannels: 2, kernel: 1, weights: { kernel: new Float32Array(4).fill(1), bias: new Float32Array(2) } });
    const flat = c.addShuffle("flat", { reshape: [2, 16] });
    net.markOutput(flat.addMatrixMultiply("mm", flat, { opB: "transpose" }));
    expect(quantisedInputs(net)).toEqual(["x"]);
  });
});
