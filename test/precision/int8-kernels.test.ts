// INT8 layers: quantize → dequantize → convolution or dense layer fused into one layer that computes in integers. Checked
// against the same network run unfused in float32 (Q/DQ simulated), across geometries and both input signs, and
// the CPU-specific kernels against the portable one, bit for bit. (onnxruntime rows: test/onnx/layers.test.ts.)
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildEngine, Engine, Network, PlanError, refit, RefitError, WeightStore } from "netdef";
import { buildGraph, epilogueOf } from "../../builder/graph.js";
import { fuseActivation, fuseQuantizedInputs, fuseQuantizedOutputs } from "../../builder/passes.js";
import { encodePlan } from "../../plan/encode.js";
import type { PlanParams } from "../../plan/schema.js";
import { onInt8Grid } from "../fixtures.js";
import { floats } from "../outputs.js";

const run = promisify(execFile);
const wave = (n: number, k = 1.3) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);

interface ConvCase { channels: number; outChannels: number; size: number[]; kernel: number[]; stride?: number; dilation?: number; padding?: number; paddingMode?: "same_upper"; residual?: boolean; batch?: number }

/** x → (ReLU when `nonNegative`) → Q → DQ → conv (kernel on INT8 grids) [→ + x → ReLU]. */
function quantizedConv(c: ConvCase, nonNegative: boolean): Network {
  const net = new Network("int8");
  const x = net.addInput("x", "float32", [c.batch ?? 1, c.channels, ...c.size]);
  const source = nonNegative ? x.addActivation("pre", { type: "relu" }) : x;
  const scale = Float32Array.of(0.004);
  const volume = c.kernel.reduce((a, b) => a * b, 1);
  let y = source.addQuantize("q", { scale }).addDequantize("dq", { scale }).addConvolution("conv", {
    outChannels: c.outChannels, kernel: c.kernel, stride: c.stride ?? 1, dilation: c.dilation ?? 1, padding: c.padding ?? 0, paddingMode: c.paddingMode,
    weights: { kernel: onInt8Grid(wave(c.outChannels * c.channels * volume), c.outChannels), bias: wave(c.outChannels, 0.7) },
  });
  if (c.residual) y = y.addElementWise("add", x, "sum").addActivation("relu", { type: "relu" });
  net.markOutput(y);
  return net;
}

async function fusedVsSimulated(net: Network, c: ConvCase) {
  const [fused, plain] = await Promise.all([buildEngine(net), buildEngine(net, { optimize: false })]);
  const input = wave((c.batch ?? 1) * c.channels * c.size.reduce((a, b) => a * b, 1), 0.37).map((v) => v * 1.2);
  const [a, b] = await Promise.all([fused.createExecutionContext().execute({ x: input }), plain.createExecutionContext().execute({ x: input })]);
  const name = Object.keys(b)[0]!;
  const got = floats(a[name]), want = floats(b[name]);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scale);
  return { worst, fused, output: got };
}

const cases: Record<string, ConvCase> = {
  "3×3 pad 1, 5 → 7 channels (channels padded to quads, a partial row panel)": { channels: 5, outChannels: 7, size: [9, 11], kernel: [3, 3], padding: 1 },
  "3×3 stride 2 on 20×23, 2 images (panels span rows; wide GEMM)": { channels: 8, outChannels: 13, size: [20, 23], kernel: [3, 3], stride: 2, padding: 1, batch: 2 },
  "1×1 stride 2": { channels: 16, outChannels: 24, size: [14, 14], kernel: [1, 1], stride: 2 },
  "dilation 2, same_upper": { channels: 4, outChannels: 6, size: [10, 9], kernel: [3, 3], dilation: 2, paddingMode: "same_upper" },
  "7×7 stride 2 pad 3 from 3 channels (ResNet's stem)": { channels: 3, outChannels: 8, size: [32, 32], kernel: [7, 7], stride: 2, padding: 3 },
  "3-d 2×3×3": { channels: 3, outChannels: 5, size: [4, 6, 7], kernel: [2, 3, 3], padding: 1 },
  "2 channels (planar input), 3×6 kernel in two column quads, stride 2": { channels: 2, outChannels: 5, size: [11, 17], kernel: [3, 6], stride: 2, padding: 2 },
  "1 channel (planar input), 7×7": { channels: 1, outChannels: 20, size: [28, 28], kernel: [7, 7], batch: 3 },
  "1-d": { channels: 12, outChannels: 5, size: [19], kernel: [3], padding: 1 },
  "3×3 + residual + ReLU (fused epilogue), 64 channels": { channels: 64, outChannels: 64, size: [12, 12], kernel: [3, 3], padding: 1, residual: true },
  "3×3 stride 2, 125 → 36 channels (two blocks of 16 words a pixel, the last padded; panels span rows), 2 images": { channels: 125, outChannels: 36, size: [13, 19], kernel: [3, 3], stride: 2, padding: 1, batch: 2 },
};

describe("INT8 convolutions and dense layers (quantize → dequantize → layer, fused)", () => {
  it("the pass: Q/DQ folded into the convolution (scale, tactic, fused layers); kept when another layer reads them", () => {
    const net = quantizedConv(cases["3×3 pad 1, 5 → 7 channels (channels padded to quads, a partial row panel)"]!, false);
    const graph = buildGraph(net.toJSON(), net.weights);
    fuseQuantizedInputs(graph);
    expect(graph.ops.map((op) => `${op.kind}:${op.fusedFrom.join("+")}`)).toEqual(["convolution:q+dq+conv"]);
    expect(graph.ops[0]!.inputs).toEqual(["x"]);
    expect(graph.ops[0]!.params).toMatchObject({ inputScale: Float32Array.of(0.004)[0], tactic: "int8_implicit_gemm" });

    const shared = quantizedConv(cases["1×1 stride 2"]!, false);
    shared.markOutput(shared.tensor("dq")!.addActivation("other", { type: "tanh" }));
    const sharedGraph = buildGraph(shared.toJSON(), shared.weights);
    fuseQuantizedInputs(sharedGraph);
    expect(sharedGraph.ops.map((op) => op.kind)).toEqual(["quantize", "dequantize", "convolution", "activation"]);
    expect(epilogueOf(sharedGraph.ops[2]!)?.inputScale).toBeDefined();
  });

  // Windows of under 32 terms an output stay in float32 on the dequantized input (faster there), but where a Q/DQ
  // pair follows, through an activation or not, which the INT8 layer's epilogue would take in.
  const shortSums: [string, ConvCase, "none" | "activation" | "pair", boolean][] = [
    ["LeNet's 5×5 on 1 channel", { channels: 1, outChannels: 20, size: [28, 28], kernel: [5, 5], batch: 3 }, "none", false],
    ["a 3-channel 3×3 stride-2 stem", { channels: 3, outChannels: 16, size: [17, 15], kernel: [3, 3], stride: 2, padding: 1 }, "none", false],
    ["a 3-channel 3×3 stem whose ReLU6 output is quantized", { channels: 3, outChannels: 16, size: [17, 15], kernel: [3, 3], padding: 1 }, "activation", true],
    ["a 3-channel 3×3 stem whose output is quantized", { channels: 3, outChannels: 16, size: [17, 15], kernel: [3, 3], padding: 1 }, "pair", true],
    ["a 1×1 on 16 channels (no window)", { channels: 16, outChannels: 24, size: [9, 9], kernel: [1, 1] }, "none", true],
  ];
  for (const [name, c, after, int8] of shortSums) {
    it(`${name}: ${int8 ? "INT8" : "float32"}, within 1e-5 of the float32 simulation`, async () => {
      let net = quantizedConv(c, false);
      if (after !== "none") {
        const grid = Float32Array.of(0.02);
        net = new Network("int8");
        const x = net.addInput("x", "float32", [c.batch ?? 1, c.channels, ...c.size]);
        const scale = Float32Array.of(0.004);
        const conv = x.addQuantize("q", { scale }).addDequantize("dq", { scale }).addConvolution("conv", {
          outChannels: c.outChannels, kernel: c.kernel, padding: 1, weights: { kernel: onInt8Grid(wave(c.outChannels * c.channels * 9), c.outChannels), bias: wave(c.outChannels, 0.7) } });
        const y = after === "activation" ? conv.addActivation("relu6", { type: "clip", alpha: 0, beta: 6 }) : conv;
        net.markOutput(y.addQuantize("q2", { scale: grid }).addDequantize("dq2", { scale: grid }).addConvolution("dw", {
          outChannels: c.outChannels, kernel: 3, padding: 1, groups: c.outChannels, weights: { kernel: wave(c.outChannels * 9, 0.9), bias: wave(c.outChannels, 0.3) } }));
      }
      const { worst, fused } = await fusedVsSimulated(net, c);
      const conv = fused.inspect().layers.find((l) => l.name === "conv");
      expect(conv).toBeDefined();
      expect(conv!.tactic === "int8_implicit_gemm").toBe(int8);
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it("leaves float kernels off INT8 grids, grouped convolutions and mismatched Q/DQ scales in float32", () => {
    const offGrid = new Network("n");
    const x = offGrid.addInput("x", "float32", [1, 4, 6, 6]);
    const scale = Float32Array.of(0.01);
    const dq = x.addQuantize("q", { scale }).addDequantize("dq", { scale });
    offGrid.markOutput(dq.addConvolution("float", { outChannels: 4, kernel: 3, weights: { kernel: wave(144).map((v) => v + 1e-3), bias: wave(4) } }));
    offGrid.markOutput(dq.addConvolution("grouped", { outChannels: 4, kernel: 3, groups: 2, weights: { kernel: onInt8Grid(wave(72), 4), bias: wave(4) } }));
    offGrid.markOutput(x.addQuantize("q2", { scale }).addDequantize("dq2", { scale: Float32Array.of(0.02) })
      .addConvolution("mismatch", { outChannels: 4, kernel: 3, weights: { kernel: onInt8Grid(wave(144), 4), bias: wave(4) } }));
    const graph = buildGraph(offGrid.toJSON(), offGrid.weights);
    fuseQuantizedInputs(graph);
    expect(graph.ops.filter((op) => epilogueOf(op)?.inputScale !== undefined)).toEqual([]);
  });

  for (const [name, c] of Object.entries(cases)) {
    it.each([true, false])(`${name}: within 1e-5 of the float32 simulation (input ≥ 0: %s)`, async (nonNegative) => {
      const { worst, fused } = await fusedVsSimulated(quantizedConv(c, nonNegative), c);
      expect(fused.inspect().layers.find((l) => l.name === "conv")?.tactic).toBe("int8_implicit_gemm");
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it.each([[1, true], [3, false], [20, false], [20, true]] as const)("dense layer at batch %i (input ≥ 0: %s): within 1e-5 of the float32 simulation", async (batch, nonNegative) => {
    // 1–4 rows: dot products; more: the INT8 GEMM. 203 inputs: not a whole number of 32-byte steps or quads.
    const net = new Network("dense");
    const x = net.addInput("x", "float32", [batch, 7, 29]);
    const scale = Float32Array.of(0.004);
    const source = nonNegative ? x.addActivation("pre", { type: "relu" }) : x;
    net.markOutput(source.addQuantize("q", { scale }).addDequantize("dq", { scale })
      .addFullyConnected("fc", { outFeatures: 37, weights: { kernel: onInt8Grid(wave(37 * 203), 37), bias: wave(37, 0.7) } }).addActivation("relu", { type: "relu" }));
    const [fused, plain] = await Promise.all([buildEngine(net), buildEngine(net, { optimize: false })]);
    expect(fused.inspect().layers.map((l) => `${l.fusedFrom.join("+")}:${l.tactic ?? ""}`)).toEqual([...(nonNegative ? ["pre:"] : []), "q+dq+fc+relu:int8_gemm"]);
    const input = wave(batch * 203, 0.37).map((v) => v * 1.2);
    const [a, b] = await Promise.all([fused.createExecutionContext().execute({ x: input }), plain.createExecutionContext().execute({ x: input })]);
    const got = floats(a.relu), want = floats(b.relu);
    const top = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * top);
  });

  describe("quantize → dequantize after an INT8 layer, fused into its epilogue (the output rounded to the INT8 grid)", () => {
    /**
     * x → Q/DQ → INT8 1×1 convolution → `activation` → Q/DQ → depthwise 3×3 (float: the pair stays before it), and an
     * INT8 dense layer → GELU → Q/DQ → ReLU. With `observed`, the convolution's and the dense layer's outputs are
     * network outputs too: a second reader, so the pair runs as its own pass, the oracle for the fused epilogue.
     */
    function expansionThenDepthwise(activation: "clip" | "silu", observed: boolean): Network {
      const net = new Network("grid");
      const x = net.addInput("x", "float32", [2, 12, 13, 21]);
      const scale = Float32Array.of(0.004), grid = Float32Array.of(0.023);
      const expanded = x.addQuantize("q", { scale }).addDequantize("dq", { scale })
        .addConvolution("expand", { outChannels: 40, kernel: 1, weights: { kernel: onInt8Grid(wave(40 * 12), 40), bias: wave(40, 0.7) } })
        .addActivation("act", activation === "clip" ? { type: "clip", alpha: 0, beta: 0.6 } : { type: "silu" });
      net.markOutput(expanded.addQuantize("q2", { scale: grid }).addDequantize("dq2", { scale: grid })
        .addConvolution("dw", { outChannels: 40, kernel: 3, padding: 1, groups: 40, weights: { kernel: wave(40 * 9, 0.9), bias: wave(40, 0.3) } }));
      const dense = x.addShuffle("flat", { reshape: [2, -1] }).addQuantize("q3", { scale }).addDequantize("dq3", { scale })
        .addFullyConnected("fc", { outFeatures: 33, weights: { kernel: onInt8Grid(wave(33 * 12 * 13 * 21, 0.61), 33), bias: wave(33) } })
        .addActivation("gelu", { type: "gelu_erf" });
      net.markOutput(dense.addQuantize("q4", { scale: grid }).addDequantize("dq4", { scale: grid }).addActivation("relu", { type: "relu" }));
      if (observed) { net.markOutput(expanded); net.markOutput(dense); }
      return net;
    }

    it("the pass: the pair becomes the layer's outputScale; kept where the layer's output has another reader", () => {
      const net = expansionThenDepthwise("clip", false);
      const fused = buildGraph(net.toJSON(), net.weights);
      for (const pass of [fuseQuantizedInputs, fuseActivation, fuseQuantizedOutputs]) pass(fused);
      const expand = fused.ops.find((op) => op.name === "expand")!;
      expect(expand.fusedFrom).toEqual(["q", "dq", "expand", "act", "q2", "dq2"]);
      expect(epilogueOf(expand)).toMatchObject({ activation: "clip", outputScale: Float32Array.of(0.023)[0] });
      expect(fused.ops.map((op) => op.kind)).toEqual(["convolution", "convolution", "shuffle", "fullyConnected", "activation"]);
      const observed = expansionThenDepthwise("clip", true);
      const kept = buildGraph(observed.toJSON(), observed.weights);
      for (const pass of [fuseQuantizedInputs, fuseActivation, fuseQuantizedOutputs]) pass(kept);
      expect(kept.ops.filter((op) => epilogueOf(op)?.outputScale !== undefined)).toEqual([]);
      expect(kept.ops.filter((op) => op.kind === "quantize")).toHaveLength(2);
    });

    it.each(["clip", "silu"] as const)("after %s: the same bits as the pair run as its own pass; INT8 layers in both", async (activation) => {
      const [fused, separate] = await Promise.all([buildEngine(expansionThenDepthwise(activation, false)), buildEngine(expansionThenDepthwise(activation, true))]);
      expect(fused.inspect().layers.map((l) => `${l.fusedFrom.join("+")}:${l.tactic ?? ""}`)).toEqual(expect.arrayContaining([
        "q+dq+expand+act+q2+dq2:int8_implicit_gemm", "q3+dq3+fc+gelu+q4+dq4:int8_gemm"]));
      expect(separate.inspect().layers.filter((l) => l.kind === "pointwiseChain")).toHaveLength(2);
      const input = { x: wave(2 * 12 * 13 * 21, 0.37).map((v) => v * 1.4) };
      const [a, b] = await Promise.all([fused.createExecutionContext().execute(input), separate.createExecutionContext().execute(input)]);
      expect(floats(a.dw)).toEqual(floats(b.dw));
      expect(floats(a.relu)).toEqual(floats(b.relu));
      // The rounding matters: most of the activation's values lie off the grid.
      const offGrid = floats(b.act).filter((v) => Math.abs(v / 0.023 - Math.round(v / 0.023)) > 0.01).length;
      expect(offGrid).toBeGreaterThan(floats(b.act).length / 2);
    });
  });

  it("the CPU's INT8 kernels (VNNI, AVX2) and the portable one give the same bits", async () => {
    // Child processes, each with its kernel choice fixed at start-up: prints the kernel's name and the outputs.
    const script = `
      const { buildEngine, Network } = await import("netdef");
      const { int8KernelName } = await import("netdef/diagnostics");
      const { onInt8Grid } = await import(${JSON.stringify(new URL("../fixtures.ts", import.meta.url).pathname)});
      const wave = (n, k = 1.3) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
      const net = new Network("t");
      const x = net.addInput("x", "float32", [2, 12, 17, 19]);
      const scale = Float32Array.of(0.004);
      const dq = x.addQuantize("q", { scale }).addDequantize("dq", { scale });
      net.markOutput(dq.addConvolution("c", { outChannels: 20, kernel: 3, padding: 1, weights: { kernel: onInt8Grid(wave(20 * 12 * 9), 20), bias: wave(20) } }));
      net.markOutput(x.addActivation("r", { type: "relu" }).addQuantize("q2", { scale }).addDequantize("dq2", { scale })
        .addConvolution("d", { outChannels: 9, kernel: 1, weights: { kernel: onInt8Grid(wave(9 * 12), 9), bias: wave(9) } }));
      const flat = x.addShuffle("flat", { reshape: [2, -1] }).addQuantize("q3", { scale }).addDequantize("dq3", { scale });
      net.markOutput(flat.addFullyConnected("e", { outFeatures: 11, weights: { kernel: onInt8Grid(wave(11 * 12 * 17 * 19), 11), bias: wave(11) } }));
      const out = await (await buildEngine(net)).createExecutionContext().execute({ x: wave(2 * 12 * 17 * 19, 0.37) });
      console.log(JSON.stringify({ kernel: int8KernelName(), c: Array.from(out.c.data), d: Array.from(out.d.data), e: Array.from(out.e.data) }));`;
    const outputs = async (env: Record<string, string>) => {
      const { stdout } = await run(process.execPath, ["--conditions", "netdef-source", "--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env } });
      return JSON.parse(stdout) as { kernel: string; c: number[]; d: number[]; e: number[] };
    };
    const [best, portable] = await Promise.all([outputs({}), outputs({ NETDEF_INT8_KERNEL: "scalar" })]);
    expect(portable.kernel).toBe("scalar");
    expect(best.kernel).not.toBe("scalar");  // x86-64 CI machines have AVX2 at least
    expect(best.c).toEqual(portable.c);
    expect(best.d).toEqual(portable.d);
    expect(best.e).toEqual(portable.e);
  }, 60_000);

  // An INT8 fire module: both expansions write their channels into the concatenation's output (each image's 40
  // channels apart at batch 2) beside the squeeze output it still copies; the same bits as the engine that writes each
  // tensor on its own (fuseProducers: false), which the unfused float32 simulation checks above.
  it("INT8 expansions write into the concatenation's output: the same bits as the copying engine", async () => {
    const net = new Network("int8-fire");
    const x = net.addInput("x", "float32", [2, 8, 9, 11]);
    const scale = Float32Array.of(0.004);
    const squeeze = x.addActivation("pre", { type: "relu" }).addQuantize("q", { scale }).addDequantize("dq", { scale });
    const expand = (name: string, out: number, kernel: number) => squeeze.addConvolution(name, { outChannels: out, kernel, padding: (kernel - 1) / 2,
      weights: { kernel: onInt8Grid(wave(out * 8 * kernel * kernel), out), bias: wave(out, 0.7) } }).addActivation(`${name}.relu`, { type: "relu" });
    net.markOutput(net.addConcatenation("cat", [expand("e1", 16, 1), expand("e3", 24, 3), squeeze], { axis: 1 }).addActivation("out", { type: "sigmoid" }));
    const plan = (await buildEngine(net)).serialize();
    const [writing, copying] = await Promise.all([Engine.deserialize(plan), Engine.deserialize(plan, { fuseProducers: false })]);
    if (!writing.is("builtin") || !copying.is("builtin")) throw new Error("expected the builtin engine");
    expect(writing.inspect().layers.filter((l) => l.tactic === "int8_implicit_gemm").map((l) => l.name)).toEqual(["e1", "e3"]);
    expect(writing.inspect().writtenIntoConcatenations).toEqual(["e1.relu", "e3.relu"]);
    expect(copying.inspect().writtenIntoConcatenations).toEqual([]);
    const input = wave(2 * 8 * 9 * 11, 0.37);
    const [a, b] = await Promise.all([writing, copying].map((e) => e.createExecutionContext().execute({ x: input })));
    expect(floats(a!.out)).toEqual(floats(b!.out));
  });

  it("a refit with INT8-grid kernels keeps INT8; a kernel off its grid is a RefitError and the engine is unchanged", async () => {
    const c = cases["1×1 stride 2"]!;
    const net = quantizedConv(c, true);
    const engine = await buildEngine(net);
    const input = wave(16 * 196, 0.37);
    const ctx = engine.createExecutionContext();
    const before = (await ctx.execute({ x: input })).conv!.data.slice();
    const kernel = net.weights.get("conv.kernel")!;
    await refit(engine, new WeightStore([["conv.kernel", { ...kernel, data: onInt8Grid(wave(24 * 16, 2.1), 24) }]]));
    const after = (await ctx.execute({ x: input })).conv!.data.slice();
    expect(after).not.toEqual(before);
    expect(engine.inspect().layers.find((l) => l.name === "conv")?.tactic).toBe("int8_implicit_gemm");
    const error = await refit(engine, new WeightStore([["conv.kernel", { ...kernel, data: wave(24 * 16, 2.1).map((v) => v + 1e-3) }]])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefitError);
    expect((error as Error).message).toMatch(/'conv.kernel': layer "conv" runs in INT8 and the new kernel is not on per-output-channel INT8 grids/);
    expect((await ctx.execute({ x: input })).conv!.data).toEqual(after);
  });

  describe("malformed INT8 layers in a plan are PlanErrors", () => {
    const planWith = (params: Record<string, unknown>, kernel: Float32Array) => encodePlan({
      name: "q", inputs: [{ name: "x", dtype: "float32", shape: [1, 2, 4, 4] }],
      tensors: new Map([["x", { dtype: "float32", shape: [1, 2, 4, 4] }], ["y", { dtype: "float32", shape: [1, 2, 4, 4] }]]),
      ops: [{ kind: "convolution", name: "conv", inputs: ["x"], outputs: ["y"], weights: { kernel }, weightNames: {}, fusedFrom: ["conv"],
        params: { outChannels: 2, kernel: [1, 1], stride: [1, 1], dilation: [1, 1], prePadding: [0, 0], postPadding: [0, 0], paddingMode: "explicit_round_down", ceilMode: false, groups: 1, bias: false, ...params } as PlanParams["convolution"] }],
      outputs: [{ name: "y", tensor: "y" }],
    }, {}, { unchecked: true });
    const grid = onInt8Grid(wave(4), 2);
    it("a dense layer whose kernel is off its grid", async () => {
      const plan = encodePlan({
        name: "q", inputs: [{ name: "x", dtype: "float32", shape: [1, 4] }],
        tensors: new Map([["x", { dtype: "float32", shape: [1, 4] }], ["y", { dtype: "float32", shape: [1, 2] }]]),
        ops: [{ kind: "fullyConnected", name: "fc", inputs: ["x"], outputs: ["y"], weights: { kernel: Float32Array.of(1, 0.3333, 0, 0, 1, 1, 1, 1) }, weightNames: {}, fusedFrom: ["fc"],
          params: { outFeatures: 2, inFeatures: 4, bias: false, inputScale: 0.1 } }],
        outputs: [{ name: "y", tensor: "y" }],
      }, {});
      const error = await Engine.deserialize(plan).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlanError);
      expect((error as Error).message).toMatch(/fc \(fullyConnected\): kernel row 0 is not on a symmetric INT8 grid/);
    });
    it.each([
      ["a negative input scale", { inputScale: -1 }, grid, /inputScale must be a positive finite number/],
      ["a float tactic", { inputScale: 0.1, tactic: "winograd_2x2_3x3" }, grid, /tactic 'winograd_2x2_3x3' does not take INT8 inputs/],
      ["groups", { inputScale: 0.1, groups: 2 }, Float32Array.of(1, 1), /INT8 convolutions take one group/],
      ["a kernel off its grid", { inputScale: 0.1 }, Float32Array.of(1, 0.3333, 1, 1), /kernel row 0 is not on a symmetric INT8 grid/],
      ["the INT8 tactic without a scale", { tactic: "int8_implicit_gemm" }, grid, /the int8_implicit_gemm tactic needs an inputScale/],
      ["an output grid on a float layer", { outputScale: 0.1 }, grid, /outputScale \(an INT8 grid for the output\) needs an INT8 layer/],
      ["an output grid of scale 0", { inputScale: 0.1, outputScale: 0 }, grid, /outputScale must be a positive finite number, got 0/],
      ["an output grid and a 16-bit rounding", { inputScale: 0.1, outputScale: 0.1, roundTo: "bfloat16" }, grid, /outputScale and roundTo both round the output/],
    ])("%s", async (_, params, kernel, message) => {
      const error = await Engine.deserialize(planWith(params, kernel)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlanError);
      expect((error as Error).message).toMatch(message);
    });
  });
});
