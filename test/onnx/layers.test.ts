// Every layer kind and option variant, builtin engine vs onnxruntime (CPU) on the ONNX export: random inputs and
// weights, float32, |builtin − onnxruntime| ≤ 1e-5·max|onnxruntime| + 1e-6. One row per variant.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { exportOnnx, Network, OnnxExportError } from "netdef";
import { agreement, runBoth } from "./oracle.js";
import { layerCases as cases, type LayerCase } from "../../selftest/layer-cases.js";
import { tacticCases } from "./tactic-cases.js";

const run = promisify(execFile);

describe("builtin engine vs onnxruntime", () => {
  it.each(Object.entries(cases))("%s", async (_, c) => {
    for (const { builtin, onnxruntime } of await runBoth(c)) {
      const { ratio, sameShape } = agreement(builtin, onnxruntime);
      expect(sameShape).toBe(true);
      expect(ratio).toBeLessThanOrEqual(1);
    }
  });
});

describe("every convolution tactic vs onnxruntime", () => {
  it.each(Object.entries(tacticCases).flatMap(([name, c]) => c.tactics.map((tactic) => [`${name}: ${tactic}`, c, tactic] as const)))("%s", async (_, c, tactic) => {
    for (const { builtin, onnxruntime } of await runBoth(c, 1, { tactics: { c: tactic } })) {
      const { ratio, sameShape } = agreement(builtin, onnxruntime);
      expect(sameShape).toBe(true);
      expect(ratio).toBeLessThanOrEqual(1);
    }
  });
});

// The float32 GEMM's two register tiles (12 × 16 of 16-float vectors where the CPU has AVX-512, 6 × 16 of 8-float
// vectors elsewhere) run each sum as the same chain of FMAs, so they must give the same bits: every tactic case, a
// dense layer at batch 20 (the packed GEMM) and a bfloat16 network (its 16-bit output stored from the tile), each in
// a child process started with one tile; and the channel-blocked convolutions' tiles (16 channels as one vector or
// two; a 3×3 window over a blocked input, two panels a tile or one). (The cases above meet onnxruntime with the CPU's
// own tile.)
describe("the GEMM's register tiles", () => {
  it("12x16 and 6x16 give the same bits", async () => {
    const script = `
      const { buildEngine, Network, reducedFloat } = await import("netdef");
      const { gemmTileName } = await import("netdef/diagnostics");
      const { runBoth } = await import(${JSON.stringify(new URL("./oracle.ts", import.meta.url).pathname)});
      const { tacticCases } = await import(${JSON.stringify(new URL("./tactic-cases.ts", import.meta.url).pathname)});
      const outputs = [];
      for (const c of Object.values(tacticCases)) for (const tactic of c.tactics)
        for (const { builtin } of await runBoth(c, 1, { tactics: { c: tactic } })) outputs.push(Array.from(builtin.data));
      const dense = { inputs: { x: { shape: [20, 75] } }, define: (_, { x }, w) => x.addFullyConnected("fc", { outFeatures: 37, weights: { kernel: w(37, 75), bias: w(37) } }).addActivation("r", { type: "relu" }) };
      for (const { builtin } of await runBoth(dense)) outputs.push(Array.from(builtin.data));
      const wave = (n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
      const net = new Network("bf16");
      const x = net.addInput("x", "float32", [2, 16, 9, 10]);
      net.markOutput(x.addConvolution("c", { outChannels: 19, kernel: 3, padding: 1, weights: { kernel: wave(19 * 16 * 9, 1.3), bias: wave(19, 0.7) } })
        .addActivation("r", { type: "relu" }).addConvolution("d", { outChannels: 13, kernel: 3, stride: 2, weights: { kernel: wave(13 * 19 * 9, 0.9), bias: wave(13, 0.3) } }));
      const engine = await buildEngine(reducedFloat(net, "bfloat16"), { tactics: { c: "implicit_gemm_k256", d: "direct_rows" } });
      const y = await engine.createExecutionContext().execute({ x: wave(2 * 16 * 9 * 10, 0.37) });
      outputs.push(Array.from(y.d.data));
      // The channel-blocked kernels (stem, 1×1 between blocked tensors, 24 channels: a last panel of 8), in float32
      // and in bfloat16 storage, fused at batch 2 and not at batch 1.
      const blocked = new Network("blocked");
      const image = blocked.addInput("x", "float32", [-1, 3, 29, 31]);
      const stem = image.addConvolution("stem", { outChannels: 24, kernel: 3, stride: 2, padding: 1, weights: { kernel: wave(24 * 27, 0.6), bias: wave(24, 0.2) } }).addActivation("s6", { type: "clip", alpha: 0, beta: 6 });
      const expand = stem.addConvolution("expand", { outChannels: 96, kernel: 1, weights: { kernel: wave(96 * 24, 0.8), bias: wave(96, 0.4) } }).addActivation("e6", { type: "clip", alpha: 0, beta: 6 });
      const dw = expand.addConvolution("dw", { outChannels: 96, kernel: 3, padding: 1, groups: 96, weights: { kernel: wave(96 * 9, 1.1), bias: wave(96, 0.5) } }).addActivation("d6", { type: "clip", alpha: 0, beta: 6 });
      const project = dw.addConvolution("project", { outChannels: 24, kernel: 1, weights: { kernel: wave(24 * 96, 0.45), bias: wave(24, 0.9) } }).addElementWise("add", stem, "sum");
      // A 3×3 window over the blocked tensor (40 channels: a pair of panels and one of 8) and max pooling of blocked vectors.
      const window = project.addConvolution("window", { outChannels: 40, kernel: 3, padding: 1, weights: { kernel: wave(40 * 24 * 9, 0.27), bias: wave(40, 0.3) } }).addActivation("w6", { type: "relu" });
      // A 1×1 over 72 channels into 40 (at batch 2 a pair of full panels a tile, where AVX-512 runs).
      const widened = window.addConvolution("w1", { outChannels: 72, kernel: 1, weights: { kernel: wave(72 * 40, 0.7), bias: wave(72, 0.6) } }).addActivation("w1r", { type: "relu" })
        .addConvolution("w2", { outChannels: 40, kernel: 1, weights: { kernel: wave(40 * 72, 0.23), bias: wave(40, 0.8) } });
      const pooled = widened.addPooling("pool", { type: "max", window: 3, stride: 2, padding: 1 });
      blocked.markOutput(pooled.addConvolution("head", { outChannels: 40, kernel: 1, weights: { kernel: wave(40 * 40, 0.33), bias: wave(40, 0.1) } }));
      const profiles = [{ x: { min: [1, 3, 29, 31], opt: [1, 3, 29, 31], max: [2, 3, 29, 31] } }];
      // The window direct, then Winograd F(4×4) on the blocked tensor (its products by the blocked 1×1's tiles).
      for (const network of [blocked, reducedFloat(blocked, "bfloat16")]) for (const tactics of [{}, { window: "winograd_4x4_3x3" }]) {
        const built = await buildEngine(network, { profiles, tactics });
        if (built.inspect().channelBlocked.layers.length < 4) throw new Error("the blocked kernels did not run");
        for (const batch of [1, 2]) {
          const out = await built.createExecutionContext().execute({ x: { data: wave(batch * 3 * 29 * 31, 0.21), shape: [batch, 3, 29, 31] } });
          outputs.push(Array.from(out.head.data));
        }
      }
      console.log(JSON.stringify({ tile: gemmTileName(), outputs }));`;
    const outputs = async (env: Record<string, string>) => {
      const { stdout } = await run(process.execPath, ["--conditions", "netdef-source", "--import", "tsx", "--input-type=module", "-e", script],
        { env: { ...process.env, NETDEF_BF16_DOT: "0", ...env }, maxBuffer: 1 << 28 });
      return JSON.parse(stdout) as { tile: string; outputs: number[][] };
    };
    const [best, narrow] = await Promise.all([outputs({}), outputs({ NETDEF_WIDE_TILES: "0" })]);
    expect(narrow.tile).toBe("6x16");
    const flags = new Set(readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1]?.trim().split(/\s+/));
    if (!["avx512f", "avx512dq", "avx512bw", "avx512vl"].every((f) => flags.has(f))) return;  // only the 6x16 tile on this CPU
    expect(best.tile).toBe("12x16");
    expect(best.outputs.length).toBe(narrow.outputs.length);
    best.outputs.forEach((values, i) => expect(values, `output ${i}`).toEqual(narrow.outputs[i]));
  }, 120_000);
});

// Winograd F(4×4)'s transforms scale by up to 8 and 1/24, so on long sums it strays further from the exact sum than
// the other tactics: its stated tolerance is 2e-5·max|onnxruntime| + 2e-6 (twice the oracle's), which it needs from
// about 256 input channels on (measured 0.7–1.1× the oracle's tolerance on 256–1024 channels); F(2×2) and direct
// stay within the oracle's own (0.05–0.3×).
describe("Winograd F(4×4) on long sums, at its stated tolerance", () => {
  it.each([[256, 14], [512, 7]])("%i input channels, %i² pixels", async (channels, size) => {
    const c: LayerCase = { inputs: { x: { shape: [1, channels, size, size] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 64, kernel: 3, padding: 1, weights: { kernel: w(64, channels, 3, 3), bias: w(64) } }) };
    for (const [tactic, bound] of [["winograd_4x4_3x3", 2], ["winograd_2x2_3x3", 1], ["direct_c16", 1]] as const) {
      for (const { builtin, onnxruntime } of await runBoth(c, 1, { tactics: { c: tactic } })) expect(agreement(builtin, onnxruntime).ratio).toBeLessThanOrEqual(bound);
    }
  });
});

describe("export refusals", () => {
  it.each([
    ["ceil-mode convolution", (net: Network) => net.addInput("x", "float32", [1, 1, 5, 5]).addConvolution("c", { outChannels: 1, kernel: 2, stride: 2, ceilMode: true, weights: { kernel: new Float32Array(4), bias: new Float32Array(1) } })],
    ["TensorRT's round-up pooling keeping a window in the padding", (net: Network) => net.addInput("x", "float32", [1, 1, 3, 3]).addPooling("p", { type: "max", window: 2, padding: 1, paddingMode: "explicit_round_up" })],
    ["max-average blend pooling", (net: Network) => net.addInput("x", "float32", [1, 1, 4, 4]).addPooling("p", { type: "max_average_blend", window: 2 })],
    ["ceil-mode average pooling counting padding", (net: Network) => net.addInput("x", "float32", [1, 1, 6, 6]).addPooling("p", { type: "average", window: 3, stride: 2, padding: 1, ceilMode: true })],
  ])("%s is an OnnxExportError naming the layer", async (_, define) => {
    const net = new Network("refused");
    net.markOutput(define(net));
    await expect(exportOnnx(net)).rejects.toBeInstanceOf(OnnxExportError);
    await expect(exportOnnx(net)).rejects.toThrow(/^[cp] \((convolution|pooling)\): .* has no faithful ONNX opset 17 form/);
  });
});
