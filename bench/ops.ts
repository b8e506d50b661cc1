// One layer at a time, side by side with onnxruntime (CPU, 2 intra-op threads) in the same process: `npm run bench:ops`
// [-- <filter>]. The model bench covers the layers of the bench models; this one covers the layer patterns of the
// networks it does not hold (global and overlapping average pooling, reductions and softmax over every axis,
// normalisations, broadcasts, resizing, grouped and dilated convolutions, …), each at a shape such networks use,
// to find the patterns where the builtin engine falls far behind. Both run netdef's ONNX export of the one-layer
// network, float32, the engines taking turns, the builtin one auto-tuned (as `npm run bench`); ratio = onnxruntime
// ms / builtin ms. A one-layer network's time includes each execution's fixed cost (inputs copied in, outputs handed
// out), which dominates small layers: "its layers ms" is the builtin engine's profiled layer time alone (median of
// 20). BENCH_PROFILE=1 also prints the layers and their times.
import * as ort from "onnxruntime-node";
import { buildEngine, exportOnnx } from "netdef";
import { defineCase, type LayerCase } from "../selftest/layer-cases.js";
import { printTable, summary, timeTurn } from "./report.js";

const x = (...shape: number[]) => ({ x: { shape } });
const conv = (outChannels: number, kernel: number, options: { groups?: number; dilation?: number; stride?: number; padding?: number } = {}): LayerCase["define"] => (_, { x }, w) => {
  const channels = x!.shape[1]!, groups = options.groups ?? 1;
  return x!.addConvolution("c", { outChannels, kernel, ...options, weights: { kernel: w(outChannels, channels / groups, kernel, kernel), bias: w(outChannels) } });
};

const cases: Record<string, LayerCase> = {
  "average pool global 7×7, [8, 512, 7, 7]": { inputs: x(8, 512, 7, 7), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 7 }) },
  "average pool global 56×56, [1, 256, 56, 56]": { inputs: x(1, 256, 56, 56), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 56 }) },
  "average pool 3×3 stride 1 pad 1, [1, 192, 28, 28]": { inputs: x(1, 192, 28, 28), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 3, padding: 1, countIncludePad: false }) },
  "average pool 2×2 stride 2, [1, 128, 56, 56]": { inputs: x(1, 128, 56, 56), define: (_, { x }) => x!.addPooling("p", { type: "average", window: 2 }) },
  "max pool 3×3 stride 2 pad 1, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addPooling("p", { type: "max", window: 3, stride: 2, padding: 1 }) },
  "reduce mean over H, W, [8, 256, 14, 14]": { inputs: x(8, 256, 14, 14), define: (_, { x }) => x!.addReduce("r", { op: "avg", axes: [2, 3], keepDims: true }) },
  "reduce sum over channels, [1, 256, 56, 56]": { inputs: x(1, 256, 56, 56), define: (_, { x }) => x!.addReduce("r", { op: "sum", axes: [1], keepDims: true }) },
  "reduce max over the last axis, [64, 1024]": { inputs: x(64, 1024), define: (_, { x }) => x!.addReduce("r", { op: "max", axes: [1] }) },
  "softmax over channels, [1, 21, 128, 128]": { inputs: x(1, 21, 128, 128), define: (_, { x }) => x!.addSoftMax("s", { axis: 1 }) },
  "softmax over the last axis, [8, 12, 64, 64]": { inputs: x(8, 12, 64, 64), define: (_, { x }) => x!.addSoftMax("s", { axis: 3 }) },
  "layer norm, [8, 197, 192]": { inputs: x(8, 197, 192), define: (_, { x }, w) => x!.addNormalization("n", { type: "layer", normalizedShape: [192], weights: { scale: w(192), bias: w(192) } }) },
  "instance norm, [1, 64, 56, 56]": { inputs: x(1, 64, 56, 56), define: (_, { x }, w) => x!.addNormalization("n", { type: "instance", weights: { scale: w(64), bias: w(64) } }) },
  "group norm 32 groups, [1, 128, 32, 32]": { inputs: x(1, 128, 32, 32), define: (_, { x }, w) => x!.addNormalization("n", { type: "group", groups: 32, weights: { scale: w(128), bias: w(128) } }) },
  "add, same shape, [1, 64, 56, 56]": { inputs: { x: { shape: [1, 64, 56, 56] }, y: { shape: [1, 64, 56, 56] } }, define: (_, { x, y }) => x!.addElementWise("e", y!, "sum") },
  "multiply by [1, C, 1, 1], [8, 144, 28, 28]": { inputs: { x: { shape: [8, 144, 28, 28] }, y: { shape: [8, 144, 1, 1] } }, define: (_, { x, y }) => x!.addElementWise("e", y!, "prod") },
  "add [1, 1, H, W], [4, 64, 56, 56]": { inputs: { x: { shape: [4, 64, 56, 56] }, y: { shape: [1, 1, 56, 56] } }, define: (_, { x, y }) => x!.addElementWise("e", y!, "sum") },
  "add [T, D] over the batch, [8, 197, 192]": { inputs: { x: { shape: [8, 197, 192] }, y: { shape: [1, 197, 192] } }, define: (_, { x, y }) => x!.addElementWise("e", y!, "sum") },
  "maximum, [1, 64, 56, 56]": { inputs: { x: { shape: [1, 64, 56, 56] }, y: { shape: [1, 64, 56, 56] } }, define: (_, { x, y }) => x!.addElementWise("e", y!, "max") },
  "sigmoid, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addActivation("a", { type: "sigmoid" }) },
  "tanh, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addActivation("a", { type: "tanh" }) },
  "leaky ReLU, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addActivation("a", { type: "leaky_relu", alpha: 0.1 }) },
  "ELU, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addActivation("a", { type: "elu", alpha: 1 }) },
  "GELU (erf), [8, 197, 768]": { inputs: x(8, 197, 768), define: (_, { x }) => x!.addActivation("a", { type: "gelu_erf" }) },
  "exp, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addUnary("u", "exp") },
  "sqrt, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addUnary("u", "abs").addUnary("v", "sqrt") },
  "PReLU per channel, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }, w) => x!.addParametricReLU("p", { numParameters: 64, weights: { slope: w(64) } }) },
  "nearest ×2, [1, 128, 56, 56]": { inputs: x(1, 128, 56, 56), define: (_, { x }) => x!.addResize("r", { mode: "nearest", scales: [1, 1, 2, 2] }) },
  "bilinear ×2, [1, 64, 64, 64]": { inputs: x(1, 64, 64, 64), define: (_, { x }) => x!.addResize("r", { mode: "linear", scales: [1, 1, 2, 2] }) },
  "concatenation of channels, 2 × [1, 128, 56, 56]": { inputs: { x: { shape: [1, 128, 56, 56] }, y: { shape: [1, 128, 56, 56] } }, define: (net, { x, y }) => net.addConcatenation("c", [x!, y!], { axis: 1 }) },
  "slice half the channels, [1, 256, 56, 56]": { inputs: x(1, 256, 56, 56), define: (_, { x }) => x!.addSlice("s", { start: [0, 128, 0, 0], size: [1, 128, 56, 56], stride: [1, 1, 1, 1] }) },
  "transpose NCHW → NHWC, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addShuffle("t", { firstTranspose: [0, 2, 3, 1] }) },
  "pixel shuffle ×2, [1, 256, 56, 56]": { inputs: x(1, 256, 56, 56), define: (_, { x }) => x!.addShuffle("t", { reshape: [1, 64, 2, 2, 56, 56], secondTranspose: [0, 1, 4, 2, 5, 3] }).addShuffle("u", { reshape: [1, 64, 112, 112] }) },
  "constant padding 1, [1, 64, 112, 112]": { inputs: x(1, 64, 112, 112), define: (_, { x }) => x!.addPadding("p", { pre: [1, 1], post: [1, 1] }) },
  "top 5 of 1000, [64, 1000]": { inputs: x(64, 1000), define: (_, { x }) => x!.addTopK("k", { op: "max", k: 5 }).values },
  "LRN 5, [1, 96, 55, 55]": { inputs: x(1, 96, 55, 55), define: (_, { x }) => x!.addLRN("l", { window: 5, alpha: 1e-4, beta: 0.75, k: 2 }) },
  "grouped 3×3, 32 groups, 256 → 256, [1, 256, 28, 28]": { inputs: x(1, 256, 28, 28), define: conv(256, 3, { groups: 32, padding: 1 }) },
  "dilated 3×3 (2), 256 → 256, [1, 256, 28, 28]": { inputs: x(1, 256, 28, 28), define: conv(256, 3, { dilation: 2, padding: 2 }) },
  "depthwise 5×5, [1, 240, 28, 28]": { inputs: x(1, 240, 28, 28), define: conv(240, 5, { groups: 240, padding: 2 }) },
  "5×5 64 → 64, [1, 64, 56, 56]": { inputs: x(1, 64, 56, 56), define: conv(64, 5, { padding: 2 }) },
  "7×7 stride 2 stem, [1, 3, 224, 224]": { inputs: x(1, 3, 224, 224), define: conv(64, 7, { stride: 2, padding: 3 }) },
  "batched matrix product, [8, 12, 64, 64]²": { inputs: { x: { shape: [8, 12, 64, 64] }, y: { shape: [8, 12, 64, 64] } }, define: (_, { x, y }) => x!.addMatrixMultiply("m", y!, { opB: "transpose" }) },
  "dense 2048 → 1000, batch 8": { inputs: x(8, 2048), define: (_, { x }, w) => x!.addFullyConnected("f", { outFeatures: 1000, weights: { kernel: w(1000, 2048), bias: w(1000) } }) },
};

const filter = process.argv[2];
const selected = Object.entries(cases).filter(([name]) => !filter || name.includes(filter));
const rows = [["layer", "builtin ms", "its layers ms", "onnxruntime ms", "ratio"]];
for (const [index, [name, c]] of selected.entries()) {
  const { net, feeds } = defineCase(c);
  const engine = await buildEngine(net, { tuning: "fast" });
  const ctx = engine.createExecutionContext();
  const session = await ort.InferenceSession.create(await exportOnnx(net), { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.shape)]));
  const ours: number[] = [], theirs: number[] = [];
  for (let turn = 0; turn < 3; turn++) {
    await timeTurn(() => ctx.execute(inputs), ours, 0.15);
    await timeTurn(() => session.run(ortFeeds), theirs, 0.15);
  }
  // The layers' own time, without the execution's fixed cost (inputs copied in, outputs handed out).
  const layerTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { profile } = await ctx.execute(inputs, { profile: true });
    layerTimes.push(profile.reduce((sum, p) => sum + p.milliseconds, 0));
    if (process.env.BENCH_PROFILE && i === 19) process.stderr.write(profile.map((p) => `  ${p.layer} ${p.milliseconds.toFixed(3)}`).join("\n") + "\n" + engine.inspect().layers.map((l) => `  ${l.name}: ${l.kind} ${l.tactic ?? ""}`).join("\n") + "\n");
  }
  const [a, b] = [summary(ours).median, summary(theirs).median];
  rows.push([name, a.toFixed(3), summary(layerTimes).median.toFixed(3), b.toFixed(3), (b / a).toFixed(2)]);
  process.stderr.write(`[${index + 1}/${selected.length}] ${name}: ${(b / a).toFixed(2)}\n`);
  engine.dispose();
  await session.release();
}
printTable(rows, [0]);
