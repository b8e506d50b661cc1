// The builder's passes: the graph before and after each, and outputs unchanged (within 1e-5 relative).
import { describe, expect, it } from "vitest";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildEngine, BuildError, type Engine, Network } from "netdef";
import { buildGraph } from "../../builder/graph.js";
import { activationMemory } from "../../plan/memory.js";
import { dropRoundTripsInsideFusions, foldAffineIntoConvolutionOrDense, fuseActivation, fuseLogSoftMax, fuseMish, fusePointwiseChains, fuseSilu, fuseResidualAdd, fuseRoundTrip, fuseScaledSoftMax, lowerBatchNorm } from "../../builder/passes.js";
import { defineLeNet } from "../../models/lenet.js";
import { defineMobileNetV2 } from "../../models/mobilenet-v2.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";
import { values } from "../outputs.js";

const kinds = (net: Network, passes: ((g: ReturnType<typeof buildGraph>) => void)[]) => {
  const graph = buildGraph(net.toJSON(), net.weights);
  for (const pass of passes) pass(graph);
  return graph.ops.map((op) => `${op.kind}:${op.fusedFrom.join("+")}`);
};

async function optimisedVsPlain(net: Network, input: string, shape: number[], data: Float32Array) {
  const profiles = [{ [input]: { min: shape, opt: shape, max: shape } }];
  const [fast, plain] = await Promise.all([buildEngine(net, { profiles }), buildEngine(net, { profiles, optimize: false })]);
  const a = await fast.createExecutionContext().execute({ [input]: { data, shape } });
  const b = await plain.createExecutionContext().execute({ [input]: { data, shape } });
  let worst = 0;
  for (const name of Object.keys(b)) {
    const x = values(a[name]), y = values(b[name]);
    const scale = y.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / scale);
  }
  return { worst, fast, plain };
}

describe("graph rewrites", () => {
  it("folds each convolution's BatchNorm into it, and lowers BatchNorms with no convolution before them", async () => {
    const net = defineYoloBlock(await loadFixtureWeights("yolo_block.safetensors"));
    expect(kinds(net, []).filter((k) => k.startsWith("batchNorm"))).toHaveLength(3);
    const after = kinds(net, [foldAffineIntoConvolutionOrDense, lowerBatchNorm]);
    expect(after.filter((k) => k.startsWith("batchNorm") || k.startsWith("scale"))).toEqual([]);
    expect(after).toContain("convolution:stem.conv+stem.bn");
  });

  it("folds BatchNorm after a dense layer and channel or uniform scales (no power) after either; keeps a scale with power", async () => {
    const net = new Network("affine");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.3) * 0.5);
    const x = net.addInput("x", "float32", [3, 4, 6, 6]);
    const conv = x.addConvolution("conv", { outChannels: 5, kernel: 3, weights: { kernel: w(5, 4, 3, 3), bias: w(5) } })
      .addScale("cs", { mode: "channel", scale: w(5), shift: w(5).map((v) => v + 1) });
    const grouped = conv.addConvolution("dw", { outChannels: 5, kernel: 3, groups: 5, padding: 1, bias: false, weights: { kernel: w(5, 1, 3, 3) } })
      .addScale("us", { mode: "uniform", scale: Float32Array.from([1.5]) });
    const dense = grouped.addFullyConnected("fc", { outFeatures: 7, weights: { kernel: w(7, 80), bias: w(7) } })
      .addBatchNorm("bn1d", { weights: { weight: w(7), bias: w(7), mean: w(7), variance: w(7).map((v) => v * v + 0.5) } });
    const powered = dense.addFullyConnected("fc2", { outFeatures: 3, weights: { kernel: w(3, 7), bias: w(3) } })
      .addScale("pow", { mode: "channel", shift: Float32Array.from([2, 2, 2]), power: Float32Array.from([2, 1, 2]) });
    net.markOutput(powered);
    expect(kinds(net, [foldAffineIntoConvolutionOrDense])).toEqual(["convolution:conv+cs", "convolution:dw+us", "fullyConnected:fc+bn1d", "fullyConnected:fc2", "scale:pow"]);
    const data = Float32Array.from({ length: 3 * 144 }, (_, i) => Math.cos(i * 0.7));
    const { worst } = await optimisedVsPlain(net, "x", [3, 4, 6, 6], data);
    expect(worst).toBeLessThan(1e-5);
  });

  it("fuses softmax → log and dense → ReLU in LeNet", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    expect(kinds(net, [fuseLogSoftMax, fuseActivation])).toEqual([
      "convolution:conv1", "pooling:pool1", "convolution:conv2", "pooling:pool2", "fullyConnected:fc1+relu1", "fullyConnected:fc2", "logSoftMax:softmax+log_softmax",
    ]);
  });

  it("fuses a dense layer on a sequence's rows with the activation after its reshape back (addLinear → GELU), within 1e-5 of the plain engine", async () => {
    const net = new Network("mlp");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.61) * 0.3);
    const hidden = net.addInput("x", "float32", [4, 5, 24]).addLinear("fc1", { outFeatures: 40, weights: { kernel: w(40, 24), bias: w(40) } }).addActivation("gelu", { type: "gelu_erf" });
    net.markOutput(hidden.addLinear("fc2", { outFeatures: 24, weights: { kernel: w(24, 40), bias: w(24) } }).addActivation("tanh", { type: "tanh" }), "y");
    // A transposing shuffle does not commute with the rows it would move: nothing fused across it.
    const transposed = new Network("transposed");
    const t = transposed.addInput("x", "float32", [6, 24]).addFullyConnected("fc", { outFeatures: 40, weights: { kernel: w(40, 24), bias: w(40) } })
      .addShuffle("t", { firstTranspose: [1, 0] }).addActivation("relu", { type: "relu" });
    transposed.markOutput(t, "y");
    expect(kinds(transposed, [fuseActivation])).toEqual(["fullyConnected:fc", "shuffle:t", "activation:relu"]);
    const fused = kinds(net, [fuseActivation]);
    expect(fused.filter((k) => !k.startsWith("shuffle"))).toEqual(["fullyConnected:fc1+gelu", "fullyConnected:fc2+tanh"]);
    expect(fused.filter((k) => k.startsWith("shuffle"))).toHaveLength(4);
    // 4 × 5 rows: the packed GEMM's path (more rows than the matrix-vector one takes), prepacked weights, the
    // activation in its epilogue.
    const data = Float32Array.from({ length: 4 * 5 * 24 }, (_, i) => Math.cos(i * 0.7) * 1.5);
    const { worst, fast } = await optimisedVsPlain(net, "x", [4, 5, 24], data);
    expect(fast.inspect().layers.map((l) => l.kind)).not.toContain("activation");
    expect(worst).toBeLessThan(1e-5);
  });

  // 6 products: one per thread at a time; 3 products of 70 rows: each in two bands of rows (fewer products than
  // twice the threads).
  it.each([[2, 3, 7, 8], [1, 3, 70, 8]])("fuses attention's scaling by a constant and its softmax over the rows into the scores' matrix product ([%i, %i, %i, %i]), within 1e-5 of the plain engine and of float64", async (b, h, t, d) => {
    const net = new Network("attention");
    const q = net.addInput("q", "float32", [b, h, t, d]), k = net.addInput("k", "float32", [b, h, t, d]);
    const scores = q.addMatrixMultiply("scores", k, { opB: "transpose" });
    const scale = net.addConstant("scale", { shape: [1, 1, 1, 1], weights: Float32Array.of(8) });
    // Divided by √d·… as a PyTorch port writes it; a product by a constant goes the same way.
    const probs = scores.addElementWise("scaled", scale, "div").addSoftMax("softmax", { axis: 3 });
    net.markOutput(probs.addMatrixMultiply("attend", k), "y");
    // A softmax over another axis, a scale by a tensor that is not constant: not fused.
    const other = new Network("other");
    const x = other.addInput("x", "float32", [4, 5]);
    other.markOutput(x.addMatrixMultiply("mm", x, { opB: "transpose" }).addElementWise("by", x.addMatrixMultiply("mm2", x, { opB: "transpose" }), "prod").addSoftMax("sm", { axis: 0 }), "y");
    expect(kinds(other, [fuseScaledSoftMax])).toEqual(["matrixMultiply:mm", "matrixMultiply:mm2", "elementWise:by", "softMax:sm"]);
    expect(kinds(net, [fuseScaledSoftMax])).toEqual(["matrixMultiply:scores+scaled+softmax", "matrixMultiply:attend"]);
    const shape = [b, h, t, d], profiles = [{ q: { min: shape, opt: shape, max: shape }, k: { min: shape, opt: shape, max: shape } }];
    const [fast, plain] = await Promise.all([buildEngine(net, { profiles }), buildEngine(net, { profiles, optimize: false })]);
    const inputs = { q: Float32Array.from({ length: b * h * t * d }, (_, i) => Math.sin(i * 0.37) * 3), k: Float32Array.from({ length: b * h * t * d }, (_, i) => Math.cos(i * 0.23) * 2) };
    const [y, want] = [values((await fast.createExecutionContext().execute(inputs)).y), values((await plain.createExecutionContext().execute(inputs)).y)];
    const largest = Math.max(...want.map(Math.abs));
    expect(largest).toBeGreaterThan(0.5);
    expect(Math.max(...y.map((v, i) => Math.abs(v - want[i]!))) / largest).toBeLessThan(1e-5);
    // softmax(q·kᵀ / 8)·k in float64, product by product.
    const exact = new Float64Array(y.length);
    for (let p = 0; p < b * h; p++) {
      const at = (x: Float32Array, row: number, col: number) => x[(p * t + row) * d + col]!;
      for (let i = 0; i < t; i++) {
        const row = Array.from({ length: t }, (_, j) => Array.from({ length: d }, (_, c) => at(inputs.q, i, c) * at(inputs.k, j, c)).reduce((a, v) => a + v, 0) / 8);
        const top = Math.max(...row), e = row.map((v) => Math.exp(v - top)), sum = e.reduce((a, v) => a + v, 0);
        for (let c = 0; c < d; c++) exact[(p * t + i) * d + c] = e.reduce((a, v, j) => a + (v / sum) * at(inputs.k, j, c), 0);
      }
    }
    expect(Math.max(...y.map((v, i) => Math.abs(v - exact[i]!))) / largest).toBeLessThan(1e-5);
  });

  it("leaves a fusion off where the intermediate tensor is an output (debug marks keep tensors observable)", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    net.markDebug(net.layer("fc1").output);
    expect(kinds(net, [fuseActivation])).toContain("fullyConnected:fc1");
    expect(kinds(net, [fuseActivation])).toContain("activation:relu1");
  });
});

describe("optimised engines compute what the plain ones do (1e-5 relative)", () => {
  it.each([
    ["lenet", defineLeNet, "data", [4, 1, 28, 28]],
    ["yolo_block", defineYoloBlock, "input", [1, 3, 64, 64]],
    ["mobilenet_v2", defineMobileNetV2, "input", [1, 3, 224, 224]],
  ] as [string, (w: Awaited<ReturnType<typeof loadFixtureWeights>>) => Network, string, number[]][])("%s", async (model, define, input, shape) => {
    const io = await loadFixtureWeights(`${model}_io.safetensors`);
    const { worst, fast, plain } = await optimisedVsPlain(define(await loadFixtureWeights(`${model}.safetensors`)), input, shape, io.float32("input").subarray(0, shape.reduce((a, b) => a * b, 1)));
    expect(worst).toBeLessThan(1e-5);
    expect(fast.inspect().layers.length).toBeLessThan(plain.inspect().layers.length);
  });
});

describe("activation memory", () => {
  it("mobilenet_v2's live-set peak is at most half the naive sum, and the tensors its fused chains never allocate do not count", async () => {
    const net = defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors"));
    const options = { profiles: [{ input: { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [8, 3, 224, 224] } }] };
    const engine = await buildEngine(net, options);
    const { memory, fusedGroups } = engine.inspect();
    expect(memory.shapes).toEqual({ input: [8, 3, 224, 224] });
    expect(memory.peakBytes / memory.naiveBytes).toBeLessThanOrEqual(0.5);
    // At batch 8 every block's depthwise layer (and the stem or expansion before it) runs inside the 1×1 after it: 17
    // depthwise outputs and 17 stem/expansion outputs (the first block has no expansion: its stem joins the chain).
    expect(memory.unallocated).toHaveLength(34);
    expect(memory.unallocated).toContain("features.2.conv.0.relu6");  // the 112×112 expansion, 96 channels
    process.env.NETDEF_FUSE_PRODUCERS = "0";
    const unfused = (await buildEngine(net, options).finally(() => delete process.env.NETDEF_FUSE_PRODUCERS)).inspect().memory;
    expect(unfused.unallocated).toEqual([]);
    expect(unfused.naiveBytes).toBe(memory.naiveBytes);
    // The unfused peak holds the 112×112 expansion (96 × 112² × 8 floats) beside its input (16 channels).
    expect(unfused.peakBytes).toBeGreaterThanOrEqual((96 + 16) * 112 * 112 * 8 * 4);
    expect(memory.peakBytes).toBeLessThan(unfused.peakBytes / 2);
    expect(fusedGroups.map((g) => g.name)).toContain("features.0.0");
    expect(fusedGroups.find((g) => g.name === "features.0.0")!.fusedFrom).toEqual(["features.0.0", "features.0.1", "features.0.relu6"]);
  });

  it("counts each tensor from the layer writing it to the last reading it, at its storage's bytes", () => {
    // input → a → b (the output): 10, 20 and 5 values.
    const live = { steps: 2, shapes: { x: [10] }, tensors: [
      { name: "x", values: 10, from: -1, to: 0 }, { name: "a", values: 20, from: 0, to: 1 }, { name: "b", values: 5, from: 1, to: 2 },
    ] };
    // Live sets: {x} before the first layer, {x, a} at it (40 + 80 bytes), {a, b} at the second (80 + 20).
    expect(activationMemory(live)).toEqual({ naiveBytes: 140, peakBytes: 120, unallocated: [], shapes: { x: [10] } });
    // a in 16-bit storage: {x, a} = 40 + 40, {a, b} = 40 + 20.
    expect(activationMemory(live, (t) => (t === "a" ? 2 : 4))).toEqual({ naiveBytes: 100, peakBytes: 80, unallocated: [], shapes: { x: [10] } });
    // a never allocated (the second layer computes the first along with its own): x, read by the first, is kept
    // until the second has run, {x, b} = 40 + 20; the naive sum still counts a.
    expect(activationMemory(live, () => 4, new Set(["a"]))).toEqual({ naiveBytes: 140, peakBytes: 60, unallocated: ["a"], shapes: { x: [10] } });
  });
});

describe("clean-up passes", () => {
  it("removes dead layers, identities and no-op shuffles, keeping outputs", async () => {
    const { Network } = await import("netdef");
    const { removeDeadLayers, removeNoOps } = await import("../../builder/passes.js");
    const net = new Network("noops");
    const x = net.addInput("x", "float32", [2, 3]);
    const y = x.addIdentity("id").addShuffle("same", { reshape: [2, 3] }).addActivation("relu", { type: "relu" });
    x.addActivation("dead1", { type: "tanh" }).addActivation("dead2", { type: "sigmoid" });   // read by nothing
    const kept = y.addShuffle("flip", { firstTranspose: [1, 0] });
    net.markOutput(kept);
    net.markOutput(y.addIdentity("out_identity"));
    expect(kinds(net, [removeDeadLayers, removeNoOps])).toEqual(["activation:relu", "shuffle:flip", "identity:out_identity"]);
    const graph = buildGraph(net.toJSON(), net.weights);
    removeDeadLayers(graph);
    removeNoOps(graph);
    expect(graph.ops.find((op) => op.name === "relu")!.inputs).toEqual(["x"]);
    const engine = await buildEngine(net);
    const out = await engine.createExecutionContext().execute({ x: Float32Array.from([1, -2, 3, -4, 5, -6]) });
    expect(values(out.flip)).toEqual([1, 0, 0, 5, 3, 0]);   // relu, transposed
    expect(values(out.out_identity)).toEqual([1, 0, 3, 0, 5, 0]);
  });
});

describe("constant folding", () => {
  it("computes constant-only layers at build time and keeps the results", async () => {
    const { Network } = await import("netdef");
    const net = new Network("consts");
    const x = net.addInput("x", "float32", [3]);
    const a = net.addConstant("a", { shape: [3], weights: Float32Array.from([1, 2, 3]) });
    const b = net.addConstant("b", { shape: [3], weights: Float32Array.from([10, 20, 30]) });
    const offset = a.addElementWise("ab", b, "prod").addUnary("sqrt", "sqrt");   // √(a·b): constant
    net.markOutput(x.addElementWise("y", offset, "sum"));
    const engine = await buildEngine(net);
    expect(engine.inspect().layers.map((l) => `${l.kind}:${l.name}`)).toEqual(["constant:sqrt", "elementWise:y"]);
    expect(engine.header.config.foldedConstants).toEqual(["ab", "sqrt"]);
    const { y } = await engine.createExecutionContext().execute({ x: Float32Array.from([0, 1, 2]) });
    const expected = [Math.sqrt(10), 1 + Math.sqrt(40), 2 + Math.sqrt(90)];
    values(y).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    const plain = await buildEngine(net, { optimize: false });
    expect(plain.inspect().layers).toHaveLength(5);
  });
});

describe("mish fusion", () => {
  it("softplus → tanh → product with the input becomes one mish activation, fused into the convolution before it", async () => {
    const net = defineYoloBlock(await loadFixtureWeights("yolo_block.safetensors"));
    const after = kinds(net, [foldAffineIntoConvolutionOrDense, fuseMish, fuseActivation]);
    expect(after).toContain("convolution:stem.conv+stem.bn+stem.softplus+stem.tanh+stem.mish");
    expect(after.filter((k) => k.includes("softplus"))).toHaveLength(3);  // stem, down, reduce: every Mish
    const data = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37) * 3);
    const { worst } = await optimisedVsPlain(net, "input", [1, 3, 64, 64], data);
    expect(worst).toBeLessThan(1e-5);
  });

  it("leaves softplus with α or β ≠ 1, and a product with another tensor, as they are", () => {
    const net = new Network("m");
    const x = net.addInput("x", "float32", [2, 5]);
    const y = net.addInput("y", "float32", [2, 5]);
    net.markOutput(x.addElementWise("p1", x.addActivation("s1", { type: "softplus", alpha: 2 }).addActivation("t1", { type: "tanh" }), "prod"));
    net.markOutput(y.addElementWise("p2", x.addActivation("s2", { type: "softplus" }).addActivation("t2", { type: "tanh" }), "prod"));
    expect(kinds(net, [fuseMish]).filter((k) => k.startsWith("activation:") && k.includes("+"))).toEqual([]);
  });
});

describe("SiLU fusion", () => {
  it("sigmoid → product with the input becomes one silu activation, fused into the convolution before it", async () => {
    const net = new Network("swish");
    const x = net.addInput("x", "float32", [1, 4, 9, 9]);
    const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.4);
    const c = x.addConvolution("conv", { outChannels: 8, kernel: 3, padding: 1, weights: { kernel: wave(288, 0.7), bias: wave(8, 0.3) } });
    net.markOutput(c.addActivation("sig", { type: "sigmoid" }).addElementWise("swish", c, "prod"));
    expect(kinds(net, [fuseSilu, fuseActivation])).toEqual(["convolution:conv+sig+swish"]);
    const data = Float32Array.from({ length: 4 * 81 }, (_, i) => Math.sin(i * 0.37) * 3);
    expect((await optimisedVsPlain(net, "x", [1, 4, 9, 9], data)).worst).toBeLessThan(1e-6);
  });

  it("leaves a product of a sigmoid with another tensor as it is", () => {
    const net = new Network("gate");
    const x = net.addInput("x", "float32", [2, 5]);
    const y = net.addInput("y", "float32", [2, 5]);
    net.markOutput(y.addElementWise("p", x.addActivation("s", { type: "sigmoid" }), "prod"));
    expect(kinds(net, [fuseSilu])).toEqual(["activation:s", "elementWise:p"]);
  });
});

describe("residual fusion", () => {
  it("ResNet's conv → BN → add → ReLU runs as one layer, with the same results", async () => {
    const { defineResNet18, randomWeights } = await import("../../models/resnet18.js");
    const net = defineResNet18(randomWeights(defineResNet18()));
    const data = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.37));
    const { worst, fast } = await optimisedVsPlain(net, "input", [1, 3, 224, 224], data);
    expect(worst).toBeLessThan(1e-5);
    expect(fast.inspect().fusedGroups.find((g) => g.name === "layer1.0.conv2")!.fusedFrom).toEqual(["layer1.0.conv2", "layer1.0.bn2", "layer1.0.add", "layer1.0.relu2"]);
  }, 60_000);
});

describe("element-wise chain fusion", () => {
  // s / (x − m) → sigmoid → s − · → · m → · + x → · − s → INT8 and back → float16 and back → exp, with a branch that
  // keeps its own layers: the chain is one op (divisions and subtractions with the running value on either side).
  function chainNetwork(debugMiddle = false) {
    const net = new Network("chain");
    const x = net.addInput("x", "float32", [-1, 3, 5, 7]);
    const m = net.addInput("m", "float32", [-1, 3, 5, 7]);
    const s = net.addInput("s", "float32", [-1, 3, 5, 7]);
    const centred = x.addElementWise("centre", m, "sub");
    const scaled = s.addElementWise("scale", centred, "div");  // the chain's value on the right
    const squashed = scaled.addActivation("squash", { type: "sigmoid" });
    const flipped = s.addElementWise("flip", squashed, "sub").addElementWise("mul", m, "prod").addElementWise("add", x, "sum").addElementWise("less", s, "sub");
    const int8 = flipped.addQuantize("q", { scale: Float32Array.from([0.03]) }).addDequantize("dq", { scale: Float32Array.from([0.03]) });
    const half = int8.addCast("half", { to: "float16" }).addCast("back", { to: "float32" });
    net.markOutput(half.addUnary("grow", "exp"), "y");
    net.markOutput(centred.addUnary("branch", "abs").addActivation("branchRelu", { type: "relu" }), "z");
    if (debugMiddle) net.markDebug(squashed);
    return net;
  }
  const feeds = (batch: number) => {
    const shape = [batch, 3, 5, 7];
    const make = (k: number) => ({ data: Float32Array.from({ length: batch * 105 }, (_, i) => Math.sin(i * k) * 3 + (k === 0.7 ? 4 : 0)), shape });
    return { x: make(0.3), m: make(0.5), s: make(0.7) };
  };

  it("fuses each same-shape run into one op listing its layers; a tensor read twice ends a chain", () => {
    expect(kinds(chainNetwork(), [fusePointwiseChains])).toEqual([
      "elementWise:centre", "pointwiseChain:scale+squash+flip+mul+add+less+q+dq+half+back+grow", "pointwiseChain:branch+branchRelu",
    ]);
    expect(kinds(chainNetwork(true), [fusePointwiseChains])).toEqual([
      "elementWise:centre", "pointwiseChain:scale+squash", "pointwiseChain:flip+mul+add+less+q+dq+half+back+grow", "pointwiseChain:branch+branchRelu",
    ]);
  });

  it("computes what the unfused layers do, at two batch sizes", async () => {
    const net = chainNetwork();
    const profiles = [Object.fromEntries(["x", "m", "s"].map((n) => [n, { min: [1, 3, 5, 7], opt: [2, 3, 5, 7], max: [40, 3, 5, 7] }]))];
    const [fused, plain] = await Promise.all([buildEngine(net, { profiles }), buildEngine(net, { profiles, optimize: false })]);
    expect(fused.inspect().fusedGroups.map((g) => g.name)).toContain("grow");
    for (const batch of [2, 40]) {  // 40 · 105 elements: several chunks, run in parallel
      const a = await fused.createExecutionContext().execute(feeds(batch));
      const b = await plain.createExecutionContext().execute(feeds(batch));
      for (const name of ["y", "z"]) expect(values(a[name])).toEqual(values(b[name]));
    }
  });
});

describe("convolution tactics chosen by shape rules (tuning off)", () => {
  it("Winograd for 3×3 stride 1 with many channels (F(4×4) on maps of ≥ 16 tiles, F(2×2) on smaller ones of channels that stay planar), direct for other convolutions, the engine's own rules (a GEMM) for 1×1 ones", async () => {
    const net = new Network("tactics");
    const x = net.addInput("x", "float32", [1, 16, 9, 11]);
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.1);
    const a = x.addConvolution("wide", { outChannels: 24, kernel: 3, padding: 1, bias: false, weights: { kernel: w(24, 16, 3, 3) } });
    const b = a.addConvolution("strided", { outChannels: 24, kernel: 3, stride: 2, bias: false, weights: { kernel: w(24, 24, 3, 3) } });
    const c = b.addConvolution("narrow", { outChannels: 8, kernel: 3, padding: 1, bias: false, weights: { kernel: w(8, 24, 3, 3) } });
    const d = c.addConvolution("few filters", { outChannels: 4, kernel: 3, padding: 1, bias: false, weights: { kernel: w(4, 8, 3, 3) } });
    const e = d.addConvolution("short sums", { outChannels: 16, kernel: 3, padding: 1, bias: false, weights: { kernel: w(16, 4, 3, 3) } });  // 4·9 = 36 products
    const e2 = d.addConvolution("short sums, stride 2", { outChannels: 16, kernel: 3, stride: 2, bias: false, weights: { kernel: w(16, 4, 3, 3) } });
    const big = net.addInput("big", "float32", [1, 16, 17, 16]);
    const f = big.addConvolution("large map", { outChannels: 16, kernel: 3, padding: 1, bias: false, weights: { kernel: w(16, 16, 3, 3) } });
    const g = big.addConvolution("1x1", { outChannels: 16, kernel: 1, bias: false, weights: { kernel: w(16, 16, 1, 1) } });
    const g2 = big.addConvolution("1x1 stride 2", { outChannels: 32, kernel: 1, stride: 2, bias: false, weights: { kernel: w(32, 16, 1, 1) } });
    const wideInput = net.addInput("wide input", "float32", [1, 128, 7, 7]);
    const h = wideInput.addConvolution("projection", { outChannels: 32, kernel: 1, bias: false, weights: { kernel: w(32, 128, 1, 1) } });
    const i = wideInput.addConvolution("short projection", { outChannels: 64, kernel: 1, bias: false, weights: { kernel: w(64, 128, 1, 1) } });
    const e3real = net.addInput("rgb", "float32", [1, 3, 9, 11]).addConvolution("shorter sums", { outChannels: 16, kernel: 3, padding: 1, bias: false, weights: { kernel: w(16, 3, 3, 3) } });  // 27 products
    // in·out / (in + out) = 32 on 7 × 7 tiles of 4×4, 64 on 4 × 4 tiles, 130 and 128 on 2 × 2 tiles (260 channels stay
    // planar; 256 are blocked, where F(2×2) lost to direct), 32 on 4 × 4 tiles.
    const c64 = (input: number[], name: string, outChannels: number) =>
      net.addInput(`${name} input`, "float32", input).addConvolution(name, { outChannels, kernel: 3, padding: 1, bias: false, weights: { kernel: w(outChannels, input[1]!, 3, 3) } });
    const winograd = [c64([1, 64, 28, 28], "F4, 64 channels", 64), c64([1, 128, 14, 14], "F4, 128 channels", 128), c64([1, 260, 7, 7], "F2, 260 channels", 260), c64([1, 256, 7, 7], "256 channels on 7×7", 256), c64([1, 64, 14, 14], "too few channels for 16 tiles", 64)];
    for (const t of [e, e2, e3real, f, g, g2, h, i, ...winograd]) net.markOutput(t);
    const engine = await buildEngine(net);
    expect(Object.fromEntries(engine.inspect().layers.map((l) => [l.name, l.tactic ?? "rules"]))).toEqual({
      wide: "direct_rows", strided: "direct_c16", narrow: "direct_c16", "few filters": "direct_rows", "short sums": "direct_rows", "short sums, stride 2": "direct_rows", "shorter sums": "direct_rows", "large map": "direct_rows", "1x1": "rules", "1x1 stride 2": "implicit_gemm_k256",
      projection: "rules", "short projection": "rules",
      "F4, 64 channels": "winograd_4x4_3x3", "F4, 128 channels": "winograd_4x4_3x3", "F2, 260 channels": "winograd_2x2_3x3", "256 channels on 7×7": "direct_c16", "too few channels for 16 tiles": "direct_c16",
    });
  });
});

describe("tactics excluded for every layer (BuildOptions.excludeTactics, like TensorRT's tactic sources)", () => {
  const define = () => {
    const net = new Network("excluded");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.05);
    const x = net.addInput("x", "float32", [1, 64, 28, 28]);
    const wide = x.addConvolution("wide", { outChannels: 64, kernel: 3, padding: 1, weights: { kernel: w(64, 64, 3, 3), bias: w(64) } });  // the rules: F(4×4)
    const mixed = wide.addConvolution("mix", { outChannels: 64, kernel: 1, weights: { kernel: w(64, 64, 1, 1), bias: w(64) } });  // the rules: the engine's GEMM
    net.markOutput(mixed.addConvolution("dw", { outChannels: 64, kernel: 3, groups: 64, padding: 1, weights: { kernel: w(64, 1, 3, 3), bias: w(64) } }), "y");
    return net;
  };
  const tacticsOf = (engine: Engine<"builtin">) => Object.fromEntries(engine.inspect().layers.map((l) => [l.name, l.tactic ?? "rules"]));

  it("the shape rules take their next choice, and compute the same within the tactics' tolerance", async () => {
    const rules = await buildEngine(define());
    expect(tacticsOf(rules)).toEqual({ wide: "winograd_4x4_3x3", mix: "rules", dw: "rules" });
    const excluded = await buildEngine(define(), { excludeTactics: ["winograd_4x4_3x3", "pointwise_gemm", "depthwise_direct"] });
    expect(tacticsOf(excluded)).toEqual({ wide: "direct_c16", mix: "implicit_gemm_k256", dw: "implicit_gemm_k256" });
    const input = { x: Float32Array.from({ length: 64 * 28 * 28 }, (_, i) => Math.cos(i)) };
    const [a, b] = await Promise.all([rules.createExecutionContext().execute(input), excluded.createExecutionContext().execute(input)]);
    const scale = (b.y!.data as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    (a.y!.data as Float32Array).forEach((v, i) => expect(Math.abs(v - Number(b.y!.data[i]))).toBeLessThanOrEqual(2e-5 * scale));
  });

  it("the tuner neither times nor picks them", async () => {
    const tuned = await buildEngine(define(), { tuning: "fast", excludeTactics: ["winograd_4x4_3x3", "winograd_2x2_3x3"] });
    const wide = tuned.inspect().tactics.find((t) => t.layer === "wide")!;
    expect(Object.keys(wide.milliseconds).sort()).toEqual(["direct_c16", "direct_rows", "implicit_gemm_k128", "implicit_gemm_k256", "implicit_gemm_k512"]);
    expect(wide.tactic.startsWith("winograd")).toBe(false);
  });

  it("a timing cache's choice gives way to the fastest tactic left", async () => {
    const cacheFile = path.join(await mkdtemp(path.join(os.tmpdir(), "netdef-exclude-")), "timing.json");
    const first = (await buildEngine(define(), { tuning: "fast", timingCacheFile: cacheFile })).inspect().tactics.find((t) => t.layer === "wide")!;
    const again = (await buildEngine(define(), { tuning: "fast", timingCacheFile: cacheFile, excludeTactics: [first.tactic] })).inspect().tactics.find((t) => t.layer === "wide")!;
    expect(again.cached).toBe(true);
    expect(again.tactic).not.toBe(first.tactic);
    const left = Object.entries(first.milliseconds).filter(([t]) => t !== first.tactic).sort((a, b) => a[1] - b[1]);
    expect(again.tactic).toBe(left[0]![0]);
    expect(again.milliseconds).not.toHaveProperty(first.tactic);
  });

  it("refuses an unknown name, a pinned tactic it excludes, and a layer left with no implementation", async () => {
    await expect(buildEngine(define(), { excludeTactics: ["winograd_6x6"] })).rejects.toThrow(/excludeTactics: 'winograd_6x6' is not a tactic; the tactics are implicit_gemm_k128, .*depthwise_direct$/);
    await expect(buildEngine(define(), { excludeTactics: ["direct_c16"], tactics: { wide: "direct_c16" } })).rejects.toThrow(/layer 'wide' is pinned to 'direct_c16', which excludeTactics rules out/);
    await expect(buildEngine(define(), { excludeTactics: ["depthwise_direct", "implicit_gemm_k256"] })).rejects.toThrow(/excludeTactics rules out every implementation of layer 'dw' \(depthwise_direct, implicit_gemm_k256\)/);
    await expect(buildEngine(define(), { excludeTactics: ["winograd_6x6"] })).rejects.toBeInstanceOf(BuildError);
  });
});

describe("tactics pinned by layer name (BuildOptions.tactics)", () => {
  const define = () => {
    const net = new Network("pinned");
    const x = net.addInput("x", "float32", [1, 16, 8, 8]);
    const w = Float32Array.from({ length: 16 * 16 * 9 }, (_, i) => Math.sin(i) * 0.1);
    net.markOutput(x.addConvolution("conv", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w, bias: new Float32Array(16) } }).addActivation("relu", { type: "relu" }), "out");
    return net;
  };

  it("keeps the pinned tactic over the rules and the tuner, and computes the same", async () => {
    const rules = await buildEngine(define());
    expect(rules.inspect().layers[0]!.tactic).toBe("direct_rows");
    const pinned = await buildEngine(define(), { tactics: { conv: "implicit_gemm_k128" }, tuning: "fast" });
    expect(pinned.inspect().layers[0]!.tactic).toBe("implicit_gemm_k128");
    expect(pinned.inspect().tactics).toEqual([]);  // nothing left to tune
    const input = { x: Float32Array.from({ length: 16 * 64 }, (_, i) => Math.cos(i)) };
    const [a, b] = await Promise.all([rules.createExecutionContext().execute(input), pinned.createExecutionContext().execute(input)]);
    a.out!.data.forEach((v, i) => expect(Math.abs(Number(v) - Number(b.out!.data[i]))).toBeLessThan(1e-5));
  });

  it("refuses a layer without a choice of implementation, and a tactic the layer cannot use", async () => {
    await expect(buildEngine(define(), { tactics: { relu: "direct_c16" } })).rejects.toThrow(/'relu' is not a layer with a choice of implementation after fusion; these are: conv/);
    await expect(buildEngine(define(), { tactics: { conv: "depthwise_direct" } })).rejects.toThrow(/layer 'conv' cannot use 'depthwise_direct'; its implementations are implicit_gemm_k128, .*direct_c16, direct_rows, winograd_2x2_3x3, winograd_4x4_3x3 \(test\/builder\/passes\.test\.ts:\d+:\d+\)$/);
    await expect(buildEngine(define(), { tactics: { conv: "depthwise_direct" } })).rejects.toBeInstanceOf(BuildError);
  });
});

describe("reduced precision and fusion", () => {
  it("drops float16/bfloat16 round trips inside conv → BN → add → ReLU, keeping the one on the group's output", async () => {
    const { reducedFloat } = await import("netdef");
    const { defineResNet18, randomWeights } = await import("../../models/resnet18.js");
    const net = reducedFloat(defineResNet18(randomWeights(defineResNet18())), "bfloat16");
    const fused = kinds(net, [dropRoundTripsInsideFusions, foldAffineIntoConvolutionOrDense, lowerBatchNorm, fuseResidualAdd, fuseActivation]);
    expect(fused).toContain("convolution:layer1.0.conv2+layer1.0.bn2+layer1.0.add+layer1.0.relu2");
    // After each fused group: its output's round trip, nothing inside.
    expect(fused.slice(0, 9)).toEqual([
      "convolution:conv1+bn1+relu", "cast:relu.bfloat16", "cast:relu.float32",
      "pooling:maxpool", "cast:maxpool.bfloat16", "cast:maxpool.float32",
      "convolution:layer1.0.conv1+layer1.0.bn1+layer1.0.relu1", "cast:layer1.0.relu1.bfloat16", "cast:layer1.0.relu1.float32",
    ]);
    // …which then runs in the group's epilogue.
    expect(kinds(net, [dropRoundTripsInsideFusions, foldAffineIntoConvolutionOrDense, lowerBatchNorm, fuseResidualAdd, fuseActivation, fuseRoundTrip]).slice(0, 5)).toEqual([
      "convolution:conv1+bn1+relu+relu.bfloat16+relu.float32", "pooling:maxpool", "cast:maxpool.bfloat16", "cast:maxpool.float32",
      "convolution:layer1.0.conv1+layer1.0.bn1+layer1.0.relu1+layer1.0.relu1.bfloat16+layer1.0.relu1.float32",
    ]);
    expect(fused.filter((k) => k.startsWith("batchNorm") || k.startsWith("scale") || k.startsWith("activation"))).toEqual([]);
  });

  it.each(["float16", "bfloat16"] as const)("rounds to %s in convolution and dense epilogues exactly as the separate casts do", async (dtype) => {
    const { reducedFloat } = await import("netdef");
    const net = new Network("rounding");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7) * 0.3);
    const x = net.addInput("x", "float32", [2, 16, 9, 9]);
    const a = x.addConvolution("wino", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 16, 3, 3), bias: w(16) } }).addActivation("r1", { type: "relu" });
    const b = a.addConvolution("gemm", { outChannels: 20, kernel: 3, stride: 2, weights: { kernel: w(20, 16, 3, 3), bias: w(20) } }).addActivation("r2", { type: "sigmoid" });
    const c = b.addConvolution("dw", { outChannels: 20, kernel: 3, groups: 20, padding: 1, weights: { kernel: w(20, 1, 3, 3), bias: w(20) } }).addActivation("r3", { type: "tanh" });
    net.markOutput(c.addFullyConnected("fc", { outFeatures: 7, weights: { kernel: w(7, 20 * 16), bias: w(7) } }).addActivation("r4", { type: "elu", alpha: 1 }).addSoftMax("sm", { axis: 1 }));
    // The layers themselves kept in float32, so that the unfused build rounds at the same places (after each
    // activation) as the fused one, where the rounding joins the activation in the layer's epilogue.
    const reduced = reducedFloat(net, dtype, { keepFloat: ["wino", "gemm", "dw", "fc"] });
    const [fused, plain] = await Promise.all([buildEngine(reduced), buildEngine(reduced, { optimize: false })]);
    expect(fused.inspect().layers.map((l) => `${l.kind}:${l.fusedFrom.join("+")}`)).toEqual([
      `convolution:wino+r1+r1.${dtype}+r1.float32`, `convolution:gemm+r2+r2.${dtype}+r2.float32`, `convolution:dw+r3+r3.${dtype}+r3.float32`,
      `fullyConnected:fc+r4+r4.${dtype}+r4.float32`, "softMax:sm",
    ]);
    const data = Float32Array.from({ length: 2 * 16 * 81 }, (_, i) => Math.cos(i * 0.37));
    const [p, q] = await Promise.all([fused.createExecutionContext().execute({ x: data }), plain.createExecutionContext().execute({ x: data })]);
    const name = Object.keys(q)[0]!;
    expect(values(p[name])).toEqual(values(q[name]));
  });

  it.each(["float16", "bfloat16"] as const)("drops %s round trips after max pooling of rounded values; LeNet's results are unchanged, bit for bit", async (dtype) => {
    const { reducedFloat } = await import("netdef");
    const net = reducedFloat(defineLeNet(await loadFixtureWeights("lenet.safetensors")), dtype);
    const shape = [4, 1, 28, 28];
    const profiles = [{ data: { min: shape, opt: shape, max: shape } }];
    const [fused, plain] = await Promise.all([buildEngine(net, { profiles }), buildEngine(net, { profiles, optimize: false })]);
    expect(fused.inspect().layers.map((l) => l.fusedFrom.join("+")).slice(0, 4)).toEqual([
      `conv1+conv1.${dtype}+conv1.float32`, `pool1+pool1.${dtype}+pool1.float32`, `conv2+conv2.${dtype}+conv2.float32`, `pool2+pool2.${dtype}+pool2.float32`,
    ]);
    const data = (await loadFixtureWeights("lenet_io.safetensors")).float32("input").subarray(0, 4 * 784);
    const [a, b] = await Promise.all([fused.createExecutionContext().execute({ data: { data, shape } }), plain.createExecutionContext().execute({ data: { data, shape } })]);
    const name = Object.keys(b)[0]!;
    expect(values(a[name])).toEqual(values(b[name]));
  });
});
