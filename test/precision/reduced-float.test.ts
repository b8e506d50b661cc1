import { describe, expect, it } from "vitest";
import { buildEngine, type BuildOptions, Network, reducedFloat, refit, roundToBfloat16, roundToFloat16, type Tensor, WeightStore } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { loadFixtureWeights, sameClass } from "../fixtures.js";
import { buildGraph, type BuildOp } from "../../builder/graph.js";
import { dropRoundTripsInsideFusions, foldAffineIntoConvolutionOrDense, fuseActivation, fuseResidualAdd, fuseRoundTrip, roundFoldedWeights } from "../../builder/passes.js";
import { addon } from "../../native/addon.js";
import { representableIn, roundedTo } from "../../precision/reduced-float.js";
import { floats, values } from "../outputs.js";

describe("rounding", () => {
  it("bfloat16: 8 significant bits, ties to even", () => {
    expect(roundToBfloat16(1 + 2 ** -8)).toBe(1); // halfway between 1 and 1 + 2^-7: to even (1)
    expect(roundToBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(roundToBfloat16(Math.PI)).toBe(3.140625);
  });
  it("float16: 11 significant bits, subnormals, overflow", () => {
    expect(roundToFloat16(1 + 2 ** -11)).toBe(1);
    expect(roundToFloat16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundToFloat16(2 ** -25 * 3)).toBe(2 ** -23); // 1.5 steps of 2^-24 → 2 steps (ties to even)
    expect(roundToFloat16(70000)).toBe(Infinity);
  });
  // The whole-array forms (weights) against the per-value ones: ties, the largest values (to ∞), subnormals, ±0,
  // ±∞, NaN, and random bit patterns.
  it.each(["bfloat16", "float16"] as const)("%s: roundedTo is the per-value rounding bit for bit; representableIn says whether rounding leaves every value equal", (dtype) => {
    const round = dtype === "bfloat16" ? roundToBfloat16 : roundToFloat16;
    const special = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, -(1 + 3 * 2 ** -11), 3.4028234663852886e38, -3.4e38, 65519, 70000, 2 ** -130, -(2 ** -149), 2 ** -25 * 3, 0, -0, Infinity, -Infinity, NaN];
    const bits = new Uint32Array(4096).map((_, i) => (Math.imul(i + 1, 2654435761) ^ (i << 7)) >>> 0);
    const values = Float32Array.from([...special, ...new Float32Array(bits.buffer)]);
    const rounded = roundedTo(values, dtype), expected = Float32Array.from(values, round);
    expect(Array.from(new Uint32Array(rounded.buffer))).toEqual(Array.from(new Uint32Array(expected.buffer)));
    expect(representableIn(expected.filter((v) => !Number.isNaN(v)), dtype)).toBe(true);
    expect(representableIn(Float32Array.of(1, 1 + 2 ** -11), dtype)).toBe(false);  // neither type's value (steps of 2^-7 and 2^-10 at 1)
    expect(representableIn(Float32Array.of(1, NaN), dtype)).toBe(false);
  });
});

describe("rounding fused into a convolution's epilogue", () => {
  const cases = (["bfloat16", "float16"] as const).flatMap((dtype) => ["pointwise_gemm", "implicit_gemm_k256", "direct_c16"].map((tactic) => [dtype, tactic] as const));
  it.each(cases)("%s, %s: each value as the TypeScript rounding gives it, exact ties included, in whole and partial tiles", async (dtype, tactic) => {
    // A 1×1 convolution with an identity kernel computes each input exactly; the round trip after it runs in the
    // GEMM's epilogue. Inputs: exact ties (the dropped bits exactly half a step) with even and odd kept bits, and
    // values just either side of them.
    const channels = 16, pixels = 64, dropped = dtype === "bfloat16" ? 16 : 13;
    const bits = new Uint32Array(channels * pixels);
    const half = 1 << (dropped - 1);
    for (let i = 0; i < bits.length; i++) {
      // Values in [1, 2) (float16's range too) whose kept bits end in 0 or 1 (i odd or even), then the dropped bits.
      const kept = ((0x3f80 + (i % 97)) << 16) + (dtype === "float16" ? (i % 8) << 13 : 0);
      bits[i] = kept + [half, half - 1, half + 1][i % 3]!;
    }
    const input = new Float32Array(bits.buffer);
    const net = new Network("round");
    const x = net.addInput("x", "float32", [1, channels, 8, 8]);
    const identity = Float32Array.from({ length: channels * channels }, (_, i) => (i % (channels + 1) === 0 ? 1 : 0));
    net.markOutput(x.addConvolution("c", { outChannels: channels, kernel: 1, bias: false, weights: { kernel: identity } }).addCast("narrow", { to: dtype }).addCast("wide", { to: "float32" }));
    const engine = await buildEngine(net, { tactics: { c: tactic } });
    expect(engine.inspect().layers.map((l) => l.fusedFrom.join("+"))).toEqual(["c+narrow+wide"]);
    const { wide } = await engine.createExecutionContext().execute({ x: input });
    const round = dtype === "bfloat16" ? roundToBfloat16 : roundToFloat16;
    expect(values(wide)).toEqual(Array.from(input, round));
  });
});

describe("rounding fused into a dense layer (applied to the stored rows)", () => {
  it.each(["bfloat16", "float16"] as const)("%s: each value as the TypeScript rounding gives it, exact ties included", async (dtype) => {
    // An identity dense layer over 259 values (whole vectors of 8 and a tail): ties with even and odd kept bits.
    const features = 259, dropped = dtype === "bfloat16" ? 16 : 13, half = 1 << (dropped - 1);
    const bits = Uint32Array.from({ length: features }, (_, i) => ((0x3f80 + (i % 97)) << 16) + (dtype === "float16" ? (i % 8) << 13 : 0) + [half, half - 1, half + 1][i % 3]!);
    const input = new Float32Array(bits.buffer);
    const net = new Network("round");
    const x = net.addInput("x", "float32", [3, features]);
    const identity = Float32Array.from({ length: features * features }, (_, i) => (i % (features + 1) === 0 ? 1 : 0));
    net.markOutput(x.addFullyConnected("fc", { outFeatures: features, bias: false, weights: { kernel: identity } }).addCast("narrow", { to: dtype }).addCast("wide", { to: "float32" }));
    const engine = await buildEngine(net);
    expect(engine.inspect().layers.map((l) => l.fusedFrom.join("+"))).toEqual(["fc+narrow+wide"]);
    const rows = new Float32Array(3 * features);
    for (let r = 0; r < 3; r++) rows.set(input, r * features);
    const { wide } = await engine.createExecutionContext().execute({ x: rows });
    const round = dtype === "bfloat16" ? roundToBfloat16 : roundToFloat16;
    expect(values(wide)).toEqual(Array.from(rows, round));
  });
});

describe("LeNet in reduced precision", () => {
  it.each([["bfloat16", 0.995], ["float16", 0.995]] as const)("%s: ≥ %d of the 2,000 digits classified as PyTorch does", async (dtype, bound) => {
    const io = await loadFixtureWeights("lenet_io.safetensors");
    const net = reducedFloat(defineLeNet(await loadFixtureWeights("lenet.safetensors")), dtype, { keepFloat: ["softmax", "log_softmax"] });
    expect(net.toJSON().layers.filter((l) => l.kind === "cast").length).toBe(2 * 7);
    const engine = await buildEngine(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [2000, 1, 28, 28], max: [2000, 1, 28, 28] } }] });
    const { prob } = await engine.createExecutionContext().execute({ data: { data: io.float32("input"), shape: [2000, 1, 28, 28] } });
    const agree = sameClass(floats(prob), io.get("output_fp64")!.data as Float64Array, 10);
    expect(agree / 2000).toBeGreaterThanOrEqual(bound);
  }, 60_000);
});

describe("16-bit storage between layers", () => {
  /** Builds `net` twice, with 16-bit storage and with NETDEF_HALF_STORAGE=0 (every tensor float32). */
  // Both in float32 arithmetic (NETDEF_BF16_DOT=0): bfloat16 products would change the order of the sums, and with
  // it the last bits, of the 16-bit engine only (they are tested below, against float32 arithmetic).
  async function bothStorages(net: Network, options: BuildOptions = {}) {
    process.env.NETDEF_BF16_DOT = "0";
    try {
      const packed = await buildEngine(net, options);
      process.env.NETDEF_HALF_STORAGE = "0";
      return { packed, float32: await buildEngine(net, options) };
    } finally {
      delete process.env.NETDEF_HALF_STORAGE;
      delete process.env.NETDEF_BF16_DOT;
    }
  }
  const bitwiseEqual = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(a.length).toBe(b.length);
    const bits = (v: ArrayLike<number>) => new Uint32Array(Float32Array.from(v as ArrayLike<number>).buffer);
    expect(bits(a)).toEqual(bits(b));
  };

  it.each([["bfloat16", "winograd_2x2_3x3"], ["bfloat16", "winograd_4x4_3x3"], ["float16", "winograd_2x2_3x3"], ["float16", "winograd_4x4_3x3"]] as const)("%s: holds the tensors between direct and Winograd (%s) convolutions and max pooling in 16 bits and computes exactly what float32 storage does", async (dtype, winograd) => {
    // Odd counts (5 channels of 11×13, batch 3): every image and channel plane starts mid-float in the packed buffer.
    const net = new Network("chain");
    const x = net.addInput("x", "float32", [-1, 5, 11, 13]);
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * 0.7) * 0.3);
    const a = x.addConvolution("a", { outChannels: 5, kernel: 3, padding: 1, weights: { kernel: w(5, 5, 3, 3), bias: w(5) } }).addActivation("a_relu", { type: "relu" });
    const b = a.addConvolution("b", { outChannels: 5, kernel: 3, padding: 1, weights: { kernel: w(5, 5, 3, 3), bias: w(5) } }).addElementWise("b_add", a, "sum").addActivation("b_relu", { type: "relu" });
    const pooled = b.addPooling("pool", { type: "max", window: 3, stride: 2, padding: 1 });
    const c = pooled.addConvolution("c", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 5, 3, 3), bias: w(16) } });
    const d = c.addConvolution("d", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 16, 3, 3), bias: w(16) } }).addElementWise("d_add", c, "sum").addActivation("d_relu", { type: "relu" });
    net.markOutput(d.addConvolution("e", { outChannels: 7, kernel: 3, stride: 2, weights: { kernel: w(7, 16, 3, 3), bias: w(7) } }), "y");
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype), { tactics: { d: winograd }, profiles: [{ x: { min: [1, 5, 11, 13], opt: [1, 5, 11, 13], max: [3, 5, 11, 13] } }] });
    expect(packed.inspect().layers.map((l) => l.tactic ?? l.kind)).toEqual(["direct_rows", "direct_rows", "pooling", "direct_rows", winograd, "direct_rows"]);
    // a's output (read by b as its input and its residual), b's (read by the pooling), the pooling's (read by c),
    // c's (read by d, Winograd, as input and residual) and d's (read by e); e's is the network's output.
    expect(packed.inspect().halfStorage[dtype]).toHaveLength(5);
    expect(packed.inspect().halfStorage[dtype === "bfloat16" ? "float16" : "bfloat16"]).toEqual([]);
    expect(float32.inspect().halfStorage).toEqual({ bfloat16: [], float16: [] });
    const input = { x: { data: Float32Array.from({ length: 3 * 5 * 143 }, (_, i) => Math.cos(i * 1.3)), shape: [3, 5, 11, 13] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
  });

  it.each(["bfloat16", "float16"] as const)("%s: 2×2 max pooling of stride 2 (LeNet's) on planar 16-bit tensors, odd sizes: exactly what float32 storage does", async (dtype) => {
    const net = new Network("pool2x2");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * 0.7) * 0.3);
    const a = net.addInput("x", "float32", [3, 5, 11, 21]).addConvolution("a", { outChannels: 6, kernel: 3, weights: { kernel: w(6, 5, 3, 3), bias: w(6) } }).addActivation("a.relu", { type: "relu" });
    const pooled = a.addPooling("pool", { type: "max", window: 2, stride: 2 });
    net.markOutput(pooled.addConvolution("b", { outChannels: 4, kernel: 3, weights: { kernel: w(4, 6, 3, 3), bias: w(4) } }), "y");
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype), { tactics: { a: "direct_rows", b: "direct_rows" } });
    expect(packed.inspect().halfStorage[dtype]).toEqual(["a.relu.float32", "pool.float32"]);
    const input = { x: { data: Float32Array.from({ length: 3 * 5 * 11 * 21 }, (_, i) => Math.cos(i * 1.3)), shape: [3, 5, 11, 21] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
    expect(new Set(floats(p.y)).size).toBeGreaterThan(20);
  });

  it.each(["bfloat16", "float16"] as const)("%s: subnormals, overflow to infinity and NaN survive the 16-bit storage exactly", async (dtype) => {
    // A 1×1 convolution copying one channel into six (a GEMM: whole 6 × 16 tiles, finished and narrowed in
    // registers) stores its rounded output in 16 bits; a 1×1 max pooling reads it back; so the network computes
    // round(x) six times over — checked against the TypeScript rounding, value by value. (No layer mixes channels:
    // a 0 weight times an infinity would make NaNs.)
    const net = new Network("identity");
    const x = net.addInput("x", "float32", [1, 1, 12, 20]);
    const copied = x.addConvolution("copy", { outChannels: 6, kernel: 1, bias: false, weights: { kernel: new Float32Array(6).fill(1) } });
    net.markOutput(copied.addPooling("read", { type: "max", window: 1 }), "y");
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype), { tactics: { copy: "pointwise_gemm" } });
    expect(packed.inspect().halfStorage[dtype]).toHaveLength(1);
    // Powers of two from 2^-30 to 2^20 (float16's subnormals begin at 2^-14 and end at 2^-24, its range at 65504),
    // with mantissas that need rounding, both signs, and a NaN.
    const values = Array.from({ length: 240 }, (_, i) => (i % 2 ? -1 : 1) * 2 ** ((i % 51) - 30) * (1 + (i % 13) / 13));
    values[7] = NaN;
    const input = { x: Float32Array.from(values) };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
    const round = dtype === "bfloat16" ? roundToBfloat16 : roundToFloat16;
    const rounded = Array.from(Float32Array.from(values), round);
    expect(Array.from(p.y!.data as Float32Array)).toEqual(Array.from({ length: 6 }, () => rounded).flat());
  });

  it.each(["bfloat16", "float16"] as const)("LeNet in %s: the dense layer reads its input from 16-bit storage, the output bit for bit that of float32 storage", async (dtype) => {
    const io = await loadFixtureWeights("lenet_io.safetensors");
    const net = reducedFloat(defineLeNet(await loadFixtureWeights("lenet.safetensors")), dtype);
    const { packed, float32 } = await bothStorages(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [64, 1, 28, 28], max: [64, 1, 28, 28] } }] });
    expect(packed.inspect().halfStorage[dtype]).toEqual(["conv1.float32", "pool1.float32", "conv2.float32", "pool2.float32"]);
    for (const batch of [1, 64]) {  // the 16-bit-weight dot products at batch 1, the GEMM at 64
      const input = { data: { data: io.float32("input").slice(0, batch * 784), shape: [batch, 1, 28, 28] } };
      const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
      bitwiseEqual(p.prob!.data as Float32Array, f.prob!.data as Float32Array);
    }
  });

  it.each(["bfloat16", "float16"] as const)("%s: GEMM, depthwise and staged convolutions read and write 16-bit storage and compute exactly what float32 storage does", async (dtype) => {
    // Batch 3, 13 channels (a group of 8 and one of 5 for the depthwise loops), 9×11 maps (partial GEMM tiles);
    // every layer's output but the last is read only by layers that take 16-bit storage.
    const net = new Network("mixed");
    const x = net.addInput("x", "float32", [-1, 4, 9, 11]);
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * 0.37 + shape.length) * 0.4);
    const conv = (input: typeof x, name: string, out: number, inChannels: number, options: { kernel?: number; stride?: number; padding?: number; groups?: number } = {}) => {
      const kernel = options.kernel ?? 1, groups = options.groups ?? 1;
      return input.addConvolution(name, { outChannels: out, kernel, stride: options.stride ?? 1, padding: options.padding ?? 0, groups, weights: { kernel: w(out, inChannels / groups, kernel, kernel), bias: w(out) } });
    };
    const expand = conv(x, "expand", 13, 4).addActivation("expand_relu6", { type: "clip", alpha: 0, beta: 6 });             // 1×1 GEMM
    const dw = conv(expand, "dw", 13, 13, { kernel: 3, padding: 1, groups: 13 }).addActivation("dw_relu6", { type: "clip", alpha: 0, beta: 6 });  // depthwise, finished in registers
    const dwSum = conv(dw, "dw_res", 13, 13, { kernel: 3, padding: 1, groups: 13 }).addElementWise("dw_add", dw, "sum");  // depthwise + residual, finished on planes
    const project = conv(dwSum, "project", 13, 13).addElementWise("project_add", dwSum, "sum");                            // 1×1 GEMM + residual
    const staged = conv(project, "staged", 13, 13, { kernel: 3, padding: 1 }).addActivation("staged_act", { type: "hard_sigmoid", alpha: 0.2, beta: 0.5 });  // direct, activation on stored values
    const long = conv(staged, "long", 300, 13, { kernel: 3, padding: 1 });                                                   // implicit GEMM, 117 sums
    const wide = conv(long, "wide", 7, 300);                                                                                  // 1×1 GEMM over 300 channels: two K blocks
    const strided = conv(wide, "strided", 7, 7, { kernel: 3, stride: 2, padding: 1, groups: 7 });                          // depthwise, stride 2
    net.markOutput(strided.addActivation("out", { type: "relu" }), "y");
    const tactics = { expand: "pointwise_gemm", project: "pointwise_gemm", staged: "direct_c16", long: "implicit_gemm_k128", wide: "pointwise_gemm" };
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype), { tactics, profiles: [{ x: { min: [1, 4, 9, 11], opt: [3, 4, 9, 11], max: [3, 4, 9, 11] } }] });
    expect(packed.inspect().layers.map((l) => l.tactic ?? l.kind)).toEqual(["pointwise_gemm", "convolution", "convolution", "pointwise_gemm", "direct_c16", "implicit_gemm_k128", "pointwise_gemm", "convolution"]);
    expect(packed.inspect().halfStorage[dtype]).toHaveLength(7);
    const input = { x: { data: Float32Array.from({ length: 3 * 4 * 99 }, (_, i) => Math.cos(i * 1.7) * 3), shape: [3, 4, 9, 11] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
    expect(new Set(floats(p.y)).size).toBeGreaterThan(20);  // not a constant output
  });

  it.each(["bfloat16", "float16"] as const)("%s ResNet-style blocks on blocked tensors (3×3 windows, max pooling, a residual) compute exactly what float32 storage does", async (dtype) => {
    const net = new Network("resnet-style");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * 0.37 + shape.length) * 0.2);
    const conv = (x: Tensor, name: string, out: number, stride = 1) =>
      x.addConvolution(name, { outChannels: out, kernel: 3, stride, padding: 1, weights: { kernel: w(out, x.shape[1]!, 3, 3), bias: w(out) } });
    const stem = net.addInput("x", "float32", [2, 3, 23, 21]).addConvolution("stem", { outChannels: 16, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(16, 3, 3, 3), bias: w(16) } })
      .addActivation("stem.relu", { type: "relu" }).addPooling("pool", { type: "max", window: 3, stride: 2, padding: 1 });
    const a = conv(stem, "a", 24).addActivation("a.relu", { type: "relu" });
    const b = conv(a, "b", 24).addElementWise("b.add", a, "sum").addActivation("b.relu", { type: "relu" });
    net.markOutput(conv(b, "c", 32, 2).addActivation("y", { type: "relu" }), "y");
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype));
    expect(packed.inspect().channelBlocked.layers).toEqual(["stem", "pool", "a", "b", "c"]);
    expect(packed.inspect().halfStorage[dtype]!.length).toBeGreaterThanOrEqual(4);
    const input = { x: { data: Float32Array.from({ length: 2 * 3 * 23 * 21 }, (_, i) => Math.cos(i * 1.3) * 2), shape: [2, 3, 23, 21] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
    expect(new Set(floats(p.y)).size).toBeGreaterThan(20);
  });

  // The blocked Winograd kernel widens a 16-bit input tile by tile and rounds its finished output as the direct
  // kernels do (bfloat16 without VDPBF16PS here: with it, bfloat16 pairs run direct).
  it.each(["bfloat16", "float16"] as const)("%s blocked Winograd F(4×4) and F(2×2) (edge tiles, a residual) compute exactly what float32 storage does", async (dtype) => {
    const net = new Network("winograd");
    const w = (...shape: number[]) => Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * 0.37 + shape.length) * 0.2);
    const conv = (x: Tensor, name: string, out: number) => x.addConvolution(name, { outChannels: out, kernel: 3, padding: 1, weights: { kernel: w(out, x.shape[1]!, 3, 3), bias: w(out) } });
    const a = net.addInput("x", "float32", [2, 8, 11, 9]).addConvolution("a", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 8, 1, 1), bias: w(16) } }).addActivation("a.relu", { type: "relu" });
    const b = conv(a, "b", 16).addActivation("b.relu", { type: "relu" });
    const c = conv(b, "c", 16).addElementWise("c.add", b, "sum").addActivation("c.relu", { type: "relu" });
    net.markOutput(c.addConvolution("y", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 16, 1, 1), bias: w(8) } }), "y");
    const { packed, float32 } = await bothStorages(reducedFloat(net, dtype), { tactics: { b: "winograd_4x4_3x3", c: "winograd_2x2_3x3" } });
    expect(packed.inspect().channelBlocked.layers).toEqual(["a", "b", "c", "y"]);
    expect(packed.inspect().halfStorage[dtype]).toEqual(["a.relu.float32", "b.relu.float32", "c.relu.float32"]);
    const input = { x: { data: Float32Array.from({ length: 2 * 8 * 11 * 9 }, (_, i) => Math.cos(i * 1.3) * 2), shape: [2, 8, 11, 9] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    bitwiseEqual(p.y!.data as Float32Array, f.y!.data as Float32Array);
    expect(new Set(floats(p.y)).size).toBeGreaterThan(20);
  });

  const mobileNetCases = (["bfloat16", "float16"] as const).flatMap((dtype) => [["blocked", "1"], ["planar", "0"]].map(([layout, flag]) => [dtype, layout!, flag!] as const));
  it.each(mobileNetCases)("MobileNetV2 in %s, %s tensors: every tensor between layers in 16 bits, the output bit for bit that of float32 storage", async (dtype, layout, flag) => {
    const { defineMobileNetV2 } = await import("../../models/mobilenet-v2.js");
    const net = reducedFloat(defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors")), dtype);
    process.env.NETDEF_CHANNEL_BLOCKED = flag;
    const { packed, float32 } = await bothStorages(net, { profiles: [{ input: { min: [1, 3, 224, 224], opt: [2, 3, 224, 224], max: [2, 3, 224, 224] } }] }).finally(() => delete process.env.NETDEF_CHANNEL_BLOCKED);
    expect(packed.inspect().channelBlocked.tensors).toHaveLength(layout === "blocked" ? 52 : 0);
    // Every tensor between layers: the 52 convolutions' outputs (the last one read by the global pooling) and the
    // rounded pooled features the classifier reads.
    expect(packed.inspect().halfStorage[dtype]).toHaveLength(53);
    expect(packed.inspect().halfStorage[dtype]).toContain("features.2.conv.0.relu6.float32");
    // Memory counts them at 2 bytes a value; the input image, the pooled features (before their rounding) and the
    // output stay float32. Planar, the peak (an expansion at 112×112 and the depthwise output computed from it, 96
    // channels at 56×56) halves; blocked, the chains are fused (the expansions never allocated) and the peak is the
    // first block's output beside the input image, which its chain (stem, depthwise, projection as one) keeps.
    const [held, wide] = [packed.inspect().memory, float32.inspect().memory];
    const image = 2 * 3 * 224 * 224 * 4;
    expect(held.peakBytes).toBe(layout === "blocked" ? image + (wide.peakBytes - image) / 2 : wide.peakBytes / 2);
    expect(wide.peakBytes).toBe(layout === "blocked" ? image + 2 * 16 * 112 * 112 * 4 : 2 * (96 * 112 * 112 + 96 * 56 * 56) * 4);
    expect(held.naiveBytes).toBe(wide.naiveBytes / 2 + (2 * 3 * 224 * 224 + 2 * 1280 + 2 * 1000) * 2);
    const input = { input: { data: Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.01)), shape: [2, 3, 224, 224] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    const output = Object.keys(p)[0]!;
    bitwiseEqual(p[output]!.data as Float32Array, f[output]!.data as Float32Array);
  }, 60_000);

  it.each(["bfloat16", "float16"] as const)("YOLO block in %s: Mish chains, max pooling, concatenations and a nearest upsampling in 16-bit storage, the output bit for bit that of float32 storage", async (dtype) => {
    const { defineYoloBlock } = await import("../../models/yolo-block.js");
    const net = reducedFloat(defineYoloBlock(await loadFixtureWeights("yolo_block.safetensors")), dtype);
    const { packed, float32 } = await bothStorages(net, { profiles: [{ input: { min: [1, 3, 64, 64], opt: [2, 3, 64, 64], max: [2, 3, 64, 64] } }] });
    // Every tensor between layers: the chains' inputs and outputs (the Mish's product reads the convolution's output
    // as its other operand), the poolings', both concatenations' and the upsampling's.
    expect(packed.inspect().halfStorage[dtype]).toEqual(["stem.bn.float32", "stem.mish.float32", "down.bn.float32", "down.mish.float32", "spp.pool5.float32", "spp.pool9.float32",
      "spp.pool13.float32", "spp.float32", "reduce.bn.float32", "reduce.mish.float32", "up.float32", "head.cat.float32"]);
    const io = await loadFixtureWeights("yolo_block_io.safetensors");
    const input = { input: { data: io.float32("input"), shape: [...io.get("input")!.shape] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    const output = Object.keys(p)[0]!;
    bitwiseEqual(p[output]!.data as Float32Array, f[output]!.data as Float32Array);
  });

  it("ResNet-18 in bfloat16: all 19 tensors between its layers in bfloat16 storage, the output bit for bit that of float32 storage", async () => {
    const { defineResNet18, randomWeights } = await import("../../models/resnet18.js");
    const net = reducedFloat(defineResNet18(randomWeights(defineResNet18())), "bfloat16");
    const { packed, float32 } = await bothStorages(net, { profiles: [{ input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }] });
    // Through the last block's output, read by the global average pooling, and the rounded pooled features; the
    // tensors into and out of the 1×1 downsampling convolutions too (implicit GEMMs by the rules, widening their
    // panels as they pack them).
    expect(packed.inspect().halfStorage.bfloat16.length).toBe(19);
    expect(packed.inspect().halfStorage.bfloat16).toContain("layer4.1.relu2.float32");
    expect(packed.inspect().halfStorage.bfloat16).toContain("layer2.0.relu2.float32");
    expect(packed.inspect().halfStorage.bfloat16).toContain("maxpool.float32");
    const input = { input: { data: Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i)), shape: [1, 3, 224, 224] } };
    const [p, f] = [await packed.createExecutionContext().execute(input), await float32.createExecutionContext().execute(input)];
    const output = Object.keys(p)[0]!;
    bitwiseEqual(p[output]!.data as Float32Array, f[output]!.data as Float32Array);
  }, 60_000);
});

describe.skipIf(!addon().cpuFeatures().includes("avx512bf16"))("bfloat16 products (AVX-512 BF16)", () => {
  /**
   * A bfloat16 network with every GEMM path: a 1×1 layer over an odd channel count (a last pair half empty), with a
   * folded BatchNorm (its weights rounded back to bfloat16) and a residual; a 3×3 implicit GEMM whose sum (44
   * channels × 9 = 198 pairs) takes two K blocks of 128 pairs into a 16-bit output; a strided one, the output (in
   * float32); batch 3 of odd-sized maps (partial panels). Winograd stays in float32 arithmetic: its transformed
   * values are not bfloat16 values, and rounded to it they erred by 1 % (F(2×2)) and 10 % (F(4×4)) of the range.
   */
  function network(keepFloat: string[] = []): Network {
    const net = new Network("pairs");
    const w = (seed: number, ...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.61 + seed) * 0.25);
    const x = net.addInput("x", "float32", [-1, 8, 13, 11]);
    const stem = x.addConvolution("stem", { outChannels: 7, kernel: 3, padding: 1, weights: { kernel: w(1, 7, 8, 3, 3), bias: w(2, 7) } }).addActivation("stem_relu", { type: "relu" });
    const point = stem.addConvolution("point", { outChannels: 7, kernel: 1, bias: false, weights: { kernel: w(3, 7, 7, 1, 1) } })
      .addBatchNorm("point_bn", { weights: { weight: w(4, 7).map((v) => v + 1), bias: w(5, 7), mean: w(6, 7), variance: w(7, 7).map((v) => v * v + 0.5) } })
      .addElementWise("point_add", stem, "sum").addActivation("point_relu", { type: "relu" });
    const wide = point.addConvolution("wide", { outChannels: 44, kernel: 1, weights: { kernel: w(8, 44, 7, 1, 1), bias: w(9, 44) } }).addActivation("wide_relu", { type: "relu" });
    const deep = wide.addConvolution("deep", { outChannels: 20, kernel: 3, padding: 1, weights: { kernel: w(10, 20, 44, 3, 3), bias: w(11, 20) } }).addActivation("deep_relu", { type: "relu" });
    net.markOutput(deep.addConvolution("strided", { outChannels: 24, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(12, 24, 20, 3, 3), bias: w(13, 24) } }), "y");
    return reducedFloat(net, "bfloat16", { keepFloat });
  }
  const tactics = { point: "pointwise_gemm", wide: "pointwise_gemm", deep: "implicit_gemm_k128", strided: "implicit_gemm_k256" };
  const shape = [3, 8, 13, 11];
  const input = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 0.37));
  async function outputs(dot: boolean): Promise<Float32Array> {
    process.env.NETDEF_BF16_DOT = dot ? "1" : "0";  // 1: even where the CPU's bfloat16 products are the slower
    try {
      const engine = await buildEngine(network(), { tactics, profiles: [{ x: { min: [1, 8, 13, 11], opt: shape, max: shape } }] });
      // The stem reads the float32 network input: float32 products.
      expect(engine.inspect().bfloat16Products).toEqual(dot ? ["point", "wide", "deep", "strided"] : []);
      return (await engine.createExecutionContext().execute({ x: { data: input, shape } })).y!.data as Float32Array;
    } finally {
      delete process.env.NETDEF_BF16_DOT;
    }
  }

  it("compute what float32 arithmetic on the same bfloat16 values does, within a bfloat16 step of the output's range", async () => {
    const [pairs, float32] = [await outputs(true), await outputs(false)];
    const range = float32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const worst = pairs.reduce((m, v, i) => Math.max(m, Math.abs(v - float32[i]!)), 0) / range;
    // Only the order of the sums differs (each product of two bfloat16 values is exact in float32); each layer's
    // output is rounded to bfloat16 (steps of 2^-8 relative), so a different last bit of a sum may move a value
    // one step, and the layers after it carry that on. Measured: 4.9e-8 (no step moved).
    expect(worst).toBeLessThan(2 ** -8);
    // The bfloat16 kernels ran: their sums are in another order, so some of the (float32) outputs differ in the last bits.
    expect(pairs.some((v, i) => v !== float32[i])).toBe(true);
  });

  /** A network's output with bfloat16 products (NETDEF_BF16_DOT=1: even where the CPU's are the slower; read as kernels
   *  are made) within a bfloat16 step of the output's range of float32 products (=0), and not all equal to it (the
   *  pairs ran: their sums in another order). */
  async function expectPairsNearFloat32(outputs: (dot: boolean) => Promise<Float32Array>) {
    const withProducts = async (dot: boolean) => {
      process.env.NETDEF_BF16_DOT = dot ? "1" : "0";
      try {
        return await outputs(dot);
      } finally {
        delete process.env.NETDEF_BF16_DOT;
      }
    };
    const [pairs, float32] = [await withProducts(true), await withProducts(false)];
    const range = float32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(pairs.reduce((m, v, i) => Math.max(m, Math.abs(v - float32[i]!)), 0) / range).toBeLessThan(2 ** -8);
    expect(pairs.some((v, i) => v !== float32[i])).toBe(true);
  }

  it.each([[1, "each layer on its own"], [2, "the depthwise layer and expansion computed inside the projection"]] as const)(
    "channel-blocked 1×1s multiply blocked bfloat16 inputs in pairs, at batch %d (%s), within a bfloat16 step of float32 products", async (batch, _how) => {
    // expand (planar float32 input: float32 products) → depthwise → project → widen, all blocked but the output.
    const net = new Network("blocked pairs");
    const w = (seed: number, ...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.61 + seed) * 0.25);
    const x = net.addInput("x", "float32", [-1, 16, 9, 7]);
    const clip6 = { type: "clip", alpha: 0, beta: 6 } as const;
    const expand = x.addConvolution("expand", { outChannels: 40, kernel: 1, weights: { kernel: w(1, 40, 16, 1, 1), bias: w(2, 40) } }).addActivation("expand_relu6", clip6);
    const depthwise = expand.addConvolution("depthwise", { outChannels: 40, kernel: 3, groups: 40, padding: 1, weights: { kernel: w(3, 40, 1, 3, 3), bias: w(4, 40) } }).addActivation("depthwise_relu6", clip6);
    const project = depthwise.addConvolution("project", { outChannels: 24, kernel: 1, weights: { kernel: w(5, 24, 40, 1, 1), bias: w(6, 24) } });
    net.markOutput(project.addConvolution("widen", { outChannels: 20, kernel: 1, weights: { kernel: w(7, 20, 24, 1, 1), bias: w(8, 20) } }).addActivation("widen_relu", { type: "relu" }), "y");
    const shape = [batch, 16, 9, 7];
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 0.37) * 2);
    await expectPairsNearFloat32(async (dot) => {
      const engine = await buildEngine(reducedFloat(net, "bfloat16"), { profiles: [{ x: { min: shape, opt: shape, max: shape } }] });
      expect(engine.inspect().channelBlocked.layers).toEqual(["expand", "depthwise", "project", "widen"]);
      expect(engine.inspect().bfloat16Products).toEqual(dot ? ["project", "widen"] : []);
      const { y, profile } = await engine.createExecutionContext().execute({ x: { data, shape } }, { profile: true });
      expect(profile.find((l) => l.layer === "depthwise")!.milliseconds === 0).toBe(batch > 1);  // fused at batch 2
      return y!.data as Float32Array;
    });
  });

  it("channel-blocked windows multiply blocked bfloat16 inputs in pairs (3×3 at strides 1 and 2, 1×1 at stride 2), within a bfloat16 step of float32 products", async () => {
    const net = new Network("blocked window pairs");
    const w = (seed: number, ...shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.61 + seed) * 0.2);
    const conv = (x: Tensor, name: string, out: number, kernel: number, stride: number, seed: number) =>
      x.addConvolution(name, { outChannels: out, kernel, stride, padding: (kernel - 1) >> 1, weights: { kernel: w(seed, out, x.shape[1]!, kernel, kernel), bias: w(seed + 1, out) } });
    const stem = conv(net.addInput("x", "float32", [2, 16, 19, 17]), "stem", 16, 3, 1, 1).addActivation("stem_relu", { type: "relu" });  // float32 input: float32 products
    const a = conv(stem, "a", 48, 3, 1, 3).addActivation("a_relu", { type: "relu" });      // 16 → 48: a pair of panels and one alone
    const b = conv(a, "b", 32, 3, 2, 5).addActivation("b_relu", { type: "relu" });         // stride 2
    const c = conv(b, "c", 32, 3, 1, 7).addElementWise("c_add", b, "sum");                   // a bfloat16 residual
    const d = conv(c, "d", 24, 1, 2, 9);                                                     // 1×1 at stride 2, 24 channels: float32 products
    net.markOutput(d.addConvolution("e", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(11, 16, 24, 3, 3), bias: w(12, 16) } }), "y");
    const shape = [2, 16, 19, 17];
    const data = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => Math.cos(i * 0.37) * 2);
    await expectPairsNearFloat32(async (dot) => {
      const engine = await buildEngine(reducedFloat(net, "bfloat16"), { tactics: { c: "winograd_4x4_3x3" } });
      expect(engine.inspect().channelBlocked.layers).toEqual(["stem", "a", "b", "c", "d", "e"]);
      expect(engine.inspect().bfloat16Products).toEqual(dot ? ["a", "b", "c", "e"] : []);
      // A Winograd tactic on bfloat16 pairs runs them direct (no Winograd kernel is built); without them, Winograd.
      expect(engine.inspect().layers.find((l) => l.name === "c")!.kernel).toBe(dot ? "blocked_direct" : "blocked_winograd_4x4_3x3");
      return (await engine.createExecutionContext().execute({ x: { data, shape } })).y!.data as Float32Array;
    });
  });

  it("inspect() lists the layers that multiply in bfloat16, after a refit too", async () => {
    const net = network();
    process.env.NETDEF_BF16_DOT = "1";  // read as kernels are made, by the refit too
    try {
      const engine = await buildEngine(net, { tactics, profiles: [{ x: { min: shape, opt: shape, max: shape } }] });
      expect(engine.inspect().bfloat16Products).toEqual(["point", "wide", "deep", "strided"]);
      // New weights for `wide` that are not bfloat16 values: it multiplies in float32 from then on.
      const kernel = net.weights.get("wide.kernel")!;
      await refit(engine, new WeightStore([["wide.kernel", { ...kernel, data: Float32Array.from({ length: 44 * 7 }, (_, i) => 0.1 + i * 1e-5) }]]));
      expect(engine.inspect().bfloat16Products).toEqual(["point", "deep", "strided"]);
    } finally {
      delete process.env.NETDEF_BF16_DOT;
    }
  });

  it("hold a folded BatchNorm's weights in bfloat16, and leave layers kept in float32 alone", async () => {
    const engine = await buildEngine(network(), { tactics, profiles: [{ x: { min: shape, opt: shape, max: shape } }] });
    expect(engine.inspect().layers.find((l) => l.name === "point")!.fusedFrom).toContain("point_bn");
    const folded = (keepFloat: string[]) => {
      const net = network(keepFloat), graph = buildGraph(net.toJSON(), net.weights);
      for (const pass of [dropRoundTripsInsideFusions, foldAffineIntoConvolutionOrDense, fuseResidualAdd, fuseActivation, fuseRoundTrip]) pass(graph);
      const kernel = () => Array.from((graph.ops.find((o) => o.name === "point") as BuildOp<"convolution">).weights.kernel!);
      const before = kernel();
      roundFoldedWeights(graph);
      return { before, after: kernel() };
    };
    const bfloat16 = (values: number[]) => values.every((v) => roundToBfloat16(v) === v);
    const reduced = folded([]);
    expect(bfloat16(reduced.before)).toBe(false);  // folding made them float32
    expect(reduced.after).toEqual(reduced.before.map(roundToBfloat16));
    const kept = folded(["point", "point_bn"]);
    expect(bfloat16(kept.before)).toBe(false);
    expect(kept.after).toEqual(kept.before);
  });
});
