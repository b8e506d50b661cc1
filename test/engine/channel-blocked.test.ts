// Channel-blocked tensors (NCHW8c) between 1×1 convolutions, stems, depthwise ones and global pooling: which tensors the
// engine blocks, and every blocked kernel against onnxruntime (CPU) on the ONNX export, |builtin − onnxruntime| ≤
// 1e-5·max|onnxruntime| + 1e-6 (the oracle's tolerance): blocked and planar inputs and outputs of the 1×1 kernel,
// a residual in either layout, panels of 16 and of 8 channels, pixel counts off the tile size, batches of 1 and 3.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { afterEach, describe, expect, it } from "vitest";
import { buildEngine, Engine, exportOnnx, Network, reducedFloat, refit, roundToBfloat16, roundToFloat16, type Outputs, type Tensor } from "netdef";
import { random } from "../weights/fuzz.js";
import { agreement } from "../onnx/oracle.js";
import { floats, values } from "../outputs.js";

const clip6 = { type: "clip", alpha: 0, beta: 6 } as const;
const run = promisify(execFile);

/** An inverted-residual stack: expand, depthwise, project, in the layouts named beside each tensor below. */
function stack(x: Tensor, w: (...shape: number[]) => Float32Array, pooling: "avg" | "max" | "min" | "sum" = "avg"): Tensor[] {
  const channels = x.shape[1]!;
  const e1 = x.addConvolution("e1", { outChannels: 40, kernel: 1, weights: { kernel: w(40, channels, 1, 1), bias: w(40) } }).addActivation("e1.relu6", clip6);  // planar in, blocked out (40: panels of 16, 16, 8)
  const d1 = e1.addConvolution("d1", { outChannels: 40, kernel: 3, groups: 40, padding: 1, weights: { kernel: w(40, 1, 3, 3), bias: w(40) } }).addActivation("d1.relu", { type: "relu" });
  // The residual is the network's (planar) input: p1 reads blocked and writes planar.
  const p1 = d1.addConvolution("p1", { outChannels: channels, kernel: 1, weights: { kernel: w(channels, 40, 1, 1), bias: w(channels) } }).addElementWise("p1.add", x, "sum");
  const e2 = p1.addConvolution("e2", { outChannels: 48, kernel: 1, weights: { kernel: w(48, channels, 1, 1), bias: w(48) } }).addActivation("e2.relu6", clip6);
  // A network output: d2 writes planar from a blocked input, p2 reads planar and writes blocked.
  const d2 = e2.addConvolution("d2", { outChannels: 48, kernel: 3, groups: 48, stride: 2, padding: 1, weights: { kernel: w(48, 1, 3, 3), bias: w(48) } }).addActivation("d2.relu6", clip6);
  const p2 = d2.addConvolution("p2", { outChannels: 16, kernel: 1, bias: false, weights: { kernel: w(16, 48, 1, 1) } });
  const e3 = p2.addConvolution("e3", { outChannels: 32, kernel: 1, weights: { kernel: w(32, 16, 1, 1), bias: w(32) } }).addActivation("e3.relu", { type: "relu" });
  const d3 = e3.addConvolution("d3", { outChannels: 32, kernel: 3, groups: 32, padding: 1, weights: { kernel: w(32, 1, 3, 3), bias: w(32) } }).addActivation("d3.relu6", clip6);
  // Both blocked unless p3 is a network output: the residual and the output of p3, then global average pooling.
  const p3 = d3.addConvolution("p3", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 32, 1, 1), bias: w(16) } }).addElementWise("p3.add", p2, "sum");
  return [p3.addReduce("pool", { op: pooling, axes: [2, 3] }), d2, p3];
}

/** Seeded random weights of a shape (w) and inputs in [-1, 1) (input). */
function sampler(seed: number) {
  const rand = random(seed);
  const values = (shape: readonly number[], scale: number) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * scale);
  return { w: (...shape: number[]) => values(shape, 0.5), input: (shape: readonly number[]) => values(shape, 1) };
}

/** The stack on input x of `shape`, its three tensors marked out0…out2. */
function stackNetwork(shape: number[], w: (...shape: number[]) => Float32Array): Network {
  const net = new Network("blocked");
  stack(net.addInput("x", "float32", shape), w).forEach((t, i) => net.markOutput(t, `out${i}`));
  return net;
}

/** Each named output of the builtin engine within the oracle's tolerance of onnxruntime's on the same input x. */
async function expectOnnxruntimeAgrees(net: Network, data: Float32Array, shape: number[], builtin: Outputs,
                                       names = ["out0"], session?: ort.InferenceSession) {
  const reference = await (session ?? await ort.InferenceSession.create(await exportOnnx(net))).run({ x: new ort.Tensor("float32", data, shape) });
  for (const name of names) {
    const r = agreement(builtin[name]!, reference[name]!);
    expect(r.sameShape).toBe(true);
    expect(r.ratio).toBeLessThanOrEqual(1);
  }
}

async function compare(shape: number[], seed: number) {
  const { w, input } = sampler(seed);
  const net = stackNetwork(shape, w);
  const data = input(shape);
  const engine = await buildEngine(net);
  const builtin = await engine.createExecutionContext().execute({ x: data });
  return { engine, check: () => expectOnnxruntimeAgrees(net, data, shape, builtin, ["out0", "out1", "out2"]) };
}

describe("channel-blocked tensors", () => {
  afterEach(() => {
    delete process.env.NETDEF_CHANNEL_BLOCKED;
    delete process.env.NETDEF_FUSE_PRODUCERS;
  });

  // 9×7 = 63 pixels (tiles of 6 and a tile of 3), 5×4 after the stride; 7×7 at batch 1 splits the panels between
  // work items (few pixels).
  for (const shape of [[3, 24, 9, 7], [1, 24, 7, 7], [2, 8, 13, 11]]) {
    it(`an inverted-residual stack on ${shape.join("×")}: the blocked kernels against onnxruntime`, async () => {
      const { engine, check } = await compare(shape, 7);
      // Not the network's outputs (d2.relu6, p3.add), nor what must be laid out as them: p1.add (its residual is the
      // input) and p2 (the residual of p3, an output).
      expect(engine.inspect().channelBlocked).toEqual({ tensors: ["e1.relu6", "d1.relu", "e2.relu6", "e3.relu", "d3.relu6"], layers: ["e1", "d1", "p1", "e2", "d2", "e3", "d3", "p3"] });
      await check();
    });
  }

  for (const pooling of ["avg", "max", "min", "sum"] as const) {
    it(`the blocked residual and global ${pooling} pooling: p3 and its pooling blocked once p3 is no network output`, async () => {
      const { w, input } = sampler(3);
      const net = new Network("blocked");
      const shape = [2, 16, 10, 9];
      const [pooled] = stack(net.addInput("x", "float32", shape), w, pooling);
      net.markOutput(pooled!, "out0");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors).toEqual(["e1.relu6", "d1.relu", "e2.relu6", "d2.relu6", "p2", "e3.relu", "d3.relu6", "p3.add"]);
      const builtin = await engine.createExecutionContext().execute({ x: data });
      await expectOnnxruntimeAgrees(net, data, shape, builtin);
    });
  }

  // The blocked kernels' epilogues take any vectorised activation, and a squeeze-excitation scale (a broadcast product
  // by one value per channel) runs on the blocked tensor: stem, depthwise (inside the 1×1 after it, or alone), 1×1,
  // 3×3 windows, the scale, each with the activation under test.
  const gated = ["silu", "sigmoid", "hardswish", "mish", "gelu_tanh", "elu"] as const;
  for (const [type, fuse] of gated.flatMap((t) => ["1", "0"].map((f) => [t, f] as const))) {
    it(`${type} in the blocked epilogues and a blocked squeeze-excitation scale (NETDEF_FUSE_PRODUCERS=${fuse}): against onnxruntime`, async () => {
      process.env.NETDEF_FUSE_PRODUCERS = fuse;
      const { w, input } = sampler(11);
      const shape = [2, 16, 9, 7];
      const net = new Network("gated");
      const act = (t: Tensor, name: string) => t.addActivation(`${name}.act`, { type });
      const conv = (t: Tensor, name: string, out: number, kernel: number, groups = 1) =>
        act(t.addConvolution(name, { outChannels: out, kernel, groups, padding: (kernel - 1) / 2, weights: { kernel: w(out, t.shape[1]! / groups, kernel, kernel), bias: w(out) } }), name);
      const stem = conv(net.addInput("x", "float32", shape), "stem", 24, 3);
      const features = conv(conv(conv(stem, "dw", 24, 3, 24), "pw", 32, 1), "window", 32, 3);
      const squeezed = conv(features.addReduce("pool", { op: "avg", axes: [2, 3], keepDims: true }), "fc1", 8, 1);
      const gate = squeezed.addConvolution("fc2", { outChannels: 32, kernel: 1, weights: { kernel: w(32, 8, 1, 1), bias: w(32) } }).addActivation("fc2.sigmoid", { type: "sigmoid" });
      const scaled = features.addElementWise("scale", gate, "prod");
      net.markOutput(scaled.addConvolution("project", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 32, 1, 1), bias: w(16) } }), "out0");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors).toEqual(expect.arrayContaining(["stem.act", "pw.act", "window.act", "scale"]));
      await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }));
      // In bfloat16 (blocked tensors in 16 bits, the 1×1 and 3×3 layers in bfloat16 pairs where the CPU has them):
      // the same values as the planar engine, whose float32 sums round to the same bfloat16 values but for the
      // order of the sums (a value one bfloat16 step off moves what follows by as much).
      const bf16 = (await buildEngine(reducedFloat(net, "bfloat16"))).serialize();
      const blocked = await Engine.deserialize(bf16), planar = await Engine.deserialize(bf16, { channelBlocked: false });
      expect(blocked.is("builtin") && blocked.inspect().channelBlocked.tensors).toEqual(expect.arrayContaining(["stem.act.float32", "pw.act.float32"]));
      const outputOf = async (e: Engine) => values((await e.createExecutionContext().execute({ x: data })).out0!);
      const got = await outputOf(blocked), want = await outputOf(planar);
      const largest = Math.max(...want.map(Math.abs));
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!))) / largest).toBeLessThan(2e-2);
    });
  }

  // A squeeze-excitation scale read by a 1×1 alone is computed by it, each image's weights scaled by that image's
  // channel values (the profile shows the scale at 0 ms): the gate on either side of the product, one per image or
  // one for the batch (a constant), one value per image for every channel, a residual, planar and blocked outputs.
  const scaleCases = {
    "features · gate[n, c], a planar output with a residual": { gate: "image", first: false, residual: true },
    "gate[n, c] · features, a blocked output into global pooling": { gate: "image", first: true, residual: false },
    "features · constant[1, c], a planar output": { gate: "constant", first: false, residual: false },
    "features · gate[n, 1], a planar output with a residual": { gate: "one", first: false, residual: true },
  } as const;
  for (const [name, c] of Object.entries(scaleCases)) {
    for (const fuse of ["1", "0"]) {
      it(`a squeeze-excitation scale inside the 1×1 after it (NETDEF_FUSE_PRODUCERS=${fuse}), ${name}: against onnxruntime`, async () => {
        process.env.NETDEF_FUSE_PRODUCERS = fuse;
        const { w, input } = sampler(5);
        const shape = [3, 16, 9, 7];
        const net = new Network("scaled");
        const x = net.addInput("x", "float32", shape);
        const features = x.addConvolution("e", { outChannels: 40, kernel: 1, weights: { kernel: w(40, 16, 1, 1), bias: w(40) } }).addActivation("e.silu", { type: "silu" });
        const pooled = features.addReduce("pool", { op: "avg", axes: [2, 3], keepDims: true });
        const gate = c.gate === "constant" ? net.addConstant("gate", { shape: [1, 40, 1, 1], weights: w(1, 40, 1, 1) })
          : pooled.addConvolution("fc", { outChannels: c.gate === "one" ? 1 : 40, kernel: 1, weights: { kernel: w(c.gate === "one" ? 1 : 40, 40, 1, 1), bias: w(c.gate === "one" ? 1 : 40) } })
            .addActivation("fc.sigmoid", { type: "sigmoid" });
        const scaled = c.first ? gate.addElementWise("scale", features, "prod") : features.addElementWise("scale", gate, "prod");
        const p = scaled.addConvolution("p", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 40, 1, 1), bias: w(16) } });
        net.markOutput(c.residual ? p.addElementWise("p.add", x, "sum") : p.addReduce("out", { op: "avg", axes: [2, 3] }), "out0");
        const data = input(shape);
        const engine = await buildEngine(net);
        expect(engine.inspect().channelBlocked.tensors).toEqual(expect.arrayContaining(["e.silu", "scale"]));
        const result = await engine.createExecutionContext().execute({ x: data }, { profile: true });
        expect(result.profile.find((l) => l.layer === "scale")!.milliseconds === 0).toBe(fuse === "1");
        await expectOnnxruntimeAgrees(net, data, shape, result);
      });
    }
  }

  // A blocked 1×1 whose output is planar (read by a concatenation along the width) and held in 16 bits finishes each channel's run of a
  // tile's pixels as one vector (7×9 pixels: partial runs), rounded, after ReLU or SiLU: against the planar engine's
  // kernels, to within the bfloat16 steps their other order of sums may move (as above).
  it("bfloat16: blocked 1×1 convolutions writing planar 16-bit outputs (partial runs, ReLU and SiLU) agree with the planar kernels", async () => {
    const { w, input } = sampler(17);
    const shape = [2, 16, 9, 7];
    const net = new Network("planar-runs");
    const conv = (t: Tensor, name: string, out: number, type: "relu" | "silu") =>
      t.addConvolution(name, { outChannels: out, kernel: 1, weights: { kernel: w(out, t.shape[1]!, 1, 1), bias: w(out) } }).addActivation(`${name}.act`, { type });
    const stem = conv(net.addInput("x", "float32", shape), "stem", 24, "relu");
    net.markOutput(net.addConcatenation("cat", [conv(stem, "b", 24, "silu"), conv(stem, "e", 24, "relu")], { axis: 3 }), "y");
    const plan = (await buildEngine(reducedFloat(net, "bfloat16"))).serialize();
    const blocked = await Engine.deserialize(plan), planar = await Engine.deserialize(plan, { channelBlocked: false });
    if (!blocked.is("builtin")) throw new Error("expected the builtin engine");
    expect(blocked.inspect().channelBlocked).toEqual({ tensors: ["stem.act.float32"], layers: ["stem", "b", "e"] });
    expect(blocked.inspect().halfStorage.bfloat16).toEqual(expect.arrayContaining(["b.act.float32", "e.act.float32"]));
    const data = input(shape);
    const [got, want] = await Promise.all([blocked, planar].map((e) => e.createExecutionContext().execute({ x: data })));
    const g = values(got!.y!), v = values(want!.y!);
    const largest = Math.max(...v.map(Math.abs));
    expect(largest).toBeGreaterThan(0.1);
    expect(Math.max(...g.map((x, i) => Math.abs(x - v[i]!))) / largest).toBeLessThan(2e-2);
  });

  // A fire module: squeeze, two expansions concatenated on the channels, max pooling; the concatenation copies
  // blocked tensors as they are where every input's channels are whole blocks (16 + 24), and not otherwise (16 + 12).
  for (const [second, blocked] of [[24, true], [12, false]] as const) {
    it(`a concatenation of 16 and ${second} channels between blocked layers: ${blocked ? "" : "not "}blocked, against onnxruntime`, async () => {
      const { w, input } = sampler(13);
      const shape = [2, 16, 11, 9];
      const net = new Network("fire");
      const conv = (t: Tensor, name: string, out: number, kernel: number) => t.addConvolution(name, { outChannels: out, kernel, padding: (kernel - 1) / 2, weights: { kernel: w(out, t.shape[1]!, kernel, kernel), bias: w(out) } })
        .addActivation(`${name}.relu`, { type: "relu" });
      const squeeze = conv(net.addInput("x", "float32", shape), "squeeze", 8, 1);
      const cat = net.addConcatenation("cat", [conv(squeeze, "e1", 16, 1), conv(squeeze, "e3", second, 3)], { axis: 1 });
      net.markOutput(conv(cat.addPooling("pool", { type: "max", window: 3, stride: 2, ceilMode: true }), "next", 16, 1), "out0");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors.includes("cat")).toBe(blocked);
      await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }));
    });
  }

  // Convolutions whose output only a concatenation reads write into its output (each image's channels further
  // apart at batch 2): blocked 1×1 and direct 3×3 kernels and Winograd's into a blocked concatenation, beside an
  // input it must still copy (the squeeze, read by three layers), and blocked-input kernels writing planar channels
  // into a concatenation that is a network output. Against onnxruntime, and bit for bit the outputs of the engine
  // that writes each tensor on its own (fuseProducers: false), in float32 and in bfloat16 (16-bit blocked tensors).
  it("fire modules: expansions written into the concatenation's output, against onnxruntime and the copying engine", async () => {
    const { w, input } = sampler(23);
    const shape = [2, 16, 11, 9];
    const net = new Network("fire-in-place");
    const conv = (t: Tensor, name: string, out: number, kernel: number) => t.addConvolution(name, { outChannels: out, kernel, padding: (kernel - 1) / 2, weights: { kernel: w(out, t.shape[1]!, kernel, kernel), bias: w(out) } });
    const squeeze = conv(net.addInput("x", "float32", shape), "squeeze", 8, 1).addActivation("squeeze.relu", { type: "relu" });
    const cat = net.addConcatenation("cat", [conv(squeeze, "e1", 16, 1).addActivation("e1.relu", { type: "relu" }), conv(squeeze, "e3", 24, 3),
                                             conv(squeeze, "w3", 16, 3), squeeze], { axis: 1 });
    net.markOutput(conv(cat.addPooling("pool", { type: "max", window: 3, stride: 2, ceilMode: true }), "next", 16, 1), "out0");
    net.markOutput(net.addConcatenation("planar", [conv(squeeze, "p1", 8, 1), conv(squeeze, "p3", 4, 3)], { axis: 1 }), "out1");
    const data = input(shape);
    const outputs = async (e: Engine) => {
      const got = await e.createExecutionContext().execute({ x: data });
      return [values(got.out0!), values(got.out1!)];
    };
    for (const precision of ["float32", "bfloat16"] as const) {
      const plan = (await buildEngine(precision === "float32" ? net : reducedFloat(net, precision), { tactics: { w3: "winograd_4x4_3x3", e3: "direct_rows" } })).serialize();
      const [writing, copying] = await Promise.all([Engine.deserialize(plan), Engine.deserialize(plan, { fuseProducers: false })]);
      if (!writing.is("builtin") || !copying.is("builtin")) throw new Error("expected the builtin engine");
      const suffix = precision === "float32" ? "" : ".float32";
      // In bfloat16 the planar concatenation converts its 16-bit inputs to the float32 network output: copied.
      const written = precision === "float32" ? ["e1.relu", "e3", "w3", "p1", "p3"] : ["e1.relu", "e3", "w3"];
      expect(writing.inspect().writtenIntoConcatenations).toEqual(written.map((t) => t + suffix));
      if (precision === "float32") expect(writing.inspect().layers.find((l) => l.name === "w3")?.kernel).toBe("blocked_winograd_4x4_3x3");
      expect(copying.inspect().writtenIntoConcatenations).toEqual([]);
      const [inPlace, copied] = await Promise.all([outputs(writing), outputs(copying)]);
      expect(inPlace).toEqual(copied);
      if (precision === "float32") await expectOnnxruntimeAgrees(net, data, shape, await writing.createExecutionContext().execute({ x: data }), ["out0", "out1"]);
    }
  });

  // Where every reader of a concatenation prefers a blocked input (a 3×3 convolution), inputs in the other layout are
  // transposed on the way: the network's (planar) input and a blocked 1×1 into a blocked output (a U-Net's skip
  // connection); elsewhere (a network output, 1×1s) its inputs are laid out as its output. 13×11 pixels, 8 + 16
  // channels; float32 against onnxruntime, bfloat16 (16-bit blocked tensors) against the planar engine within one
  // bfloat16 step of the largest value.
  it("a concatenation of planar and blocked inputs into a blocked input of a 3×3 convolution: against onnxruntime, and in bfloat16 against the planar engine", async () => {
    const { w, input } = sampler(17);
    const shape = [2, 8, 13, 11];
    const net = new Network("mixed");
    const conv = (t: Tensor, name: string, out: number, kernel: number) => t.addConvolution(name, { outChannels: out, kernel, padding: (kernel - 1) / 2, weights: { kernel: w(out, t.shape[1]!, kernel, kernel), bias: w(out) } })
      .addActivation(`${name}.relu`, { type: "relu" });
    const x = net.addInput("x", "float32", shape);
    const a = conv(x, "a", 16, 1);
    const skip = net.addConcatenation("skip", [x, a], { axis: 1 });
    net.markOutput(conv(skip, "c3", 16, 3), "out0");
    net.markOutput(net.addConcatenation("both", [conv(a, "b", 16, 1), conv(a, "d", 8, 1)], { axis: 1 }), "out1");
    const data = input(shape);
    const engine = await buildEngine(net);
    expect(engine.inspect().channelBlocked.tensors).toEqual(["a.relu", "skip"]);
    await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }), ["out0", "out1"]);
    const bf16 = (await buildEngine(reducedFloat(net, "bfloat16"))).serialize();
    // The rounding of the concatenation (x arrives in float32) stays a layer of its own: an element-wise chain, blocked
    // as the 3×3 after it prefers, the concatenation writing blocked for it.
    const blocked = await Engine.deserialize(bf16);
    expect(blocked.is("builtin") && blocked.inspect().channelBlocked.tensors).toEqual(expect.arrayContaining(["skip", "skip.float32"]));
    const outputsOf = async (e: Engine) => Object.values(await e.createExecutionContext().execute({ x: data })).map(values);
    const got = await outputsOf(blocked), want = await outputsOf(await Engine.deserialize(bf16, { channelBlocked: false }));
    want.forEach((v, k) => {
      const largest = Math.max(...v.map(Math.abs));
      expect(Math.max(...got[k]!.map((g, i) => Math.abs(g - v[i]!))) / largest).toBeLessThan(2 ** -7);
    });
  });

  // Short sums (3 channels × taps) write the blocked output from the input's padded rows (here inside the 1×1 after
  // the depthwise layer, with it, rows by rows).
  const stems = {
    "3×3 stride 2, padding 1 (MobileNetV2's stem)": { kernel: 3, stride: 2, padding: 1 },
    "5×3, dilation 2, stride [1, 2], padding [2, 1] / [0, 3]": { kernel: [5, 3], dilation: 2, stride: [1, 2], prePadding: [2, 1], postPadding: [0, 3] },
  };
  for (const [name, window] of Object.entries(stems)) {
    it(`a stem into a depthwise layer, ${name}: against onnxruntime`, async () => {
      const { w, input } = sampler(5);
      const net = new Network("stem");
      const shape = [2, 3, 15, 13];
      const kernel = [window.kernel].flat();
      const stem = net.addInput("x", "float32", shape)
        .addConvolution("stem", { outChannels: 24, ...window, weights: { kernel: w(24, 3, kernel[0]!, kernel.at(-1)!), bias: w(24) } }).addActivation("stem.relu6", clip6);
      const dw = stem.addConvolution("dw", { outChannels: 24, kernel: 3, groups: 24, padding: 1, weights: { kernel: w(24, 1, 3, 3), bias: w(24) } });
      net.markOutput(dw.addConvolution("project", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 24, 1, 1), bias: w(8) } }), "out0");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked).toEqual({ tensors: ["stem.relu6", "dw"], layers: ["stem", "dw", "project"] });
      // Two images: the stem and the depthwise layer run inside the 1×1, band by band.
      const builtin = await engine.createExecutionContext().execute({ x: data }, { profile: true });
      for (const layer of ["stem", "dw"]) expect(builtin.profile.find((l) => l.layer === layer)!.milliseconds).toBe(0);
      await expectOnnxruntimeAgrees(net, data, shape, builtin);
    });
  }

  // The depthwise layer and the expansion before it computed inside the 1×1 after it (their outputs never written):
  // several images, or one whose tensors between have 14 rows or more. The profile shows them at 0 ms (their time is in
  // the 1×1's).
  const fusedCases = {
    "one image of 64 rows, a planar output with the input as residual": { shape: [1, 16, 64, 64], stride: 1, residual: true },
    "two images, stride 2 (two bands an image), a blocked output into global pooling": { shape: [2, 16, 62, 46], stride: 2, residual: false },
  };
  for (const [name, c] of Object.entries(fusedCases)) {
    for (const fuse of ["1", "0"]) {
      it(`depthwise inside the 1×1 after it (NETDEF_FUSE_PRODUCERS=${fuse}), ${name}: against onnxruntime`, async () => {
        process.env.NETDEF_FUSE_PRODUCERS = fuse;
        const { w, input } = sampler(11);
        const net = new Network("fused");
        const x = net.addInput("x", "float32", c.shape);
        const e = x.addConvolution("e", { outChannels: 64, kernel: 1, weights: { kernel: w(64, 16, 1, 1), bias: w(64) } }).addActivation("e.relu6", clip6);
        const d = e.addConvolution("d", { outChannels: 64, kernel: 3, groups: 64, stride: c.stride, padding: 1, weights: { kernel: w(64, 1, 3, 3), bias: w(64) } }).addActivation("d.relu6", clip6);
        const p = d.addConvolution("p", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 64, 1, 1), bias: w(16) } });
        net.markOutput(c.residual ? p.addElementWise("p.add", x, "sum") : p.addReduce("pool", { op: "avg", axes: [2, 3] }), "out0");
        const data = input(c.shape);
        const engine = await buildEngine(net);
        expect(engine.inspect().channelBlocked.tensors).toEqual(c.residual ? ["e.relu6", "d.relu6"] : ["e.relu6", "d.relu6", "p"]);
        const result = await engine.createExecutionContext().execute({ x: data }, { profile: true });
        // The expansion too: e → d → p run as one, band by band.
        for (const layer of ["e", "d"]) expect(result.profile.find((l) => l.layer === layer)!.milliseconds === 0).toBe(fuse === "1");
        await expectOnnxruntimeAgrees(net, data, c.shape, result);
      });
    }
  }

  it("a dynamic batch: one context at batch 1 (layers on their own), 3 (fused), then 1 again, each against onnxruntime", async () => {
    const net = stackNetwork([-1, 24, 9, 7], sampler(9).w);
    const engine = await buildEngine(net, { profiles: [{ x: { min: [1, 24, 9, 7], opt: [3, 24, 9, 7], max: [4, 24, 9, 7] } }] });
    const ctx = engine.createExecutionContext();
    const session = await ort.InferenceSession.create(await exportOnnx(net));
    for (const batch of [1, 3, 1]) {
      const shape = [batch, 24, 9, 7];
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * batch));
      const result = await ctx.execute({ x: { data, shape } }, { profile: true });
      expect(result.profile.find((l) => l.layer === "d1")!.milliseconds === 0).toBe(batch > 1);
      await expectOnnxruntimeAgrees(net, data, shape, result, ["out0", "out1", "out2"], session);
    }
  });

  it("tuning times only the layers that run planar (blocked ones keep the shape rules' tactics)", async () => {
    const inspection = (await buildEngine(stackNetwork([3, 24, 9, 7], sampler(7).w), { tuning: "fast" })).inspect();
    expect(inspection.channelBlocked.layers).toEqual(["e1", "d1", "p1", "e2", "d2", "e3", "d3", "p3"]);
    expect(inspection.tactics.map((t) => t.layer)).toEqual(["p2"]);
  });

  it("a refit reaches the blocked kernels (their weight panels made anew): against onnxruntime on the new weights", async () => {
    const shape = [3, 24, 9, 7];
    const engine = await buildEngine(stackNetwork(shape, sampler(7).w));
    const blocked = engine.inspect().channelBlocked;
    const next = stackNetwork(shape, sampler(8).w);
    await refit(engine, next.weights);
    expect(engine.inspect().channelBlocked).toEqual(blocked);
    const data = Float32Array.from({ length: 3 * 24 * 9 * 7 }, (_, i) => Math.sin(i));
    const builtin = await engine.createExecutionContext().execute({ x: data });
    await expectOnnxruntimeAgrees(next, data, shape, builtin, ["out0", "out1", "out2"]);
  });

  // A 1×1 reading a blocked input may write any number of channels planar: 20 = a panel of 16 and one of 4 (its
  // weights padded to 8 lanes), on its own (one image of 7 rows) or with the chain before it (two images).
  for (const shape of [[1, 24, 7, 9], [2, 24, 7, 9]]) {
    it(`a blocked input into a 1×1 of 20 output channels, planar (${shape.join("×")}): against onnxruntime`, async () => {
      const { w, input } = sampler(13);
      const net = new Network("narrow");
      const e = net.addInput("x", "float32", shape).addConvolution("e", { outChannels: 32, kernel: 1, weights: { kernel: w(32, 24, 1, 1), bias: w(32) } });
      const d = e.addConvolution("d", { outChannels: 32, kernel: 3, groups: 32, padding: 1, weights: { kernel: w(32, 1, 3, 3), bias: w(32) } });
      net.markOutput(d.addConvolution("q", { outChannels: 20, kernel: 1, weights: { kernel: w(20, 32, 1, 1), bias: w(20) } }).addActivation("q.relu", { type: "relu" }), "out0");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors).toEqual(["e", "d"]);
      const result = await engine.createExecutionContext().execute({ x: data }, { profile: true });
      expect(result.profile.find((l) => l.layer === "d")!.milliseconds === 0).toBe(shape[0]! > 1);
      await expectOnnxruntimeAgrees(net, data, shape, result);
    });
  }

  // A blocked 1×1 over 80 input channels into 40 (a pair of full panels, then one of 8): where AVX-512 runs, the pair
  // takes tiles of up to 8 pixels together (21 × 23 pixels: chunks of 54 in tiles of 8 and 7, and 33 at the end), into
  // a blocked output (read by the last 1×1) with a SiLU, and into another 1×1's output that two layers read.
  for (const batch of [1, 2]) {
    it(`a blocked 1×1 of 80 → 40 channels (two panels a tile) into blocked and planar outputs, batch ${batch}: against onnxruntime`, async () => {
      const { w, input } = sampler(17);
      const shape = [batch, 24, 21, 23];
      const net = new Network("pairs");
      const e = net.addInput("x", "float32", shape).addConvolution("e", { outChannels: 80, kernel: 1, weights: { kernel: w(80, 24, 1, 1), bias: w(80) } });
      const d = e.addConvolution("d", { outChannels: 80, kernel: 3, groups: 80, padding: 1, weights: { kernel: w(80, 1, 3, 3), bias: w(80) } }).addActivation("d.relu", { type: "relu" });
      const q = d.addConvolution("q", { outChannels: 40, kernel: 1, weights: { kernel: w(40, 80, 1, 1), bias: w(40) } }).addActivation("q.silu", { type: "silu" });
      net.markOutput(q.addConvolution("r", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 40, 1, 1), bias: w(8) } }), "out0");
      const wide = d.addConvolution("s", { outChannels: 40, kernel: 1, weights: { kernel: w(40, 80, 1, 1), bias: w(40) } });
      net.markOutput(wide.addElementWise("s.add", wide.addActivation("s.tanh", { type: "tanh" }), "sum"), "out1");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors).toEqual(expect.arrayContaining(["e", "d.relu", "q.silu"]));
      await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }), ["out0", "out1"]);
    });
  }

  // Other depthwise windows between blocked tensors: 5×5 at stride 2, 3×3 dilated, [3, 5] strided unevenly (`rows`:
  // the depthwise output's, 14 or more fusing at batch 1 too).
  const windows = {
    "5×5 stride 2, padding 2": { rows: 9, window: { kernel: 5, stride: 2, padding: 2 } },
    "3×3 dilation 2, padding 2": { rows: 17, window: { kernel: 3, dilation: 2, padding: 2 } },
    "[3, 5] stride [2, 1], padding [1, 2]": { rows: 9, window: { kernel: [3, 5], stride: [2, 1], padding: [1, 2] } },
  };
  for (const [name, { rows, window }] of Object.entries(windows)) {
    for (const batch of [1, 2]) {
      it(`a depthwise ${name} between blocked 1×1s, batch ${batch}: against onnxruntime`, async () => {
        const { w, input } = sampler(17);
        const net = new Network("windows");
        const shape = [batch, 16, 17, 15];
        const kernel = [window.kernel].flat();
        const e = net.addInput("x", "float32", shape).addConvolution("e", { outChannels: 24, kernel: 1, weights: { kernel: w(24, 16, 1, 1), bias: w(24) } }).addActivation("e.relu6", clip6);
        const d = e.addConvolution("d", { outChannels: 24, groups: 24, ...window, weights: { kernel: w(24, 1, kernel[0]!, kernel.at(-1)!), bias: w(24) } });
        net.markOutput(d.addConvolution("p", { outChannels: 8, kernel: 1, weights: { kernel: w(8, 24, 1, 1), bias: w(8) } }), "out0");
        const data = input(shape);
        const engine = await buildEngine(net);
        expect(engine.inspect().channelBlocked.tensors).toEqual(["e.relu6", "d"]);
        const result = await engine.createExecutionContext().execute({ x: data }, { profile: true });
        expect(result.profile.find((l) => l.layer === "d")!.milliseconds === 0).toBe(batch > 1 || rows >= 14);
        await expectOnnxruntimeAgrees(net, data, shape, result);
      });
    }
  }

  // A reduced-float network's blocked tensors hold its 16-bit values (in 16-bit storage): each blocked kernel rounds
  // as it stores. Weights of ones (and 0.75) make every sum after the stem one of two values of the type, exact in float32
  // (inputs in [0.5, 8): the terms within a factor of 16), so each layer's output is exactly round(its float32 sums),
  // computed here in TypeScript: a kernel that stored unrounded sums would be caught by the next layer's rounding.
  // (The input and the network's output are not rounded: reducedFloat keeps the network's boundary in float32.)
  const roundings = (["bfloat16", "float16"] as const).flatMap((dtype) => ["1", "0"].map((fuse) => [dtype, fuse] as const));
  it.each(roundings)("%s values in blocked tensors, rounded by the stem, 1×1, depthwise and fused kernels (NETDEF_FUSE_PRODUCERS=%s)", async (dtype, fuse) => {
    const [N, H, W] = [2, 14, 9];
    const net = new Network("rounding");
    const x = net.addInput("x", "float32", [-1, 16, H, W]);
    const weights = (out: number, inPerGroup: number, k: number, one: (o: number, i: number, tap: number) => number) =>
      Float32Array.from({ length: out * inPerGroup * k * k }, (_, j) => one(Math.floor(j / (inPerGroup * k * k)), Math.floor(j / (k * k)) % inPerGroup, j % (k * k)));
    // s = clip(0.75·x, 0, 6) (a stem: 16 channels × 3×3 taps, its centre); e_c = s_c%16 + s_(c+1)%16;
    // d_c = e_c at (h, w) + at (h, w + 1) (zero padding past the last column); p_c = d_c + d_c+16.
    const s = x.addConvolution("s", { outChannels: 16, kernel: 3, padding: 1, bias: false, weights: { kernel: weights(16, 16, 3, (o, i, t) => (o === i && t === 4 ? 0.75 : 0)) } }).addActivation("s.relu6", clip6);
    const e = s.addConvolution("e", { outChannels: 32, kernel: 1, bias: false, weights: { kernel: weights(32, 16, 1, (o, i) => (i === o % 16 || i === (o + 1) % 16 ? 1 : 0)) } });
    const d = e.addConvolution("d", { outChannels: 32, kernel: 3, groups: 32, padding: 1, bias: false, weights: { kernel: weights(32, 1, 3, (_o, _i, t) => (t === 4 || t === 5 ? 1 : 0)) } });
    net.markOutput(d.addConvolution("p", { outChannels: 16, kernel: 1, bias: false, weights: { kernel: weights(16, 32, 1, (o, i) => (i === o || i === o + 16 ? 1 : 0)) } }), "y");
    process.env.NETDEF_FUSE_PRODUCERS = fuse;
    const engine = await buildEngine(reducedFloat(net, dtype), { profiles: [{ x: { min: [1, 16, H, W], opt: [N, 16, H, W], max: [N, 16, H, W] } }] });
    expect(engine.inspect().channelBlocked.layers).toEqual(["s", "e", "d", "p"]);
    expect(engine.inspect().channelBlocked.tensors).toHaveLength(3);
    expect(engine.inspect().halfStorage[dtype]).toEqual(["s.relu6.float32", "e.float32", "d.float32"]);  // the blocked tensors, in 16 bits
    const rand = random(5);
    const input = Float32Array.from({ length: N * 16 * H * W }, () => 0.5 + rand() * 7.5);
    const { y, profile } = await engine.createExecutionContext().execute({ x: { data: input, shape: [N, 16, H, W] } }, { profile: true });
    expect(profile.find((l) => l.layer === "d")!.milliseconds === 0).toBe(fuse === "1");  // computed inside p, or not
    const round = dtype === "bfloat16" ? roundToBfloat16 : roundToFloat16;
    const plane = H * W, at = (c: number, h: number, w: number) => c * plane + h * W + w;
    const expected: number[] = [];
    for (let n = 0; n < N; n++) {
      const image = input.subarray(n * 16 * plane, (n + 1) * 16 * plane);
      const sv = Float32Array.from({ length: 16 * plane }, (_, j) => round(Math.min(6, Math.max(0, Math.fround(0.75 * image[j]!)))));
      const ev = Float32Array.from({ length: 32 * plane }, (_, j) => { const c = Math.floor(j / plane), p = j % plane; return round(sv[(c % 16) * plane + p]! + sv[((c + 1) % 16) * plane + p]!); });
      const dv = Float32Array.from({ length: 32 * plane }, (_, j) => { const c = Math.floor(j / plane), h = Math.floor((j % plane) / W), w = j % W; return round(ev[at(c, h, w)]! + (w + 1 < W ? ev[at(c, h, w + 1)]! : 0)); });
      for (let j = 0; j < 16 * plane; j++) expected.push(dv[j]! + dv[j + 16 * plane]!);  // a network output: not rounded
    }
    expect(values(y)).toEqual(expected);
  });

  it.each(["bfloat16", "float16"] as const)("the inverted-residual stack in %s: blocked and planar tensors in 16 bits, the outputs bit for bit those of float32 storage", async (dtype) => {
    const { w, input } = sampler(11);
    const net = reducedFloat(stackNetwork([2, 24, 9, 7], w), dtype);
    const data = input([2, 24, 9, 7]);
    process.env.NETDEF_BF16_DOT = "0";  // float32 products (bfloat16 pairs sum in another order: test/precision)
    const packed = await buildEngine(net);
    process.env.NETDEF_HALF_STORAGE = "0";
    const wide = await buildEngine(net).finally(() => {
      delete process.env.NETDEF_HALF_STORAGE;
      delete process.env.NETDEF_BF16_DOT;
    });
    expect(packed.inspect().bfloat16Products).toEqual([]);
    // Blocked (e1…d3) and planar (p1.add: its residual is the input; p2: the residual of an output), read widened
    // by the 1×1 and depthwise kernels, written narrowed by them.
    expect(packed.inspect().halfStorage[dtype]).toEqual(["e1.relu6.float32", "d1.relu.float32", "p1.add.float32", "e2.relu6.float32", "p2.float32", "e3.relu.float32", "d3.relu6.float32"]);
    expect(packed.inspect().channelBlocked.layers).toEqual(["e1", "d1", "p1", "e2", "d2", "e3", "d3", "p3"]);
    const [a, b] = [await packed.createExecutionContext().execute({ x: data }), await wide.createExecutionContext().execute({ x: data })];
    for (const name of ["out0", "out1", "out2"]) expect(new Uint32Array(floats(a[name]).buffer)).toEqual(new Uint32Array(floats(b[name]).buffer));
  });

  it("fused chains keep their intermediate tensors out of memory: MobileNetV2 at batch 16 holds 80+ MB less than unfused (child processes)", async () => {
    // The expanded tensor of the 112×112 block alone is 96 × 112² × 16 floats (77 MB). Resident memory after two
    // executions against before them: the context's pool keeps what the executions wrote.
    const script = `
      const { defineMobileNetV2 } = await import("./models/mobilenet-v2.ts");
      const { buildEngine, loadWeights } = await import("netdef");
      const net = defineMobileNetV2(await loadWeights("fixtures/mobilenet_v2.safetensors"));
      const shape = [16, 3, 224, 224];
      const ctx = (await buildEngine(net, { profiles: [{ input: { min: shape, opt: shape, max: shape } }] })).createExecutionContext();
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 2; i++) await ctx.execute({ input: { data: new Float32Array(16 * 3 * 224 * 224), shape } });
      console.log((process.memoryUsage().rss - before) / 2 ** 20);`;
    const growth = async (fuse: string) => {
      const { stdout } = await run(process.execPath, ["--conditions", "netdef-source", "--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, NETDEF_FUSE_PRODUCERS: fuse } });
      return Number(stdout.trim());
    };
    const [fused, unfused] = [await growth("1"), await growth("0")];
    expect(unfused - fused).toBeGreaterThan(80);  // MB (measured: 160 against −4 to 26)
  }, 60_000);

  // ResNet-style blocks on blocked tensors: 3×3 windows read a blocked input from bands of rows copied zero-padded
  // (pairs of 16-channel panels in wide tiles, a last panel of 8 for 40 channels), max pooling reads and writes
  // blocked vectors, 1×1 at stride 2 is a window too; 29×27 maps (rows of 15, 8, 4 pixels after the strides).
  it("ResNet-style blocks: blocked 3×3 windows (strides 1 and 2, dilation, a residual), max pooling and a strided 1×1, against onnxruntime", async () => {
    const { w, input } = sampler(11);
    const net = new Network("resnet-style");
    const shape = [2, 16, 29, 27];
    const conv = (x: Tensor, name: string, out: number, options: { kernel?: number; stride?: number | number[]; padding?: number; dilation?: number } = {}) =>
      x.addConvolution(name, { outChannels: out, kernel: options.kernel ?? 3, stride: options.stride ?? 1, padding: options.padding ?? 1, dilation: options.dilation ?? 1,
                               weights: { kernel: w(out, x.shape[1]!, options.kernel ?? 3, options.kernel ?? 3), bias: w(out) } });
    const relu = { type: "relu" } as const;
    const c0 = conv(net.addInput("x", "float32", shape), "c0", 32, { kernel: 1, padding: 0 }).addActivation("c0.relu", relu);  // planar in, blocked out
    const pool = c0.addPooling("pool", { type: "max", window: 3, stride: 2, padding: 1 });                                         // 15×14
    const c1 = conv(pool, "c1", 40).addActivation("c1.relu", relu);                                                                 // panels 16 + 16, 8
    const c2 = conv(c1, "c2", 32, { stride: 2 }).addActivation("c2.relu", relu);                                                   // 8×7
    const c3 = conv(c2, "c3", 32).addElementWise("c3.add", c2, "sum").addActivation("c3.relu", relu);                             // a blocked residual
    const down = conv(c3, "down", 48, { kernel: 1, stride: 2, padding: 0 });                                                       // 4×4
    const dilated = conv(down, "dilated", 48, { dilation: 2, padding: 2, stride: [1, 2] });                                       // blocked in, planar out (an output)
    const pooledOut = c3.addPooling("pool2", { type: "max", window: 2, stride: 2 });                                               // blocked in, planar out
    net.markOutput(dilated, "out0");
    net.markOutput(pooledOut, "out1");
    net.markOutput(down.addReduce("gap", { op: "avg", axes: [2, 3] }), "out2");
    const data = input(shape);
    const engine = await buildEngine(net);
    expect(engine.inspect().channelBlocked).toEqual({
      tensors: ["c0.relu", "pool", "c1.relu", "c2.relu", "c3.relu", "down"],
      layers: ["c0", "pool", "c1", "c2", "c3", "down", "dilated", "pool2", "gap"],
    });
    expect(engine.inspect().layers.filter((l) => l.kernel).map((l) => [l.name, l.kernel])).toEqual(["c0", "c1", "c2", "c3", "down", "dilated"].map((n) => [n, "blocked_direct"]));
    const builtin = await engine.createExecutionContext().execute({ x: data });
    await expectOnnxruntimeAgrees(net, data, shape, builtin, ["out0", "out1", "out2"]);
  });

  // Blocked max pooling is separable (each output row's window rows, then each pixel's columns): windows of 3×3 and
  // 2×2 (rows unrolled, but where the padding cuts them), 5×5 and 4×5 (the general loops), padding on either side,
  // ceil mode's last window past the input (and at stride 3), on 13×17 maps; each into a blocked 1×1 (out0) and a
  // planar network output (out1), and in bfloat16 (16-bit blocked tensors) the same values as the planar engine's.
  const maxPoolings: [string, { window: number | number[]; stride?: number; padding?: number; ceilMode?: boolean }][] = [
    ["3×3 stride 2 ceil", { window: 3, stride: 2, ceilMode: true }], ["3×3 stride 2 pad 1", { window: 3, stride: 2, padding: 1 }],
    ["3×3 stride 1 pad 1", { window: 3, stride: 1, padding: 1 }], ["2×2 stride 2 ceil", { window: 2, stride: 2, ceilMode: true }],
    ["5×5 stride 1 pad 2", { window: 5, stride: 1, padding: 2 }], ["4×5 stride 2", { window: [4, 5], stride: 2 }],
    ["3×3 stride 3 pad 1 ceil", { window: 3, stride: 3, padding: 1, ceilMode: true }],
  ];
  for (const [name, options] of maxPoolings) {
    it(`blocked max pooling ${name}: against onnxruntime, and in bfloat16 against the planar engine`, async () => {
      const { w, input } = sampler(19);
      const shape = [2, 8, 13, 17];
      const net = new Network("pool");
      const c0 = net.addInput("x", "float32", shape).addConvolution("c0", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 8, 1, 1), bias: w(16) } });
      const pooled = c0.addPooling("pool", { type: "max", ...options });
      net.markOutput(pooled.addConvolution("c1", { outChannels: 16, kernel: 1, weights: { kernel: w(16, 16, 1, 1), bias: w(16) } }), "out0");
      net.markOutput(pooled, "out1");
      const data = input(shape);
      const engine = await buildEngine(net);
      expect(engine.inspect().channelBlocked.tensors).toEqual(["c0"]);
      await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }), ["out0", "out1"]);
      const plan = (await buildEngine(reducedFloat(net, "bfloat16"))).serialize();
      const [blocked, planar] = await Promise.all([Engine.deserialize(plan), Engine.deserialize(plan, { channelBlocked: false })]);
      expect(blocked.is("builtin") && blocked.inspect().channelBlocked.layers).toContain("pool");
      const [got, want] = await Promise.all([blocked, planar].map((e) => e.createExecutionContext().execute({ x: data })));
      expect(values(got!.out1!)).toEqual(values(want!.out1!));
    });
  }

  // Winograd F(4×4) and F(2×2) on blocked tensors: tiles cut by the map's edges (13×11, and 11×9 unpadded), a blocked
  // residual, SiLU and Mish epilogues, a planar output, a batch of 3 whose tiles split between work items mid-image; and 512 channels on 5×5,
  // whose items split the output panels into groups (one ξ's transformed weights fill a core's L2).
  it("blocked Winograd F(4×4) and F(2×2): edge tiles, a residual, planar outputs, groups of output panels, against onnxruntime", async () => {
    const { w, input } = sampler(17);
    const net = new Network("winograd");
    const shape = [3, 16, 13, 11];
    const relu = { type: "relu" } as const;
    const conv = (x: Tensor, name: string, out: number, padding = 1) =>
      x.addConvolution(name, { outChannels: out, kernel: 3, padding, weights: { kernel: w(out, x.shape[1]!, 3, 3), bias: w(out) } });
    const c0 = net.addInput("x", "float32", shape).addConvolution("c0", { outChannels: 32, kernel: 1, weights: { kernel: w(32, 16, 1, 1), bias: w(32) } }).addActivation("c0.relu", relu);
    // Gated epilogues (SiLU; Mish after the residual) stage each tile, edge tiles too.
    const f4 = conv(c0, "f4", 40).addActivation("f4.silu", { type: "silu" });
    const f2 = conv(f4, "f2", 32).addElementWise("f2.add", c0, "sum").addActivation("f2.mish", { type: "mish" });
    net.markOutput(conv(f2, "edge", 24, 0), "out0");
    const wide = c0.addPooling("shrink", { type: "max", window: 3, stride: 2 }).addConvolution("widen", { outChannels: 512, kernel: 1, weights: { kernel: w(512, 32, 1, 1), bias: w(512) } });
    net.markOutput(conv(wide, "groups", 512), "out1");
    const data = input(shape);
    const engine = await buildEngine(net, { tactics: { f4: "winograd_4x4_3x3", f2: "winograd_2x2_3x3", edge: "winograd_4x4_3x3", groups: "winograd_2x2_3x3" } });
    expect(engine.inspect().channelBlocked.layers).toEqual(["c0", "f4", "f2", "edge", "shrink", "widen", "groups"]);
    const kernels = Object.fromEntries(engine.inspect().layers.map((l) => [l.name, l.kernel]));
    expect(kernels).toMatchObject({ c0: "blocked_direct", f4: "blocked_winograd_4x4_3x3", f2: "blocked_winograd_2x2_3x3", edge: "blocked_winograd_4x4_3x3", groups: "blocked_winograd_2x2_3x3" });
    const builtin = await engine.createExecutionContext().execute({ x: data });
    await expectOnnxruntimeAgrees(net, data, shape, builtin, ["out0", "out1"]);
  });

  // Random shapes through the blocked Winograd kernels: maps of 3 to 17 pixels a side (tiles cut anywhere), padding 0
  // or 1, 8 to 32 input channels, outputs of 8k channels (blocked, read by a 1×1) or not (planar, the network's
  // output), ReLU or none, batches of 1 to 3.
  it.each(Array.from({ length: 24 }, (_, seed) => seed))("blocked Winograd on random shapes (seed %i), against onnxruntime", async (seed) => {
    const rand = random(100 + seed);
    const pick = <T,>(values: readonly T[]) => values[Math.floor(rand() * values.length)]!;
    const { w, input } = sampler(200 + seed);
    const [batch, inChannels, outChannels, padding] = [pick([1, 2, 3]), pick([8, 16, 24, 32]), pick([8, 16, 20, 40]), pick([0, 1])];
    const [H, W] = [3 + Math.floor(rand() * 15), 3 + Math.floor(rand() * 15)];
    const tactic = pick(["winograd_2x2_3x3", "winograd_4x4_3x3"] as const);
    const shape = [batch, 4, H, W];
    const net = new Network("winograd-random");
    const blocked = net.addInput("x", "float32", shape).addConvolution("c0", { outChannels: inChannels, kernel: 1, weights: { kernel: w(inChannels, 4, 1, 1), bias: w(inChannels) } }).addActivation("c0.relu", { type: "relu" });
    let y: Tensor = blocked.addConvolution("wino", { outChannels, kernel: 3, padding, weights: { kernel: w(outChannels, inChannels, 3, 3), bias: w(outChannels) } });
    if (rand() < 0.5) y = y.addActivation("wino.relu", { type: "relu" });
    if (outChannels % 8 === 0) y = y.addConvolution("c1", { outChannels: 8, kernel: 1, weights: { kernel: w(8, outChannels, 1, 1), bias: w(8) } });
    net.markOutput(y, "out0");
    const engine = await buildEngine(net, { tactics: { wino: tactic } });
    expect(engine.inspect().layers.find((l) => l.name === "wino")!.kernel).toBe(`blocked_${tactic}`);
    const data = input(shape);
    await expectOnnxruntimeAgrees(net, data, shape, await engine.createExecutionContext().execute({ x: data }));
  });

  // Only a 1×1 computes the depthwise layer before it: a 3×3 after a blocked depthwise layer reads its blocked output.
  it("a blocked 3×3 after a depthwise layer, batch 2 (where a 1×1 would fuse it): against onnxruntime", async () => {
    const { w, input } = sampler(13);
    const net = new Network("depthwise-then-3x3");
    const shape = [2, 16, 15, 14];
    const e = net.addInput("x", "float32", shape).addConvolution("e", { outChannels: 32, kernel: 1, weights: { kernel: w(32, 16, 1, 1), bias: w(32) } }).addActivation("e.relu6", clip6);
    const d = e.addConvolution("d", { outChannels: 32, kernel: 3, groups: 32, padding: 1, weights: { kernel: w(32, 1, 3, 3), bias: w(32) } }).addActivation("d.relu6", clip6);
    net.markOutput(d.addConvolution("c", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 32, 3, 3), bias: w(16) } }), "out0");
    const data = input(shape);
    const engine = await buildEngine(net);
    expect(engine.inspect().channelBlocked).toEqual({ tensors: ["e.relu6", "d.relu6"], layers: ["e", "d", "c"] });
    const builtin = await engine.createExecutionContext().execute({ x: data }, { profile: true });
    expect(builtin.profile.find((l) => l.layer === "d")!.milliseconds).toBeGreaterThan(0);  // run on its own
    await expectOnnxruntimeAgrees(net, data, shape, builtin);
  });

  it("NETDEF_CHANNEL_BLOCKED=0 keeps every tensor planar, with the same results", async () => {
    process.env.NETDEF_CHANNEL_BLOCKED = "0";
    const { engine, check } = await compare([3, 24, 9, 7], 7);
    expect(engine.inspect().channelBlocked).toEqual({ tensors: [], layers: [] });
    await check();
  });
});
