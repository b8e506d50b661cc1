// What the TensorRT lowering asks of an INetworkDefinition, recorded by the stand-in network (the same C++ lowering
// template instantiated over a recorder). `npm run check:tensorrt` compiles the same template against TensorRT's
// real headers.
import { describe, expect, it } from "vitest";
import { LoweringError, Network, type Tensor } from "netdef";
import { recordTensorRTLowering } from "netdef/diagnostics";
import { defineLeNet } from "../../examples/lenet/network.js";
import { defineYoloBlock } from "../../examples/yolo-block/network.js";
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
      "#.setStrideNd([1,1])", "#.setDilationNd([1,1])", "#.setNbGroups(1)", "#.setPrePadding([0,0])", "#.setPostPadding([0,0])",
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
      "network.setWeightsName(Weights{kFLOAT,400000},fc1.weight)", "network.addConstant([500,800],Weights{kFLOAT,400000})", "#.setName(fc1.weight)",
      "network.addMatrixMultiply(fc1.flatten,kNONE,fc1.weight,kTRANSPOSE)", "#.setName(fc1.matmul)",
      "network.setWeightsName(Weights{kFLOAT,500},fc1.bias)", "network.addConstant([1,500],Weights{kFLOAT,500})", "#.setName(fc1.bias)",
      "network.addElementWise(fc1.matmul,fc1.bias,kSUM)", "#.setName(fc1)",
    ]);
    expect(callsOf(calls, "softmax")).toEqual(["network.addSoftMax(fc2)", "#.setAxes(2)", "#.setName(softmax)"]);
    expect(calls.slice(-3)).toEqual(["(Unnamed Layer* 17).setName(prob.output)", "prob.output.setName(prob)", "network.markOutput(prob)"]);
    // Every PyTorch weight named for the refitter.
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
    ["shuffle", (x: Tensor) => x.addShuffle("s", { firstTranspose: [0, 2, 3, 1], reshape: [0, -1, 3] }),
      ["network.addShuffle(x)", "#.setFirstTranspose((0,2,3,1,0,0,0,0))", "#.setReshapeDimensions([0,-1,3])", "#.setZeroIsPlaceholder(true)", "#.setSecondTranspose((0,1,2,0,0,0,0,0))", "#.setName(s)"]],
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

  it("explicit INT8 as Quantize / Dequantize with a per-channel scale", () => {
    const calls = single([1, 3, 4, 4], (x) => x.addQuantize("q", { scale: new Float32Array([0.1, 0.2, 0.3]), axis: 1 }).addDequantize("dq", { scale: new Float32Array([0.1, 0.2, 0.3]), axis: 1 }));
    expect(callsOf(calls, "q")).toEqual(["network.addQuantize(x,q.scale,kINT8)", "#.setAxis(1)", "#.setName(q)"]);
    expect(callsOf(calls, "dq")).toEqual(["network.addDequantize(q,dq.scale,kFLOAT)", "#.setAxis(1)", "#.setName(dq)"]);
  });

  it("group normalisation: per-group unit scale, then PyTorch's per-channel affine as a channel scale", () => {
    const calls = single([1, 4, 2, 2], (x) => x.addNormalization("gn", { type: "group", groups: 2, weights: { scale: new Float32Array(4).fill(1), bias: new Float32Array(4) } }));
    expect(callsOf(calls, "gn.normalize")).toEqual(["network.addNormalizationV2(x,gn.scale,gn.bias,12)", "#.setEpsilon(1e-05)", "#.setNbGroups(2)", "#.setName(gn.normalize)"]);
    expect(callsOf(calls, "gn")[0]).toBe("network.addScaleNd(gn.normalize,kCHANNEL,Weights{kFLOAT,4},Weights{kFLOAT,4},Weights{},1)");
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
