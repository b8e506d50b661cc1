// What the TensorRT lowering asks of an INetworkDefinition, recorded by the stand-in network (the same C++ lowering
// template instantiated over a recorder). `npm run check:tensorrt` compiles the same template against TensorRT's
// real headers.
import { describe, expect, it } from "vitest";
import { buildEngine, LoweringError, Network, type Tensor, type WeightTensor, WeightStore } from "netdef";
import { refitValues } from "../../api/refit.js";
import type { TensorRTHeader } from "../../plan/tensorrt-container.js";
import { refitRecord } from "../../tensorrt/build.js";
import { addon, typedNativeError } from "../../native/addon.js";
import { encodePlan } from "../../plan/encode.js";
import { recordTensorRTLowering } from "netdef/diagnostics";
import { defineLeNet } from "../../models/lenet.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";

const lines = (net: Network) => recordTensorRTLowering(net).calls.map((c) => `${c.target}.${c.method}(${c.args})`);

/** The calls made for the layer named `name`: from its add* call to its setName, with `#` for the layer id. */
function callsOf(all: string[], name: string): string[] {
  const end = all.findIndex((l) => l.endsWith(`.setName(${name})`) && l.startsWith("(Unnamed"));
  const id = all[end]!.slice(0, all[end]!.indexOf(")") + 1);
  const start = all.findIndex((l, i) => i < end && all[i + 1]?.startsWith(id) && l.startsWith("network.add"));
  return all.slice(start, end + 1).filter((l) => !l.startsWith("network.setWeightsName")).map((l) => l.replace(id, "#"));
}

function single(shape: number[], add: (x: Tensor, net: Network) => Tensor): string[] {
  const net = new Network("one");
  net.markOutput(add(net.addInput("x", "float32", shape), net), "y");
  return lines(net);
}

describe("LeNet", () => {
  it("lowers to TensorRT 10's idioms, every layer and weight named", async () => {
    const calls = lines(defineLeNet(await loadFixtureWeights("lenet.safetensors")));
    expect(calls[0]).toBe("network.addInput(data,kFLOAT,[-1,1,28,28])");
    expect(callsOf(calls, "conv1")).toEqual([
      "network.addConvolutionNd(data,20,[5,5],Weights{kFLOAT,500},Weights{kFLOAT,20})",
      "#.setStrideNd([1,1])", "#.setPrePadding([0,0])", "#.setPostPadding([0,0])", "#.setDilationNd([1,1])", "#.setNbGroups(1)",
      "#.setPaddingMode(kEXPLICIT_ROUND_DOWN)", "#.setName(conv1)",
    ]);
    // Pooling stride set explicitly (TensorRT's default is 1); PyTorch's count_include_pad → excludes = false.
    expect(callsOf(calls, "pool1")).toEqual([
      "network.addPoolingNd(conv1,kMAX,[2,2])", "#.setStrideNd([2,2])", "#.setPrePadding([0,0])", "#.setPostPadding([0,0])",
      "#.setPaddingMode(kEXPLICIT_ROUND_DOWN)", "#.setAverageCountExcludesPadding(false)", "#.setName(pool1)",
    ]);
    // Fully connected: flatten, constant W, matmul with W transposed, constant bias row, sum.
    const fc1 = calls.slice(calls.indexOf("network.addShuffle(pool2)"), calls.findIndex((l) => l.endsWith(".setName(fc1)")) + 1).map((l) => l.replace(/\(Unnamed Layer\* \d+\)/, "#"));
    expect(fc1).toEqual([
      "network.addShuffle(pool2)", "#.setReshapeDimensions([0,-1])", "#.setName(fc1.flatten)",
      "network.addConstant([500,800],Weights{kFLOAT,400000})", "#.setName(fc1.weight)",
      "network.addMatrixMultiply(fc1.flatten,kNONE,fc1.weight,kTRANSPOSE)", "#.setName(fc1.matmul)",
      "network.addConstant([1,500],Weights{kFLOAT,500})", "#.setName(fc1.bias)",
      "network.addElementWise(fc1.matmul,fc1.bias,kSUM)", "#.setName(fc1)",
    ]);
    expect(callsOf(calls, "softmax")).toEqual(["network.addSoftMax(fc2)", "#.setAxes(2)", "#.setName(softmax)"]);
    const marked = calls.indexOf("network.markOutput(prob)");
    expect(calls.slice(marked - 2, marked + 1)).toEqual(["(Unnamed Layer* 17).setName(prob.output)", "prob.output.setName(prob)", "network.markOutput(prob)"]);
    // Every PyTorch weight named for the refitter, once the network is complete ("after the Weights are used").
    expect(calls.slice(marked + 1).every((l) => l.startsWith("network.setWeightsName"))).toBe(true);
    expect(calls.filter((l) => l.startsWith("network.setWeightsName")).map((l) => l.split(",").at(-1)!.slice(0, -1)).sort())
      .toEqual(["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
  });
});

describe("yolo_block", () => {
  it("Mish as softplus, tanh and a product; BatchNorm as a channel scale with folded values", async () => {
    const weights = await loadFixtureWeights("yolo_block.safetensors");
    const record = recordTensorRTLowering(defineYoloBlock(weights));
    const calls = record.calls.map((c) => `${c.target}.${c.method}(${c.args})`);
    expect(callsOf(calls, "stem.softplus")).toEqual(["network.addActivation(stem.bn,kSOFTPLUS)", "#.setAlpha(1)", "#.setBeta(1)", "#.setName(stem.softplus)"]);
    expect(callsOf(calls, "stem.tanh")[0]).toBe("network.addActivation(stem.softplus,kTANH)");
    expect(callsOf(calls, "stem.mish")).toEqual(["network.addElementWise(stem.bn,stem.tanh,kPROD)", "#.setName(stem.mish)"]);
    expect(callsOf(calls, "stem.bn")).toEqual(["network.addScaleNd(stem.conv,kCHANNEL,Weights{kFLOAT,16},Weights{kFLOAT,16},Weights{},1)", "#.setName(stem.bn)"]);
    // The folded values: scale = γ/√(var + 1e-5), shift = β − mean·scale, from the fixture's statistics.
    const [gamma, beta, mean, variance] = ["weight", "bias", "running_mean", "running_var"].map((r) => weights.float32(`stem.bn.${r}`));
    const scale = record.weights.find((w) => w.owner === "stem.bn.scale")!.values;
    const shift = record.weights.find((w) => w.owner === "stem.bn.shift")!.values;
    for (let c = 0; c < 16; c++) {
      const s = gamma![c]! / Math.sqrt(variance![c]! + 1e-5);
      expect(scale[c]).toBeCloseTo(s, 6);
      expect(shift[c]).toBeCloseTo(beta![c]! - mean![c]! * s, 6);
    }
    expect(callsOf(calls, "spp")).toEqual(["network.addConcatenation(down.mish,spp.pool5,spp.pool9,spp.pool13)", "#.setAxis(1)", "#.setName(spp)"]);
    expect(callsOf(calls, "up")).toEqual([
      "network.addResize(reduce.mish)", "#.setResizeMode(kNEAREST)", "#.setScales([1,1,2,2])", "#.setCoordinateTransformation(kASYMMETRIC)",
      "#.setNearestRounding(kFLOOR)", "#.setCubicCoeff(-0.75)", "#.setName(up)",
    ]);
  });
});

describe("layer variants", () => {
  it.each([
    ["ceil-mode average pooling excluding padding",
      (x: Tensor) => x.addPooling("p", { type: "average", window: 3, stride: 2, padding: 1, paddingMode: "explicit_round_up", countIncludePad: false }),
      ["network.addPoolingNd(x,kAVERAGE,[3,3])", "#.setStrideNd([2,2])", "#.setPrePadding([1,1])", "#.setPostPadding([1,1])", "#.setPaddingMode(kEXPLICIT_ROUND_UP)", "#.setAverageCountExcludesPadding(true)", "#.setName(p)"]],
    ["SAME pooling and blend",
      (x: Tensor) => x.addPooling("p", { type: "max_average_blend", window: 2, paddingMode: "same_lower", blendFactor: 0.25 }),
      ["network.addPoolingNd(x,kMAX_AVERAGE_BLEND,[2,2])", "#.setStrideNd([2,2])", "#.setPrePadding([0,0])", "#.setPostPadding([0,0])", "#.setPaddingMode(kSAME_LOWER)", "#.setAverageCountExcludesPadding(false)", "#.setBlendFactor(0.25)", "#.setName(p)"]],
    ["zero padding of the last two dims", (x: Tensor) => x.addPadding("p", { pre: [1, 2], post: [3, 4] }),
      ["network.addPaddingNd(x,[1,2],[3,4])", "#.setName(p)"]],
    ["log-softmax stays softmax + log (TensorRT fuses it itself)", (x: Tensor) => x.addSoftMax("s", { axis: -1 }),
      ["network.addSoftMax(x)", "#.setAxes(8)", "#.setName(s)"]],
    ["bilinear resize to a size, align corners", (x: Tensor) => x.addResize("r", { mode: "linear", outputShape: [-1, -1, 8, 8], coordinateTransformation: "align_corners" }),
      ["network.addResize(x)", "#.setResizeMode(kLINEAR)", "#.setOutputDimensions([1,3,8,8])", "#.setCoordinateTransformation(kALIGN_CORNERS)", "#.setNearestRounding(kFLOOR)", "#.setCubicCoeff(-0.75)", "#.setName(r)"]],
    ["cast to half", (x: Tensor) => x.addCast("c", { to: "float16" }), ["network.addCast(x,kHALF)", "#.setName(c)"]],
    ["reduce with keepDims", (x: Tensor) => x.addReduce("r", { op: "avg", axes: [2, 3], keepDims: true }), ["network.addReduce(x,kAVG,12,true)", "#.setName(r)"]],
    // After a first transpose, which dimension a 0 copies is undocumented: the lowering writes it out.
    ["shuffle", (x: Tensor) => x.addShuffle("s", { firstTranspose: [0, 2, 3, 1], reshape: [0, -1, 3] }),
      ["network.addShuffle(x)", "#.setFirstTranspose((0,2,3,1,0,0,0,0))", "#.setReshapeDimensions([1,-1,3])", "#.setZeroIsPlaceholder(true)", "#.setSecondTranspose((0,1,2,0,0,0,0,0))", "#.setName(s)"]],
    ["ReLU6 as clip", (x: Tensor) => x.addActivation("a", { type: "clip", alpha: 0, beta: 6 }), ["network.addActivation(x,kCLIP)", "#.setAlpha(0)", "#.setBeta(6)", "#.setName(a)"]],
  ])("%s", (_, add, expected) => {
    expect(callsOf(single([1, 3, 4, 4], (x) => add(x)), expected.at(-1)!.slice(10, -1))).toEqual(expected);
  });

  it("padding with a value becomes a fill-mode slice", () => {
    const calls = single([1, 3, 4, 4], (x) => x.addPadding("p", { pre: [1], post: [1], value: -1 }));
    expect(callsOf(calls, "p")).toEqual(["network.addSlice(x,[0,0,0,-1],[1,3,4,6],[1,1,1,1])", "#.setMode(kFILL)",
      "network.addConstant([],Weights{kFLOAT,1})", "(Unnamed Layer* 1).setName(p.value)", "#.setInput(4,p.value)", "#.setName(p)"]);
  });

  it("broadcasting to equal ranks inserts a reshape", () => {
    const net = new Network("bcast");
    const x = net.addInput("x", "float32", [2, 3, 4]);
    net.markOutput(x.addElementWise("add", net.addInput("b", "float32", [4]), "sum"));
    const calls = lines(net);
    expect(callsOf(calls, "add.broadcast1")).toEqual(["network.addShuffle(b)", "#.setReshapeDimensions([1,1,4])", "#.setName(add.broadcast1)"]);
    expect(callsOf(calls, "add")).toEqual(["network.addElementWise(x,add.broadcast1,kSUM)", "#.setName(add)"]);
  });

  it("explicit INT8: weights quantized per channel, activations per tensor (TensorRT quantizes no activation per channel)", () => {
    const calls = single([1, 3, 4, 4], (x, net) => {
      const w = net.addConstant("w", { shape: [3, 3, 1, 1], weights: new Float32Array(9).fill(0.5) });
      const qw = w.addQuantize("qw", { scale: new Float32Array([0.1, 0.2, 0.3]), axis: 0 }).addDequantize("dqw", { scale: new Float32Array([0.1, 0.2, 0.3]), axis: 0 });
      return x.addQuantize("q", { scale: new Float32Array([0.1]) }).addDequantize("dq", { scale: new Float32Array([0.1]) }).addElementWise("sum", qw.addShuffle("flat", { reshape: [1, 3, 3, 1] }).addSlice("s", { start: [0, 0, 0, 0], size: [1, 3, 1, 1] }), "sum");
    });
    expect(callsOf(calls, "qw")).toEqual(["network.addQuantize(w,qw.scale,kINT8)", "#.setAxis(0)", "#.setName(qw)"]);
    expect(callsOf(calls, "dqw")).toEqual(["network.addDequantize(qw,dqw.scale,kFLOAT)", "#.setAxis(0)", "#.setName(dqw)"]);
    expect(callsOf(calls, "q")).toEqual(["network.addQuantize(x,q.scale,kINT8)", "#.setName(q)"]);
    expect(() => single([1, 3, 4, 4], (x) => x.addQuantize("q", { scale: new Float32Array([0.1, 0.2, 0.3]), axis: 1 })))
      .toThrow(/^q \(quantize\): per-channel quantization of an activation \(TensorRT quantizes weights per channel, activations per tensor\) is not supported/);
  });

  it("group normalisation (TensorRT ≥ 10.15): PyTorch's per-channel affine as addNormalizationV2's [1, C, 1, 1] scale and bias", () => {
    const calls = single([1, 4, 2, 2], (x) => x.addNormalization("gn", { type: "group", groups: 2, weights: { scale: new Float32Array(4).fill(1), bias: new Float32Array(4) } }));
    expect(callsOf(calls, "gn.scale")).toEqual(["network.addConstant([1,4,1,1],Weights{kFLOAT,4})", "#.setName(gn.scale)"]);
    expect(callsOf(calls, "gn")).toEqual(["network.addNormalizationV2(x,gn.scale,gn.bias,12)", "#.setEpsilon(1e-05)", "#.setNbGroups(2)", "#.setName(gn)"]);
    expect(calls.some((l) => l.includes("addScaleNd"))).toBe(false);
  });

  it("every layer kind lowers", async () => {
    const net = new Network("all");
    const x = net.addInput("x", "float32", [1, 4, 6, 6]);
    const w = (n: number) => new Float32Array(n).fill(0.5);
    const c = x.addConvolution("conv", { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: w(144), bias: w(4) } })
      .addDeconvolution("deconv", { outChannels: 4, kernel: 2, stride: 2, weights: { kernel: w(64), bias: w(4) } })
      .addPooling("pool", { type: "max", window: 2 })
      .addBatchNorm("bn", { weights: { weight: w(4), bias: w(4), mean: w(4), variance: w(4) } })
      .addScale("scale", { mode: "channel", scale: w(4) })
      .addParametricReLU("prelu", { numParameters: 4, weights: { slope: w(4) } })
      .addLRN("lrn", { window: 3 })
      .addNormalization("inorm", { type: "instance", weights: { scale: w(4), bias: w(4) } })
      .addUnary("abs", "abs");
    const flat = c.addShuffle("flat", { reshape: [1, -1] });
    const mm = flat.addMatrixMultiply("mm", net.addConstant("k", { shape: [144, 2], weights: w(288) }));
    const picked = mm.addGather("g", net.addConstant("i", { shape: [1], weights: new Float32Array([1]), dtype: "int32" }), { axis: 1 });
    const sel = net.addSelect("sel", picked.addElementWise("gt", picked, "greater"), picked, picked);
    const top = net.addConcatenation("cat", [sel, sel], { axis: 1 }).addTopK("top", { op: "max", k: 1 });
    const out = top.values.addSlice("slice", { start: [0, 0], size: [1, 1] }).addIdentity("id").addCast("cast", { to: "float32" })
      .addFullyConnected("fc", { outFeatures: 2, weights: { kernel: w(2), bias: w(2) } }).addSoftMax("sm", { axis: 1 });
    net.markOutput(out);
    net.markOutput(top.indices, "indices");
    const kinds = new Set(recordTensorRTLowering(net).calls.filter((l) => l.target === "network").map((l) => l.method));
    expect([...kinds].sort()).toEqual(["addCast", "addConcatenation", "addConstant", "addConvolutionNd", "addDeconvolutionNd", "addElementWise",
      "addGather", "addIdentity", "addInput", "addLRN", "addMatrixMultiply", "addNormalizationV2", "addParametricReLU", "addPoolingNd", "addScaleNd",
      "addSelect", "addShuffle", "addSlice", "addSoftMax", "addTopK", "addUnary", "markOutput", "setWeightsName"]);
  });

  it("what TensorRT cannot express is a LoweringError naming the layer", () => {
    const net = new Network("dyn");
    const x = net.addInput("x", "float32", [-1, 3, -1, 4]);
    net.markOutput(x.addPadding("p", { pre: [1], post: [1], value: 2 }));
    expect(() => recordTensorRTLowering(net)).toThrow(LoweringError);
    expect(() => recordTensorRTLowering(net)).toThrow(/^p \(padding\): non-zero or other-than-2-d padding of a dynamic shape is not supported/);
  });
});

// The defects a reading of native/src/tensorrt/ against TensorRT's headers found (issue 27), each pinned here through
// the recording network, which returns what TensorRT documents (setWeightsName's false, add*'s nullptr).
describe("lowering as TensorRT's headers document it", () => {
  const w = (n: number, v = 0.5) => new Float32Array(n).fill(v);

  it("weights are named once every layer uses them, a weight tied between layers as one refittable name", () => {
    const weights = new WeightStore([["shared.weight", { dtype: "float32", shape: [3, 3, 1, 1], data: w(9) }]]);
    const net = new Network("tied", { weights });
    const x = net.addInput("x", "float32", [1, 3, 4, 4]);
    net.markOutput(x.addConvolution("a", { outChannels: 3, kernel: 1, bias: false, weights: { kernel: "shared.weight" } }).addConvolution("b", { outChannels: 3, kernel: 1, bias: false, weights: { kernel: "shared.weight" } }));
    const calls = lines(net);
    const names = calls.filter((l) => l.startsWith("network.setWeightsName"));
    expect(names).toEqual(["network.setWeightsName(Weights{kFLOAT,9},shared.weight)"]);
    const lastAdd = calls.length - 1 - [...calls].reverse().findIndex((l) => l.startsWith("network.add"));
    expect(calls.indexOf(names[0]!)).toBeGreaterThan(lastAdd);
  });

  it("max-average blend keeps TensorRT's factor: (1 − f)·max + f·average, the builtin kernel alike", async () => {
    const net = new Network("blend");
    net.markOutput(net.addInput("x", "float32", [1, 1, 1, 2]).addPooling("p", { type: "max_average_blend", window: [1, 2], blendFactor: 0.25 }), "y");
    expect(callsOf(lines(net), "p")).toContain("#.setBlendFactor(0.25)");
    const { y } = await (await buildEngine(net)).createExecutionContext().execute({ x: Float32Array.of(2, 4) });
    expect(y!.data).toEqual(Float32Array.of(0.75 * 4 + 0.25 * 3));
  });

  it("a transposed convolution whose output padding exceeds its padding: no negative post-padding, a fill slice and the bias after", () => {
    const calls = single([1, 2, 3, 3], (x) => x.addDeconvolution("up", { outChannels: 2, kernel: 3, stride: 2, padding: 0, outputPadding: 1, weights: { kernel: w(36), bias: w(2) } }));
    expect(callsOf(calls, "up.deconvolution")).toEqual(["network.addDeconvolutionNd(x,2,[3,3],Weights{kFLOAT,36},Weights{})", "#.setStrideNd([2,2])", "#.setPrePadding([0,0])",
      "#.setPostPadding([0,0])", "#.setDilationNd([1,1])", "#.setNbGroups(1)", "#.setName(up.deconvolution)"]);
    expect(callsOf(calls, "up.output_padding")[0]).toBe("network.addSlice(up.deconvolution,[0,0,0,0],[1,2,8,8],[1,1,1,1])");
    expect(callsOf(calls, "up")).toEqual(["network.addElementWise(up.output_padding,up.bias,kSUM)", "#.setName(up)"]);
    // Within the padding, post-padding shrinks by the output padding as before.
    const inside = single([1, 2, 3, 3], (x) => x.addDeconvolution("up", { outChannels: 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, weights: { kernel: w(36), bias: w(2) } }));
    expect(callsOf(inside, "up")).toContain("#.setPostPadding([0,0])");
    expect(inside.some((l) => l.includes("addSlice"))).toBe(false);
  });

  it("1-d convolution, transposed convolution and pooling run as 2-d with a trailing dimension of 1 (TensorRT's are 2-d or 3-d)", () => {
    const calls = single([1, 2, 9], (x) => x.addConvolution("c", { outChannels: 2, kernel: 3, stride: 2, padding: 1, bias: false, weights: { kernel: w(12) } })
      .addPooling("p", { type: "max", window: 2 }).addDeconvolution("d", { outChannels: 2, kernel: 2, stride: 2, bias: false, weights: { kernel: w(8) } }));
    expect(callsOf(calls, "c.unsqueeze")).toEqual(["network.addShuffle(x)", "#.setReshapeDimensions([0,0,0,1])", "#.setName(c.unsqueeze)"]);
    expect(callsOf(calls, "c.2d")).toEqual(["network.addConvolutionNd(c.unsqueeze,2,[3,1],Weights{kFLOAT,12},Weights{})", "#.setStrideNd([2,1])", "#.setPrePadding([1,0])",
      "#.setPostPadding([1,0])", "#.setDilationNd([1,1])", "#.setNbGroups(1)", "#.setPaddingMode(kEXPLICIT_ROUND_DOWN)", "#.setName(c.2d)"]);
    expect(callsOf(calls, "c")).toEqual(["network.addShuffle(c.2d)", "#.setReshapeDimensions([0,0,0])", "#.setName(c)"]);
    expect(callsOf(calls, "p.2d")[0]).toBe("network.addPoolingNd(p.unsqueeze,kMAX,[2,1])");
    expect(callsOf(calls, "d.2d")[0]).toBe("network.addDeconvolutionNd(d.unsqueeze,2,[2,1],Weights{kFLOAT,8},Weights{})");
  });

  it("scales of rank-2 and rank-3 tensors (BatchNorm1d) run on 4 dimensions (IScaleLayer needs at least 4)", () => {
    const calls = single([2, 3], (x) => x.addBatchNorm("bn", { weights: { weight: w(3), bias: w(3), mean: w(3), variance: w(3, 1) } }));
    expect(callsOf(calls, "bn.unsqueeze")).toEqual(["network.addShuffle(x)", "#.setReshapeDimensions([0,0,1,1])", "#.setName(bn.unsqueeze)"]);
    expect(callsOf(calls, "bn.4d")[0]).toBe("network.addScaleNd(bn.unsqueeze,kCHANNEL,Weights{kFLOAT,3},Weights{kFLOAT,3},Weights{},1)");
    expect(callsOf(calls, "bn")).toEqual(["network.addShuffle(bn.4d)", "#.setReshapeDimensions([0,0])", "#.setName(bn)"]);
  });

  it("integer negation and absolute value as element-wise ops (TensorRT's unary ops take floats; kSIGN int32 too)", () => {
    const net = new Network("ints");
    const x = net.addInput("x", "int32", [2, 3]);
    net.markOutput(x.addUnary("n", "neg"), "n");
    net.markOutput(x.addUnary("a", "abs"), "a");
    net.markOutput(x.addUnary("s", "sign"), "s");
    const calls = lines(net);
    expect(callsOf(calls, "n")).toEqual(["network.addElementWise(n.zero,x,kSUB)", "#.setName(n)"]);
    expect(callsOf(calls, "a")).toEqual(["network.addElementWise(x,a.negated,kMAX)", "#.setName(a)"]);
    expect(callsOf(calls, "s")).toEqual(["network.addUnary(x,kSIGN)", "#.setName(s)"]);
  });

  it("scale in elementwise mode has a weight per element of the dimensions from channelAxis on (TensorRT's count), the builtin kernel alike", async () => {
    const net = new Network("scale");
    const x = net.addInput("x", "float32", [1, 2, 2, 3]);
    net.markOutput(x.addScale("s", { mode: "elementwise", channelAxis: 2, scale: Float32Array.of(1, 2, 3, 4, 5, 6) }), "y");
    expect(callsOf(lines(net), "s")[0]).toBe("network.addScaleNd(x,kELEMENTWISE,Weights{},Weights{kFLOAT,6},Weights{},2)");
    const { y } = await (await buildEngine(net)).createExecutionContext().execute({ x: new Float32Array(12).fill(1) });
    expect(y!.data).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6));
  });

  it("a float16 or bfloat16 layer's weights in its own type (a strongly typed network computes it so)", () => {
    const net = new Network("half");
    const x = net.addInput("x", "float16", [1, 3, 4, 4]);
    const c = x.addConvolution("c", { outChannels: 2, kernel: 1, weights: { kernel: w(6), bias: w(2) } });
    net.markOutput(c.addFullyConnected("fc", { outFeatures: 2, weights: { kernel: w(64), bias: w(2) } }));
    const brain = new Network("brain");
    brain.markOutput(brain.addInput("x", "bfloat16", [1, 3, 4, 4]).addPadding("p", { pre: [1], post: [1], value: -1 }));
    const calls = lines(net);
    expect(callsOf(calls, "c")[0]).toBe("network.addConvolutionNd(x,2,[1,1],Weights{kHALF,6},Weights{kHALF,2})");
    expect(callsOf(calls, "fc.weight")[0]).toBe("network.addConstant([2,32],Weights{kHALF,64})");
    expect(lines(brain)).toContain("network.addConstant([],Weights{kBF16,1})");
  });

  it("PyTorch's ceil mode as floor mode with the post-padding that reaches PyTorch's extent (kEXPLICIT_ROUND_UP keeps one window more)", () => {
    const ceil = single([1, 1, 5, 5], (x) => x.addPooling("p", { type: "max", window: 2, padding: 1, ceilMode: true }));
    expect(callsOf(ceil, "p")).toEqual(["network.addPoolingNd(x,kMAX,[2,2])", "#.setStrideNd([2,2])", "#.setPrePadding([1,1])", "#.setPostPadding([1,1])",
      "#.setPaddingMode(kEXPLICIT_ROUND_DOWN)", "#.setAverageCountExcludesPadding(false)", "#.setName(p)"]);
    const extended = single([1, 1, 6, 6], (x) => x.addPooling("p", { type: "max", window: 3, stride: 2, ceilMode: true }));
    expect(callsOf(extended, "p")).toContain("#.setPostPadding([1,1])");  // floor((6 + 1 − 3) / 2) + 1 = 3 = PyTorch's ceil
    const round = single([1, 1, 5, 5], (x) => x.addPooling("p", { type: "max", window: 2, padding: 1, paddingMode: "explicit_round_up" }));
    expect(callsOf(round, "p")).toContain("#.setPaddingMode(kEXPLICIT_ROUND_UP)");
    expect(() => single([1, 1, 6, 6], (x) => x.addPooling("p", { type: "average", window: 3, stride: 2, ceilMode: true })))
      .toThrow(/p \(pooling\): ceil-mode average pooling that counts padding \(PyTorch's divisor stops at the padding\) is not supported/);
  });

  it("a padding fill value in the input's own type (ISliceLayer converts only among float, half, int8 and fp8)", () => {
    const net = new Network("fills");
    net.markOutput(net.addInput("i", "int64", [1, 3, 4]).addPadding("pi", { pre: [1], post: [1], value: 7 }), "a");
    net.markOutput(net.addInput("b", "bool", [1, 3, 4]).addPadding("pb", { pre: [1], post: [1], value: 1 }), "c");
    const calls = lines(net);
    expect(callsOf(calls, "pi.value")).toEqual(["network.addConstant([],Weights{kINT64,1})", "#.setName(pi.value)"]);
    expect(callsOf(calls, "pb.value")).toEqual(["network.addConstant([],Weights{kBOOL,1})", "#.setName(pb.value)"]);
  });

  it("limits TensorRT documents are refused before the lowering, with the header's words", () => {
    const refused = (add: (x: Tensor) => Tensor, shape = [1, 4, 8, 8]) => () => single(shape, add);
    expect(refused((x) => x.addTopK("t", { op: "max", k: 4000, axis: 1 }).values, [1, 5000]))
      .toThrow(/t \(topK, [^)]*\): k = 4000: "Currently only values of K up to 3840 are supported"/);
    expect(refused((x) => x.addTopK("t", { op: "max", k: 1, axis: 0 }).values, [2, 1, 1, 1, 4]))
      .toThrow(/t \(topK, [^)]*\): axis 0 of a rank-5 input: "it must be one of the last four dimensions"/);
    expect(refused((x) => x.addLRN("l", { window: 3 }), [1, 4, 8])).toThrow(/l \(lrn, [^)]*\): a rank-3 input: TensorRT's LRN runs across the channels of NCHW tensors/);
    expect(refused((x) => x.addResize("r", { mode: "linear", scales: [2, 2, 2, 2] }))).toThrow(/r \(resize, [^)]*\): linear resizing of the last 4 dimensions: TensorRT resizes at most 3 that way/);
  });

  it("a layer TensorRT refuses (its add* returns nullptr) is a LoweringError naming it, never a crash", async () => {
    const plan = encodePlan({
      name: "p", inputs: [{ name: "x", dtype: "float32", shape: [1, 5000] }],
      tensors: new Map([["x", { dtype: "float32", shape: [1, 5000] }], ["v", { dtype: "float32", shape: [1, 4000] }], ["i", { dtype: "int32", shape: [1, 4000] }]]),
      ops: [{ kind: "topK", name: "top", inputs: ["x"], outputs: ["v", "i"], params: { op: "max", k: 4000, axis: 1 }, weights: {}, weightNames: {} }],
      outputs: [{ name: "v", tensor: "v" }],
    }, {});
    const error = (() => { try { addon().recordTensorRTLowering(plan); } catch (e) { return typedNativeError(e); } })();
    expect(error).toBeInstanceOf(LoweringError);
    expect((error as Error).message).toBe("top (topK): TensorRT refused the layer (its add* call returned nullptr)");
  });

  it("a refit by PyTorch's names folds a BatchNorm again into the scale and shift the engine holds, as the lowering folded them", async () => {
    const weights = await loadFixtureWeights("yolo_block.safetensors");
    const net = defineYoloBlock(weights);
    const folded = recordTensorRTLowering(net).weights;
    const extra = new WeightStore([...weights.names().map((n) => [n, weights.get(n)!] as [string, WeightTensor]), ["stem.bn.num_batches_tracked", { dtype: "int64", shape: [], data: BigInt64Array.of(7n) }]]);
    const { values, ignored } = refitValues({ ...refitRecord(net.toJSON()) } as TensorRTHeader, extra);
    for (const role of ["scale", "shift"]) {
      const lowered = folded.find((w) => w.owner === `stem.bn.${role}`)!.values;
      values[`stem.bn.${role}`]!.forEach((v, c) => expect(v).toBeCloseTo(lowered[c]!, 6));
    }
    expect(Object.keys(values)).not.toContain("stem.bn.running_mean");
    expect(values["stem.conv.weight"]).toEqual(weights.float32("stem.conv.weight"));
    expect(ignored).toEqual(["stem.bn.num_batches_tracked"]);
    const partial = new WeightStore([["stem.bn.weight", weights.get("stem.bn.weight")!]]);
    expect(() => refitValues({ ...refitRecord(net.toJSON()) } as TensorRTHeader, partial))
      .toThrow(/stem\.bn: stem\.bn\.bias, stem\.bn\.running_mean, stem\.bn\.running_var missing \(a BatchNorm's four weights fold together\)/);
  });
});
