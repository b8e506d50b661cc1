// Output shapes of every layer kind against the PyTorch / TensorRT formulas. Each expectation is worked out by
// hand in the comment beside it, never computed by the code under test.
import { describe, expect, it } from "vitest";
import { Network, type Tensor } from "netdef";

const net = () => new Network("shapes");
const input = (n: Network, shape: number[], dtype: "float32" | "int32" | "bool" | "int8" = "float32", name = "x") => n.addInput(name, dtype, shape);
const conv = (shape: number[], p: Parameters<Tensor["addConvolution"]>[1]) => input(net(), shape).addConvolution("c", p).shape;
const pool = (shape: number[], p: Parameters<Tensor["addPooling"]>[1]) => input(net(), shape).addPooling("p", p).shape;

describe("convolution", () => {
  it.each([
    // floor((32 + 2·1 − 3) / 2) + 1 = 16
    ["stride 2, padding 1", [1, 3, 32, 32], { outChannels: 8, kernel: 3, stride: 2, padding: 1 }, [1, 8, 16, 16]],
    // dilation 2 widens a 3-tap kernel to 5: 10 − 5 + 1 = 6
    ["dilation 2", [1, 3, 10, 10], { outChannels: 4, kernel: 3, dilation: 2 }, [1, 4, 6, 6]],
    // SAME: ceil(15 / 2) = 8
    ["same_upper", [1, 3, 15, 15], { outChannels: 4, kernel: 3, stride: 2, paddingMode: "same_upper" as const }, [1, 4, 8, 8]],
    // ceil((10 − 3) / 2) + 1 = 5 (floor would give 4)
    ["explicit_round_up", [1, 3, 10, 10], { outChannels: 4, kernel: 3, stride: 2, paddingMode: "explicit_round_up" as const }, [1, 4, 5, 5]],
    ["ceilMode", [1, 3, 10, 10], { outChannels: 4, kernel: 3, stride: 2, ceilMode: true }, [1, 4, 5, 5]],
    ["explicit_round_down", [1, 3, 10, 10], { outChannels: 4, kernel: 3, stride: 2 }, [1, 4, 4, 4]],
    // H: 5 + 1 + 0 − 3 + 1 = 4; W: 5 + 0 + 2 − 3 + 1 = 5
    ["pre/post padding", [1, 1, 5, 5], { outChannels: 2, kernel: 3, prePadding: [1, 0], postPadding: [0, 2] }, [1, 2, 4, 5]],
    ["3-d", [1, 2, 8, 8, 8], { outChannels: 4, kernel: 3 }, [1, 4, 6, 6, 6]],
    ["1-d", [2, 4, 10], { outChannels: 6, kernel: 3 }, [2, 6, 8]],
    ["dynamic batch and extent", [-1, 3, -1, 16], { outChannels: 4, kernel: 3, padding: 1 }, [-1, 4, -1, 16]],
    ["rectangular kernel", [1, 1, 7, 9], { outChannels: 1, kernel: [3, 5], stride: [2, 1] }, [1, 1, 3, 5]],
  ])("%s", (_, shape, params, expected) => expect(conv(shape, params)).toEqual(expected));

  it("records the weight shapes PyTorch uses ([out, in/groups, kH, kW] and [out])", () => {
    const n = net();
    input(n, [1, 4, 5, 5]).addConvolution("c", { outChannels: 6, kernel: 3, groups: 2 });
    expect(n.layer("c").weights).toEqual({ kernel: { name: "c.weight", shape: [6, 2, 3, 3] }, bias: { name: "c.bias", shape: [6] } });
  });
});

describe("pooling", () => {
  it.each([
    // stride defaults to the window: 24 / 2 = 12
    ["default stride = window", [1, 20, 24, 24], { type: "max" as const, window: 2 }, [1, 20, 12, 12]],
    // floor((5 − 2) / 2) + 1 = 2; ceil gives ceil(3 / 2) + 1 = 3
    ["floor", [1, 1, 5, 5], { type: "max" as const, window: 2 }, [1, 1, 2, 2]],
    ["ceil mode", [1, 1, 5, 5], { type: "max" as const, window: 2, ceilMode: true }, [1, 1, 3, 3]],
    // PyTorch's ceil rule: ceil((3 + 2 − 2) / 2) + 1 = 3, but window 3 would start at 4 ≥ 3 + 1, so 2
    ["ceil mode, last window dropped", [1, 1, 3, 3], { type: "max" as const, window: 2, padding: 1, ceilMode: true }, [1, 1, 2, 2]],
    // TensorRT's kEXPLICIT_ROUND_UP keeps it: "O = ceil((M - F) / S) + 1" (the 5×5, window 2, stride 2, pad 1: 4×4)
    ["explicit_round_up keeps it", [1, 1, 5, 5], { type: "max" as const, window: 2, padding: 1, paddingMode: "explicit_round_up" as const }, [1, 1, 4, 4]],
    ["ceil mode on the same", [1, 1, 5, 5], { type: "max" as const, window: 2, padding: 1, ceilMode: true }, [1, 1, 3, 3]],
    // SPP pool: k13 s1 p6 keeps 32
    ["SPP", [1, 32, 32, 32], { type: "max" as const, window: 13, stride: 1, padding: 6 }, [1, 32, 32, 32]],
    ["average 3-d", [1, 2, 4, 4, 4], { type: "average" as const, window: 2 }, [1, 2, 2, 2, 2]],
  ])("%s", (_, shape, params, expected) => expect(pool(shape, params)).toEqual(expected));

  it("defaults count_include_pad to true, as PyTorch", () => {
    const n = net();
    input(n, [1, 1, 4, 4]).addPooling("p", { type: "average", window: 2 });
    expect(n.layer("p").params).toMatchObject({ countIncludePad: true, stride: [2, 2] });
  });
});

describe("other layer kinds", () => {
  it("deconvolution: (5 − 1)·2 − 2 + (3 − 1) + 1 + 1 = 10, weight [in, out/groups, k, k]", () => {
    const n = net();
    expect(input(n, [1, 4, 5, 5]).addDeconvolution("d", { outChannels: 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1 }).shape).toEqual([1, 2, 10, 10]);
    expect(n.layer("d").weights.kernel!.shape).toEqual([4, 2, 3, 3]);
  });

  it("fullyConnected flattens [N, 50, 4, 4] to 800 features", () => {
    const n = net();
    expect(input(n, [-1, 50, 4, 4]).addFullyConnected("fc", { outFeatures: 500 }).shape).toEqual([-1, 500]);
    expect(n.layer("fc").weights.kernel!.shape).toEqual([500, 800]);
  });

  it("elementWise broadcasts numpy-style; comparisons give bool", () => {
    const n = net();
    const a = input(n, [2, 3, 4]);
    expect(a.addElementWise("s", input(n, [3, 1], "float32", "b"), "sum").shape).toEqual([2, 3, 4]);
    expect(input(n, [4], "float32", "c").addElementWise("g", input(n, [2, 1], "float32", "d"), "greater")).toMatchObject({ shape: [2, 4], dtype: "bool" });
  });

  it("shuffle: transpose, reshape with 0 and -1, dynamic batch", () => {
    const n = net();
    const x = input(n, [2, 3, 4]);
    expect(x.addShuffle("a", { reshape: [0, -1] }).shape).toEqual([2, 12]);
    expect(x.addShuffle("b", { firstTranspose: [2, 0, 1] }).shape).toEqual([4, 2, 3]);
    expect(x.addShuffle("c", { reshape: [6, 4], secondTranspose: [1, 0] }).shape).toEqual([4, 6]);
    const y = input(n, [-1, 3, 4], "float32", "y");
    expect(y.addShuffle("d", { reshape: [0, -1] }).shape).toEqual([-1, 12]);
    expect(y.addShuffle("e", { reshape: [0, 2, 6] }).shape).toEqual([-1, 2, 6]);
  });

  it.each([
    ["slice", (x: Tensor) => x.addSlice("o", { start: [1, 2], size: [3, 4], stride: [2, 1] }), [10, 10], [3, 4]],
    ["reduce keepDims", (x: Tensor) => x.addReduce("o", { op: "sum", axes: [1], keepDims: true }), [2, 3, 4], [2, 1, 4]],
    ["reduce two axes", (x: Tensor) => x.addReduce("o", { op: "max", axes: [-1, 0] }), [2, 3, 4], [3]],
    ["resize scales", (x: Tensor) => x.addResize("o", { scales: [1, 1, 2, 2] }), [1, 3, 5, 5], [1, 3, 10, 10]],
    ["resize shape", (x: Tensor) => x.addResize("o", { mode: "linear", outputShape: [-1, -1, 7, 9] }), [1, 3, 5, 5], [1, 3, 7, 9]],
    // 5 + 1 + 3 = 9, 5 + 2 + 4 = 11
    ["padding", (x: Tensor) => x.addPadding("o", { pre: [1, 2], post: [3, 4] }), [1, 1, 5, 5], [1, 1, 9, 11]],
    ["padding crops", (x: Tensor) => x.addPadding("o", { pre: [-1], post: [-1] }), [1, 1, 5, 5], [1, 1, 5, 3]],
    ["softmax", (x: Tensor) => x.addSoftMax("o", { axis: -1 }), [2, 7], [2, 7]],
    ["normalization (group)", (x: Tensor) => x.addNormalization("o", { type: "group", groups: 4 }), [2, 8, 4, 4], [2, 8, 4, 4]],
    ["normalization (layer)", (x: Tensor) => x.addNormalization("o", { type: "layer", normalizedShape: [4, 4] }), [2, 8, 4, 4], [2, 8, 4, 4]],
    ["lrn", (x: Tensor) => x.addLRN("o", { window: 5 }), [1, 8, 3, 3], [1, 8, 3, 3]],
    ["prelu", (x: Tensor) => x.addParametricReLU("o", { numParameters: 8 }), [1, 8, 3, 3], [1, 8, 3, 3]],
    ["batchNorm", (x: Tensor) => x.addBatchNorm("o"), [1, 8, 3, 3], [1, 8, 3, 3]],
    ["identity", (x: Tensor) => x.addIdentity("o"), [1, 8], [1, 8]],
    ["scale channel", (x: Tensor) => x.addScale("o", { mode: "channel", scale: new Float32Array(8) }), [1, 8, 3, 3], [1, 8, 3, 3]],
  ])("%s", (_, add, shape, expected) => expect(add(input(net(), shape)).shape).toEqual(expected));

  it("matrixMultiply with transposes, vectors and batch broadcasting", () => {
    const n = net();
    const a = input(n, [2, 3, 4]);
    expect(a.addMatrixMultiply("m1", input(n, [2, 4, 5], "float32", "b")).shape).toEqual([2, 3, 5]);
    expect(input(n, [3, 4], "float32", "c").addMatrixMultiply("m2", input(n, [5, 4], "float32", "d"), { opB: "transpose" }).shape).toEqual([3, 5]);
    expect(a.addMatrixMultiply("m3", input(n, [2, 4], "float32", "v"), { opB: "vector" }).shape).toEqual([2, 3]);
    expect(a.addMatrixMultiply("m4", input(n, [1, 4, 6], "float32", "e")).shape).toEqual([2, 3, 6]);
  });

  it("gather puts the index shape in place of the axis: [5, 6, 7] by [2, 3] on axis 1 is [5, 2, 3, 7]", () => {
    const n = net();
    expect(input(n, [5, 6, 7]).addGather("g", input(n, [2, 3], "int32", "i"), { axis: 1 }).shape).toEqual([5, 2, 3, 7]);
  });

  it("topK gives values and int32 indices", () => {
    const { values, indices } = input(net(), [2, 10]).addTopK("t", { op: "max", k: 3 });
    expect([values.shape, values.dtype, indices.shape, indices.dtype]).toEqual([[2, 3], "float32", [2, 3], "int32"]);
  });

  it("constant, cast, select, unary, quantize and dequantize types", () => {
    const n = net();
    const c = n.addConstant("k", { shape: [2, 3], weights: new Float32Array(6) });
    expect(c.shape).toEqual([2, 3]);
    expect(c.addCast("i", { to: "int32" }).dtype).toBe("int32");
    const cond = input(n, [2, 1], "bool", "cond");
    expect(n.addSelect("s", cond, c, input(n, [3], "float32", "z")).shape).toEqual([2, 3]);
    expect(c.addUnary("nan", "isnan").dtype).toBe("bool");
    const q = c.addQuantize("q", { scale: new Float32Array([0.1]) });
    expect(q.dtype).toBe("int8");
    expect(q.addDequantize("dq", { scale: new Float32Array(3).fill(0.1), axis: 1 }).dtype).toBe("float32");
  });

  it("activation fills TensorRT's/PyTorch's alpha and beta defaults", () => {
    const n = net();
    input(n, [4]).addActivation("a", { type: "leaky_relu" });
    expect(n.layer("a").params).toEqual({ type: "leaky_relu", alpha: 0.01, beta: 0 });
  });
});

describe("concatenation never narrows a dynamic dimension", () => {
  it("a static extent beside a dynamic one is refused, saying what to add", () => {
    // A class token [1, 1, 64] beside patches [-1, 64, 64] on axis 1: the batch would have been fixed at 1.
    const n = net();
    const patches = input(n, [-1, 64, 64]);
    const token = n.addConstant("cls", { shape: [1, 1, 64], weights: new Float32Array(64) });
    expect(() => n.addConcatenation("cat", [token, patches], { axis: 1 })).toThrow(/cat \(concatenation\): dimension 0 is dynamic in one input and 1 in another, and concatenation does not broadcast: expand the static input to the dynamic one.s extent first \(addExpand with the dynamic input.s dim\(0\) there/);
  });
  it("static against static names the expected shape without a -1 (which means a dynamic dimension)", () => {
    const n = net();
    expect(() => n.addConcatenation("cat", [input(n, [2, 3, 4]), input(n, [2, 3, 5], "float32", "y")], { axis: 1 })).toThrow(/input 1 must be shape \[2,any,4\] \(every dimension but axis 1 as input 0's\), but received \[2,3,5\]/);
  });
  it("dynamic beside dynamic stays dynamic", () => {
    const n = net();
    // [-1, 3] ++ [-1, 5] on axis 1: [-1, 8]
    expect(n.addConcatenation("cat", [input(n, [-1, 3]), input(n, [-1, 5], "float32", "y")], { axis: 1 }).shape).toEqual([-1, 8]);
  });
});

describe("addLinear (nn.Linear on the last axis)", () => {
  it("[-1, 16, 64] → [-1, 16, 128], binding <name>.weight [128, 64] and <name>.bias [128] on its dense layer", () => {
    const n = net();
    expect(input(n, [-1, 16, 64]).addLinear("linear1", { outFeatures: 128 }).shape).toEqual([-1, 16, 128]);
    expect(n.layer("linear1").weights).toEqual({ kernel: { name: "linear1.weight", shape: [128, 64] }, bias: { name: "linear1.bias", shape: [128] } });
    expect(n.layer("linear1").kind).toBe("fullyConnected");
  });
  it("a rank-2 input is one dense layer; two dynamic dimensions before the features are refused", () => {
    const n = net();
    expect(input(n, [-1, 64]).addLinear("fc", { outFeatures: 8 }).name).toBe("fc");
    expect(() => input(n, [-1, -1, 64], "float32", "y").addLinear("fc2", { outFeatures: 8 })).toThrow(/fc2 \(fullyConnected\): input must be at most one dynamic dimension before the features/);
  });
});
