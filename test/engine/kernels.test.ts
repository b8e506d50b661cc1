// Every layer kind on small inputs whose outputs are worked out by hand in the comments (the oracle for each row).
// onnxruntime adds a second, independent oracle in the ONNX suite.
import { describe, expect, it } from "vitest";
import { buildEngine, Engine, Network, roundToBfloat16, roundToFloat16, type ActivationParams } from "netdef";
import { runNetwork } from "./run.js";
import { erf } from "../../tensorrt/reference/math.js";

const x4 = { x: { shape: [1, 1, 4, 4], data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] } };
const near = (actual: number[], expected: number[], tolerance = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i]!))));
};

describe("convolution", () => {
  it("2×2 ones kernel, stride 2, bias 1: sums of each 2×2 block + 1", async () => {
    // blocks: 1+2+5+6=14, 3+4+7+8=22, 9+10+13+14=46, 11+12+15+16=54
    const y = await runNetwork(x4, (_, { x }) => x!.addConvolution("c", { outChannels: 1, kernel: 2, stride: 2, weights: { kernel: new Float32Array(4).fill(1), bias: new Float32Array([1]) } }));
    expect(y).toMatchObject({ shape: [1, 1, 2, 2], values: [15, 23, 47, 55] });
  });
  it("ceil mode without padding: the last window hangs past the input and reads zeros there", async () => {
    // Two channels (so the implicit GEMM runs, not the depthwise loop), the second weighted 0. Columns over rows
    // [1 2 3 4 5] (and ×10) at stride 2: rows {1,2}, {3,4}, {5,·} → 3, 7, 5; the second channel's 100s follow the
    // first channel's last row in memory, so a read past it would add them instead of the zero.
    const input = { x: { shape: [1, 2, 5, 2], data: [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100] } };
    const y = await runNetwork(input, (_, { x }) => x!.addConvolution("c", { outChannels: 1, kernel: [2, 1], stride: [2, 1], ceilMode: true, bias: false, weights: { kernel: Float32Array.from([1, 1, 0, 0]) } }));
    expect(y).toMatchObject({ shape: [1, 1, 3, 2], values: [3, 30, 7, 70, 5, 50] });
  });
  it("3×3 centre tap with padding 1 is the identity; dilation 2 with a corner kernel picks x[i-2][j-2]", async () => {
    const centre = new Float32Array(9); centre[4] = 1;
    expect((await runNetwork(x4, (_, { x }) => x!.addConvolution("c", { outChannels: 1, kernel: 3, padding: 1, bias: false, weights: { kernel: centre } }))).values).toEqual(x4.x.data);
    const corner = new Float32Array(9); corner[0] = 1; // top-left tap, dilation 2, padding 2: y[i][j] = x[i−2][j−2] or 0
    const y = await runNetwork(x4, (_, { x }) => x!.addConvolution("c", { outChannels: 1, kernel: 3, padding: 2, dilation: 2, bias: false, weights: { kernel: corner } }));
    expect(y.values).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 5, 6]);
  });
  it("groups: two channels each scaled by its own 1×1 kernel (depthwise)", async () => {
    const y = await runNetwork({ x: { shape: [1, 2, 1, 2], data: [1, 2, 3, 4] } }, (_, { x }) =>
      x!.addConvolution("c", { outChannels: 2, kernel: 1, groups: 2, bias: false, weights: { kernel: new Float32Array([10, -1]) } }));
    expect(y.values).toEqual([10, 20, -3, -4]);
  });
  it("same_upper on 4 with k2 s1 pads only after: last column sees one padded zero", async () => {
    const y = await runNetwork({ x: { shape: [1, 1, 1, 4], data: [1, 2, 3, 4] } }, (_, { x }) =>
      x!.addConvolution("c", { outChannels: 1, kernel: [1, 2], paddingMode: "same_upper", bias: false, weights: { kernel: new Float32Array([1, 1]) } }));
    expect(y.values).toEqual([3, 5, 7, 4]);
  });
  // A 1×1 convolution is a GEMM: 6 output channels × 32 pixels are whole 6 × 16 tiles, 5 × 29 partial ones (5 of 6
  // rows, 13 of 16 columns), finished by bias + clamp. Each value is (o − 2.5)·x + o/2 exactly, then the activation:
  // ReLU and clip keep NaN as NaN.
  const activations: [string, ActivationParams | undefined, (v: number) => number][] = [
    ["no activation", undefined, (v) => v],
    ["ReLU", { type: "relu" }, (v) => (v < 0 ? 0 : v)],
    ["clip [−3, 4]", { type: "clip", alpha: -3, beta: 4 }, (v) => (v < -3 ? -3 : 4 < v ? 4 : v)],
  ];
  it.each(activations.flatMap(([name, activation, act]) => [[name, 6, 32, activation, act], [name, 5, 29, activation, act]] as const))(
    "1×1 as GEMM, bias then %s, %i channels × %i pixels, with NaN and ±∞ in the input", async (_, channels, pixels, activation, act) => {
      const x = Array.from({ length: pixels }, (_, p) => (p === 3 || p === 25 ? NaN : p === 7 ? Infinity : p === 20 ? -Infinity : p - 16));
      const y = await runNetwork({ x: { shape: [1, 1, 1, pixels], data: x } }, (_, { x: input }) => {
        const conv = input!.addConvolution("c", { outChannels: channels, kernel: 1, weights: { kernel: Float32Array.from({ length: channels }, (_, o) => o - 2.5), bias: Float32Array.from({ length: channels }, (_, o) => o / 2) } });
        return activation ? conv.addActivation("a", activation) : conv;
      });
      expect(y.values).toEqual(Array.from({ length: channels }, (_, o) => x.map((v) => act((o - 2.5) * v + o / 2))).flat());
    });
  it("1-d and 3-d convolutions", async () => {
    expect((await runNetwork({ x: { shape: [1, 1, 5], data: [1, 2, 3, 4, 5] } }, (_, { x }) =>
      x!.addConvolution("c", { outChannels: 1, kernel: 2, bias: false, weights: { kernel: new Float32Array([1, -1]) } }))).values).toEqual([-1, -1, -1, -1]);
    // 2×2×2 ones over a 2×2×2 cube of 1…8: 36
    expect((await runNetwork({ x: { shape: [1, 1, 2, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] } }, (_, { x }) =>
      x!.addConvolution("c", { outChannels: 1, kernel: 2, bias: false, weights: { kernel: new Float32Array(8).fill(1) } }))).values).toEqual([36]);
  });
});

describe("deconvolution", () => {
  it("stride 2, 2×2 ones kernel: each input spreads to a 2×2 block", async () => {
    const y = await runNetwork({ x: { shape: [1, 1, 2, 2], data: [1, 2, 3, 4] } }, (_, { x }) =>
      x!.addDeconvolution("d", { outChannels: 1, kernel: 2, stride: 2, bias: false, weights: { kernel: new Float32Array(4).fill(1) } }));
    expect(y).toMatchObject({ shape: [1, 1, 4, 4], values: [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4] });
  });
  it("stride 1, 2-tap kernel [1, 10] overlaps: [a, 10a + b, 10b]", async () => {
    const y = await runNetwork({ x: { shape: [1, 1, 1, 2], data: [1, 2] } }, (_, { x }) =>
      x!.addDeconvolution("d", { outChannels: 1, kernel: [1, 2], bias: false, weights: { kernel: new Float32Array([1, 10]) } }));
    expect(y.values).toEqual([1, 12, 20]);
  });
});

describe("pooling", () => {
  it("max 2×2", async () => expect((await runNetwork(x4, (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }))).values).toEqual([6, 8, 14, 16]));
  it("average 2×2", async () => expect((await runNetwork(x4, (_, { x }) => x!.addPooling("p", { type: "average", window: 2 }))).values).toEqual([3.5, 5.5, 11.5, 13.5]));
  it("average with padding 1: count_include_pad divides by 4, exclude divides by the 1…4 real cells", async () => {
    // window 2, stride 2, padding 1 on 4×4 → 3×3; the corner window holds only x[0][0] = 1
    const include = await runNetwork(x4, (_, { x }) => x!.addPooling("p", { type: "average", window: 2, padding: 1 }));
    const exclude = await runNetwork(x4, (_, { x }) => x!.addPooling("p", { type: "average", window: 2, padding: 1, countIncludePad: false }));
    expect(include.values[0]).toBe(0.25);
    expect(exclude.values[0]).toBe(1);
    expect(exclude.values[4]).toBe((6 + 7 + 10 + 11) / 4);
    expect(include.values[1]).toBe((2 + 3) / 4); // top edge: 2 real cells of 4
  });
  it("ceil-mode average counting padding divides by the window clipped to the padded input, as PyTorch", async () => {
    // windows start at −1, 1, 3, 5 over 1…6 with one pad each side: (0+1+2)/3, (2+3+4)/3, (4+5+6)/3, then [5, 7) → (6+0)/2
    const y = await runNetwork({ x: { shape: [1, 1, 1, 6], data: [1, 2, 3, 4, 5, 6] } }, (_, { x }) =>
      x!.addPooling("p", { type: "average", window: [1, 3], stride: [1, 2], padding: [0, 1], ceilMode: true }));
    expect(y.values).toEqual([1, 3, 5, 3]);
  });
  it("TensorRT's round-up keeps a last window starting in the trailing padding, which PyTorch's ceil mode drops", async () => {
    // 1…3 with one pad each side, window 2, stride 2: windows start at −1, 1, 3; the last covers only padding.
    const input = { x: { shape: [1, 1, 1, 3], data: [1, 2, 3] } };
    const round = await runNetwork(input, (_, { x }) => x!.addPooling("p", { type: "max", window: [1, 2], padding: [0, 1], paddingMode: "explicit_round_up" }));
    const ceil = await runNetwork(input, (_, { x }) => x!.addPooling("p", { type: "max", window: [1, 2], padding: [0, 1], ceilMode: true }));
    expect(round).toMatchObject({ shape: [1, 1, 1, 3] });
    expect(round.values.slice(0, 2)).toEqual([1, 3]);  // the third window covers padding alone (PyTorch has no such window)
    expect(ceil).toMatchObject({ shape: [1, 1, 1, 2], values: [1, 3] });
  });
  it("ceil mode keeps the partial last window (max of the last column / row)", async () => {
    const y = await runNetwork({ x: { shape: [1, 1, 1, 5], data: [1, 5, 2, 4, 3] } }, (_, { x }) =>
      x!.addPooling("p", { type: "max", window: [1, 2], ceilMode: true }));
    expect(y.values).toEqual([5, 4, 3]);
  });
  it("max 3×3 stride 2 pad 1 propagates NaN (as PyTorch), in the 8-wide row pass and its tail", async () => {
    // One row of 40 values i (so each window's max is its last in-bounds value), NaN at columns 5 and 38: output j
    // covers columns 2j−1 … 2j+1, so outputs 2, 3 (columns 3–5, 5–7) and 19 (37–39) are NaN; the others are 2j+1,
    // and 39 for the last window.
    const data = Array.from({ length: 40 }, (_, i) => (i === 5 || i === 38 ? NaN : i));
    const y = await runNetwork({ x: { shape: [1, 1, 1, 40], data } }, (_, { x }) => x!.addPooling("p", { type: "max", window: [1, 3], stride: [1, 2], padding: [0, 1] }));
    expect(y.values).toEqual(Array.from({ length: 20 }, (_, j) => (j === 2 || j === 3 || j === 19 ? NaN : Math.min(2 * j + 1, 39))));
  });
  it("max 2×2 propagates NaN from either row, in 8-wide, 4-wide and single outputs", async () => {
    // 2×30 values i (each window's max is its bottom-right value, 31 + 2j), NaN at (0, 3), (1, 20) and (1, 28):
    // outputs 1 (of the first 8), 10 (of the next 4) and 14 (of the last 3).
    const data = Array.from({ length: 60 }, (_, i) => (i === 3 || i === 30 + 20 || i === 30 + 28 ? NaN : i));
    const y = await runNetwork({ x: { shape: [1, 1, 2, 30], data } }, (_, { x }) => x!.addPooling("p", { type: "max", window: 2 }));
    expect(y.values).toEqual(Array.from({ length: 15 }, (_, j) => (j === 1 || j === 10 || j === 14 ? NaN : 31 + 2 * j)));
  });
  it("max 3×3 stride 2 pad 1 propagates NaN through the column pass, from a window's first row and from a later one", async () => {
    // 6×8 values h·8 + w (each window's max is its bottom-right in-bounds value), NaN at (1, 3) and (4, 6). Output
    // (oh, ow) covers rows 2oh−1 … 2oh+1 and columns 2ow−1 … 2ow+1: row 1 is the last row of oh = 0's windows and the
    // first of oh = 1's, so (0, 1), (0, 2), (1, 1), (1, 2) are NaN; (4, 6) makes (2, 3) NaN.
    const data = Array.from({ length: 48 }, (_, i) => (i === 1 * 8 + 3 || i === 4 * 8 + 6 ? NaN : i));
    const y = await runNetwork({ x: { shape: [1, 1, 6, 8], data } }, (_, { x }) => x!.addPooling("p", { type: "max", window: 3, stride: 2, padding: 1 }));
    const nan = new Set(["0,1", "0,2", "1,1", "1,2", "2,3"]);
    expect(y.values).toEqual(Array.from({ length: 12 }, (_, i) => {
      const oh = Math.floor(i / 4), ow = i % 4;
      return nan.has(`${oh},${ow}`) ? NaN : Math.min(2 * oh + 1, 5) * 8 + Math.min(2 * ow + 1, 7);
    }));
  });
  // Random values with NaN on planes 27 and 30 wide (vector loops and their remainders, where one value's pick had
  // been a branch), against the windows taken directly: the largest value, NaN where the window holds one, ceil mode's
  // last window cut by the input.
  for (const [name, options] of [["3×3 stride 2 ceil", { window: 3, stride: 2, ceilMode: true }], ["3×3 stride 1 pad 1", { window: 3, stride: 1, padding: 1 }],
                                  ["4×5 stride 2 pad [1, 2]", { window: [4, 5], stride: 2, padding: [1, 2] }]] as const) {
    it(`max ${name} of random values with NaN on 27×30 planes: the windows' maxima, taken directly`, async () => {
      const [C, H, W] = [3, 27, 30];
      let seed = 7;
      const data = Array.from({ length: C * H * W }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 97 === 0 ? NaN : (seed % 2001) / 1000 - 1));
      const y = await runNetwork({ x: { shape: [1, C, H, W], data } }, (_, { x }) => x!.addPooling("p", { type: "max", ...options }));
      const [, , OH, OW] = y.shape as [number, number, number, number];
      const [kh, kw] = Array.isArray(options.window) ? options.window : [options.window, options.window];
      const [ph, pw] = "padding" in options ? (Array.isArray(options.padding) ? options.padding : [options.padding, options.padding]) : [0, 0];
      const expected: number[] = [];
      for (let c = 0; c < C; c++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            let best = -Infinity;
            for (let h = oh * options.stride - ph; h < oh * options.stride - ph + kh; h++)
              for (let w = ow * options.stride - pw; w < ow * options.stride - pw + kw; w++) {
                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                const v = data[(c * H + h) * W + w]!;
                if (Number.isNaN(v) || Number.isNaN(best)) best = NaN;
                else best = Math.max(best, v);
              }
            expected.push(best);
          }
      expect(y.values.filter(Number.isNaN).length).toBeGreaterThan(10);
      expect(y.values).toEqual(expected.map((v) => Math.fround(v)));
    });
  }
  it("max-average blend 0.5", async () => expect((await runNetwork({ x: { shape: [1, 1, 1, 2], data: [2, 4] } }, (_, { x }) => x!.addPooling("p", { type: "max_average_blend", window: [1, 2], blendFactor: 0.5 }))).values).toEqual([3.5]));
});

describe("dense and matrix layers", () => {
  it("fullyConnected: W = [[1,2],[3,4],[5,6]], b = [1,0,-1] on [1, 1]", async () => {
    const y = await runNetwork({ x: { shape: [1, 2], data: [1, 1] } }, (_, { x }) =>
      x!.addFullyConnected("fc", { outFeatures: 3, weights: { kernel: new Float32Array([1, 2, 3, 4, 5, 6]), bias: new Float32Array([1, 0, -1]) } }));
    expect(y.values).toEqual([4, 7, 10]);
  });
  it("fullyConnected's rows do not depend on the batch: each row alone gives the same bits (float32 and 16-bit-exact weights)", async () => {
    // One summation order at every batch (1: four columns at a time, 2: two by two, 3–16: four rows at a time, the
    // exact 16-bit copy of the weights at batch 1 and 2), over 147 inputs (a tail after 16-wide steps) into 70
    // outputs (tails after 4- and 2-column steps).
    const weights = Float32Array.from({ length: 70 * 147 }, (_, i) => Math.sin(i * 0.37) * 0.3);
    const inputs = Float32Array.from({ length: 7 * 147 }, (_, i) => Math.cos(i * 0.11));
    for (const kernel of [weights, weights.map(roundToBfloat16), weights.map(roundToFloat16)]) {
      const fc = (batch: number, data: Float32Array) => runNetwork({ x: { shape: [batch, 147], data: Array.from(data) } }, (_, { x }) => x!.addFullyConnected("fc", { outFeatures: 70, bias: false, weights: { kernel } }));
      const all = (await fc(7, inputs)).values;
      for (const [offset, rows] of [[0, 1], [1, 2], [3, 4]] as const) {
        expect((await fc(rows, inputs.subarray(offset * 147, (offset + rows) * 147))).values).toEqual(all.slice(offset * 70, (offset + rows) * 70));
      }
    }
  });
  it("matrixMultiply with transpose and batch broadcast", async () => {
    // A = [[1,2],[3,4]], B = [[5,6],[7,8]]: A·B = [[19,22],[43,50]]; A·Bᵀ = [[17,23],[39,53]]
    const inputs = { a: { shape: [1, 2, 2], data: [1, 2, 3, 4] }, b: { shape: [1, 2, 2], data: [5, 6, 7, 8] } };
    expect((await runNetwork(inputs, (_, t) => t.a!.addMatrixMultiply("m", t.b!))).values).toEqual([19, 22, 43, 50]);
    expect((await runNetwork(inputs, (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opB: "transpose" }))).values).toEqual([17, 23, 39, 53]);
    expect((await runNetwork(inputs, (_, t) => t.a!.addMatrixMultiply("m", t.b!, { opA: "transpose" }))).values).toEqual([26, 30, 38, 44]);
    const vec = { a: { shape: [2, 2], data: [1, 2, 3, 4] }, v: { shape: [2], data: [1, -1] } };
    expect((await runNetwork(vec, (_, t) => t.a!.addMatrixMultiply("m", t.v!, { opB: "vector" }))).values).toEqual([-1, -1]);
  });
});

describe("point-wise layers", () => {
  const v = { x: { shape: [4], data: [-2, -0.5, 0.5, 3] } };
  it.each([
    ["relu", {}, [0, 0, 0.5, 3]],
    ["leaky_relu", { alpha: 0.1 }, [-0.2, -0.05, 0.5, 3]],
    ["clip", { alpha: 0, beta: 1 }, [0, 0, 0.5, 1]],
    ["elu", {}, [Math.expm1(-2), Math.expm1(-0.5), 0.5, 3]],
    ["selu", {}, [1.0507009873554805 * 1.6732632423543772 * Math.expm1(-2), 1.0507009873554805 * 1.6732632423543772 * Math.expm1(-0.5), 1.0507009873554805 * 0.5, 1.0507009873554805 * 3]],
    ["sigmoid", {}, [-2, -0.5, 0.5, 3].map((z) => 1 / (1 + Math.exp(-z)))],
    ["tanh", {}, [-2, -0.5, 0.5, 3].map(Math.tanh)],
    ["softsign", {}, [-2 / 3, -1 / 3, 1 / 3, 0.75]],
    ["softplus", {}, [-2, -0.5, 0.5, 3].map((z) => Math.log1p(Math.exp(z)))],
    ["hard_sigmoid", {}, [1 / 6, 5 / 12, 7 / 12, 1]],
    ["scaled_tanh", { alpha: 2, beta: 0.5 }, [-2, -0.5, 0.5, 3].map((z) => 2 * Math.tanh(z / 2))],
    ["thresholded_relu", { alpha: 1 }, [0, 0, 0, 3]],
    // GELU(x) = x·Φ(x): Φ(−2) = 0.0227501319, Φ(−0.5) = 0.3085375387, Φ(0.5) = 0.6914624613, Φ(3) = 0.9986501020
    ["gelu_erf", {}, [-2 * 0.0227501319, -0.5 * 0.3085375387, 0.5 * 0.6914624613, 3 * 0.998650102]],
    ["gelu_tanh", {}, [-2, -0.5, 0.5, 3].map((z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))))],
  ] as const)("activation %s", async (type, extra, expected) => {
    near((await runNetwork(v, (_, { x }) => x!.addActivation("a", { type, ...extra }))).values, [...expected], 1e-6);
  });

  it.each([
    ["exp", [-2, -0.5, 0.5, 3].map(Math.exp)], ["abs", [2, 0.5, 0.5, 3]], ["neg", [2, 0.5, -0.5, -3]],
    ["floor", [-2, -1, 0, 3]], ["ceil", [-2, -0, 1, 3]], ["sign", [-1, -1, 1, 1]], ["recip", [-0.5, -2, 2, 1 / 3]],
    ["round", [-2, -0, 0, 3]], // half to even: −0.5 → −0, 0.5 → 0
    ["sin", [-2, -0.5, 0.5, 3].map(Math.sin)], ["atan", [-2, -0.5, 0.5, 3].map(Math.atan)], ["erf", [-0.9953222650, -0.5204998778, 0.5204998778, 0.9999779095]],
    ["isnan", [0, 0, 0, 0]], ["isinf", [0, 0, 0, 0]],
  ] as const)("unary %s", async (op, expected) => {
    near((await runNetwork(v, (_, { x }) => x!.addUnary("u", op))).values, [...expected], 1e-6);
  });

  it.each([
    ["sum", [11, 12, 23, 24]], ["sub", [-9, -8, -17, -16]], ["prod", [10, 20, 60, 80]], ["div", [0.1, 0.2, 0.15, 0.2]],
    ["max", [10, 10, 20, 20]], ["min", [1, 2, 3, 4]], ["pow", [1, 1024, 3 ** 20, 4 ** 20]], ["floor_div", [0, 0, 0, 0]],
    ["equal", [0, 0, 0, 0]], ["greater", [0, 0, 0, 0]], ["less", [1, 1, 1, 1]],
  ] as const)("elementWise %s broadcasting [2,2] with [2,1]", async (op, expected) => {
    const y = await runNetwork({ a: { shape: [2, 2], data: [1, 2, 3, 4] }, b: { shape: [2, 1], data: [10, 20] } }, (_, t) => t.a!.addElementWise("e", t.b!, op));
    near(y.values, [...expected], 1e-6);
  });

  it("logical ops on comparisons, and select", async () => {
    const inputs = { a: { shape: [4], data: [0, 1, 2, 3] }, b: { shape: [4], data: [3, 2, 1, 0] } };
    const y = await runNetwork(inputs, (net, t) => {
      const gt = t.a!.addElementWise("gt", t.b!, "greater"); // [0,0,1,1]
      const lt = t.a!.addElementWise("lt", t.b!, "less"); // [1,1,0,0]
      const either = gt.addElementWise("or", lt, "or"); // all true
      const both = gt.addElementWise("and", either, "xor"); // [1,1,0,0]
      return net.addSelect("s", both, t.a!, t.b!); // a where a < b else b: [0,1,1,0]
    });
    expect(y.values).toEqual([0, 1, 1, 0]);
  });

  it("scale in channel mode with power: ((x·2 + 1)^2) on channel 0, ((x·1 + 0)^1) on channel 1", async () => {
    const y = await runNetwork({ x: { shape: [1, 2, 2], data: [1, 2, 3, 4] } }, (_, { x }) =>
      x!.addScale("s", { mode: "channel", scale: new Float32Array([2, 1]), shift: new Float32Array([1, 0]), power: new Float32Array([2, 1]) }));
    expect(y.values).toEqual([9, 25, 3, 4]);
  });

  it("parametricReLU per channel, cast, quantize / dequantize round half to even", async () => {
    expect((await runNetwork({ x: { shape: [1, 2, 2], data: [-1, 2, -3, 4] } }, (_, { x }) =>
      x!.addParametricReLU("p", { numParameters: 2, weights: { slope: new Float32Array([0.5, 0.25]) } }))).values).toEqual([-0.5, 2, -0.75, 4]);
    expect((await runNetwork({ x: { shape: [4], data: [-1.7, 1.7, 300, -0.2] } }, (_, { x }) => x!.addCast("c", { to: "int8" }))).values).toEqual([-1, 1, 127, 0]);
    // A cast to a 16-bit type and back is one chain (its rounding vectorised): each value as the TypeScript rounding gives it.
    const halves = [1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -11), 1 + 3 * 2 ** -11, 70000, 2 ** -25 * 3, -0, Infinity, NaN, Math.PI, -Math.E];
    for (const [to, round] of [["bfloat16", roundToBfloat16], ["float16", roundToFloat16]] as const) {
      expect((await runNetwork({ x: { shape: [halves.length], data: halves } }, (_, { x }) => x!.addCast("narrow", { to }).addCast("wide", { to: "float32" }))).values)
        .toEqual(Array.from(Float32Array.from(halves), round));
    }
    // x / 0.5 = [0.5, 1.5, 2.5, 400, −400, −1.5, −2.5, 127.5, 255.5] → round half even [0, 2, 2, 127 (saturated), −128,
    // −2, −2, 127 (128 saturated), 127] → × 0.5; nine values: the chain's vector loop and its remainder.
    expect((await runNetwork({ x: { shape: [9], data: [0.25, 0.75, 1.25, 200, -200, -0.75, -1.25, 63.75, 127.75] } }, (_, { x }) =>
      x!.addQuantize("q", { scale: new Float32Array([0.5]) }).addDequantize("dq", { scale: new Float32Array([0.5]) }))).values).toEqual([0, 1, 1, 63.5, -64, -1, -1, 63.5, 63.5]);
  });
});

describe("layout layers", () => {
  it("shuffle: transpose [2,3] → [3,2], then reshape to [6]", async () => {
    expect((await runNetwork({ x: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } }, (_, { x }) =>
      x!.addShuffle("s", { firstTranspose: [1, 0], reshape: [-1] }))).values).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it("slice with stride", async () => {
    expect((await runNetwork(x4, (_, { x }) => x!.addSlice("s", { start: [0, 0, 1, 0], size: [1, 1, 2, 2], stride: [1, 1, 2, 3] }))).values).toEqual([5, 8, 13, 16]);
  });
  it("concatenation on axis 1 and axis 0", async () => {
    const inputs = { a: { shape: [1, 2], data: [1, 2] }, b: { shape: [1, 1], data: [3] } };
    expect((await runNetwork(inputs, (net, t) => net.addConcatenation("c", [t.a!, t.b!], { axis: 1 }))).values).toEqual([1, 2, 3]);
  });
  it("padding with a value and cropping", async () => {
    expect((await runNetwork({ x: { shape: [1, 2], data: [1, 2] } }, (_, { x }) => x!.addPadding("p", { pre: [1], post: [2], value: 9 }))).values).toEqual([9, 1, 2, 9, 9]);
    expect((await runNetwork({ x: { shape: [1, 3], data: [1, 2, 3] } }, (_, { x }) => x!.addPadding("p", { pre: [-1], post: [0] }))).values).toEqual([2, 3]);
  });
  it("gather rows by index, negative indices from the end", async () => {
    const inputs = { x: { shape: [3, 2], data: [1, 2, 3, 4, 5, 6] } };
    expect((await runNetwork(inputs, (net, { x }) => x!.addGather("g", net.addConstant("i", { shape: [2], weights: new Float32Array([2, -3]), dtype: "int32" }), { axis: 0 }))).values).toEqual([5, 6, 1, 2]);
  });
  it("resize: nearest ×2 and bilinear half-pixel", async () => {
    const x = { x: { shape: [1, 1, 1, 2], data: [1, 3] } };
    expect((await runNetwork(x, (_, { x }) => x!.addResize("r", { scales: [1, 1, 1, 2] }))).values).toEqual([1, 1, 3, 3]);
    // half-pixel: out j ↦ (j + 0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to index 1) → 1, 1.5, 2.5, 3
    expect((await runNetwork(x, (_, { x }) => x!.addResize("r", { mode: "linear", scales: [1, 1, 1, 2] }))).values).toEqual([1, 1.5, 2.5, 3]);
    // align corners: j ↦ j·(2−1)/(3−1): 0, 0.5, 1 → 1, 2, 3
    expect((await runNetwork(x, (_, { x }) => x!.addResize("r", { mode: "linear", outputShape: [1, 1, 1, 3], coordinateTransformation: "align_corners" }))).values).toEqual([1, 2, 3]);
  });
  it("identity and constant", async () => {
    expect((await runNetwork({ x: { shape: [2], data: [1, 2] } }, (net, { x }) => x!.addIdentity("i").addElementWise("s", net.addConstant("k", { shape: [2], weights: new Float32Array([10, 20]) }), "sum"))).values).toEqual([11, 22]);
  });
});

describe("normalising and reducing layers", () => {
  it("softmax on axis 0 of [2,1]: e^1/(e^1+e^3)", async () => {
    near((await runNetwork({ x: { shape: [2, 1], data: [1, 3] } }, (_, { x }) => x!.addSoftMax("s", { axis: 0 }))).values, [1 / (1 + Math.E ** 2), 1 / (1 + Math.E ** -2)]);
  });
  it("log-softmax stays finite where softmax underflows: [0, 200] → [−200, 0]", async () => {
    near((await runNetwork({ x: { shape: [1, 2], data: [0, 200] } }, (_, { x }) => x!.addSoftMax("s", { axis: 1 }).addUnary("l", "log"))).values, [-200, 0]);
  });
  it.each([
    ["sum", [1], false, [3, 7]], ["prod", [0, 1], false, [24]], ["max", [0], true, [3, 4]], ["min", [1], false, [1, 3]], ["avg", [0, 1], true, [2.5]],
  ] as const)("reduce %s over %j", async (op, axes, keepDims, expected) => {
    expect((await runNetwork({ x: { shape: [2, 2], data: [1, 2, 3, 4] } }, (_, { x }) => x!.addReduce("r", { op, axes: [...axes], keepDims }))).values).toEqual([...expected]);
  });
  it("topK values and indices", async () => {
    const inputs = { x: { shape: [1, 4], data: [3, 9, 1, 9] } };
    expect((await runNetwork(inputs, (_, { x }) => x!.addTopK("t", { op: "max", k: 3 }).values)).values).toEqual([9, 9, 3]);
    expect((await runNetwork(inputs, (_, { x }) => x!.addTopK("t", { op: "min", k: 2 }).indices)).values).toEqual([2, 0]);
  });
  it.each(["max", "min"] as const)("topK %s over 300 values with ties and NaN, along the last axis and an inner one: PyTorch's order", async (op) => {
    // Values on a coarse grid (many ties) with NaN every 37th: the order of a stable sort, NaN ranked above every
    // number (first for max, last for min), ties by lower index.
    const data = Array.from({ length: 2 * 300 }, (_, i) => (i % 37 === 5 ? NaN : Math.round(Math.sin(i * 1.7) * 6) / 2));
    const rank = (v: number) => (Number.isNaN(v) ? Infinity : v) * (op === "max" ? -1 : 1);
    const expected = (row: number[]) => row.map((v, i) => ({ v, i })).sort((a, b) => rank(a.v) - rank(b.v) || a.i - b.i).slice(0, 12);
    const rows = [data.slice(0, 300), data.slice(300)];
    const indices = await runNetwork({ x: { shape: [2, 300], data } }, (_, { x }) => x!.addTopK("t", { op, k: 12 }).indices);
    const values = await runNetwork({ x: { shape: [2, 300], data } }, (_, { x }) => x!.addTopK("t", { op, k: 12 }).values);
    expect(indices.values).toEqual(rows.flatMap((r) => expected(r).map((e) => e.i)));
    expect(values.values).toEqual(rows.flatMap((r) => expected(r).map((e) => e.v)));
    // The same rows as columns of [300, 2]: along axis 0, inner extent 2.
    const columns = Array.from({ length: 600 }, (_, j) => rows[j % 2]![Math.floor(j / 2)]!);
    const inner = await runNetwork({ x: { shape: [300, 2], data: columns } }, (_, { x }) => x!.addTopK("t", { op, k: 12, axis: 0 }).indices);
    expect(inner.values).toEqual(Array.from({ length: 24 }, (_, j) => expected(rows[j % 2]!)[Math.floor(j / 2)]!.i));
  });
  it("layer, instance and group normalisation", async () => {
    // [1, 3]: mean 2, var 1 → [−1, 1]/√(1 + 1e-5)
    const s = 1 / Math.sqrt(1 + 1e-5);
    near((await runNetwork({ x: { shape: [1, 2], data: [1, 3] } }, (_, { x }) => x!.addNormalization("n", { type: "layer", weights: { scale: new Float32Array([1, 2]), bias: new Float32Array([0, 1]) } }))).values, [-s, 2 * s + 1]);
    near((await runNetwork({ x: { shape: [1, 2, 2], data: [1, 3, 10, 10] } }, (_, { x }) => x!.addNormalization("n", { type: "instance", affine: false }))).values, [-s, s, 0, 0]);
    // one group over both channels: values 1, 3, 1, 3 → mean 2, var 1
    near((await runNetwork({ x: { shape: [1, 2, 2], data: [1, 3, 1, 3] } }, (_, { x }) => x!.addNormalization("n", { type: "group", groups: 1, affine: false }))).values, [-s, s, -s, s]);
  });
  it("LRN across 3 channels: b = a·(1 + 1/3·Σa²)^(−1)", async () => {
    const y = await runNetwork({ x: { shape: [1, 3, 1, 1], data: [1, 1, 1] } }, (_, { x }) => x!.addLRN("l", { window: 3, alpha: 1, beta: 1, k: 1 }));
    near(y.values, [1 / (1 + 2 / 3), 1 / (1 + 3 / 3), 1 / (1 + 2 / 3)]);
  });
  it("batchNorm lowered to a scale: (x − mean)/√(var + ε)·γ + β", async () => {
    const y = await runNetwork({ x: { shape: [1, 1, 2], data: [1, 3] } }, (_, { x }) =>
      x!.addBatchNorm("bn", { epsilon: 0.25, weights: { weight: new Float32Array([2]), bias: new Float32Array([1]), mean: new Float32Array([1]), variance: new Float32Array([3.75]) } }));
    expect(y.values).toEqual([1, 3]); // √(3.75 + 0.25) = 2: (1 − 1)/2·2 + 1 = 1, (3 − 1)/2·2 + 1 = 3
  });
});

describe("vectorised transcendental activations (exp, expm1, log1p, tanh polynomials) against float64", () => {
  // Parameters enter as float32, as the engine holds them. 16,001 points over [−110, 110] (past float32's exp range both ways; not a multiple of 8, so the scalar tail runs
  // too), plus the special values.
  const xs = [...Array.from({ length: 16001 }, (_, i) => -110 + i * 0.01375), NaN, Infinity, -Infinity, -0, 1e-30, -1e-30, 1e-8, -1e-8, 3e-4, -3e-4];
  const f32 = (v: number) => Math.fround(v);
  const softplus = (t: number) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));
  const mish = (x: number) => x * Math.tanh(softplus(x));
  const cases: [string, { type: string; alpha?: number; beta?: number }, (x: number) => number][] = [
    ["sigmoid", { type: "sigmoid" }, (x) => 1 / (1 + Math.exp(-x))],
    ["silu", { type: "silu" }, (x) => x / (1 + Math.exp(-x))],
    ["mish", { type: "mish" }, mish],
    ["hardswish", { type: "hardswish" }, (x) => x * Math.min(1, Math.max(0, x / 6 + 0.5))],
    ["tanh", { type: "tanh" }, Math.tanh],
    ["scaled_tanh", { type: "scaled_tanh", alpha: 1.7, beta: 0.6 }, (x) => f32(1.7) * Math.tanh(f32(f32(0.6) * x))],
    ["softplus", { type: "softplus", alpha: 1.5, beta: 0.8 }, (x) => f32(1.5) * softplus(f32(f32(0.8) * x))],
    ["elu", { type: "elu", alpha: 1.3 }, (x) => (x >= 0 ? x : f32(1.3) * Math.expm1(x))],
    ["selu", { type: "selu", alpha: 1.6732632423543772, beta: 1.0507009873554805 }, (x) => f32(1.0507009873554805) * (x >= 0 ? x : f32(1.6732632423543772) * Math.expm1(x))],
    ["leaky_relu", { type: "leaky_relu", alpha: 0.1 }, (x) => (x >= 0 ? x : f32(0.1) * x)],
    ["clip", { type: "clip", alpha: -3, beta: 6 }, (x) => Math.min(6, Math.max(-3, x))],
    ["relu", { type: "relu" }, (x) => (x < 0 ? 0 : x)],
  ];
  // The activations take e^x as a normal float (0 below −87, ∞ above 88): a result under 2e-36 in magnitude (SiLU's
  // and Mish's x·e^x near x = −87) may come out as 0.
  it.each(cases)("%s: within 1e-6 relative (|Δ| ≤ 1e-6·|exact| + 2e-36), NaN and ±∞ as the exact function", async (_, params, exact) => {
    const input = xs.map(f32);
    const { values } = await runNetwork({ x: { shape: [input.length], data: input } }, (_, { x }) => x!.addActivation("a", params as never));
    input.forEach((x, i) => {
      const want = exact(x), got = values[i]!;
      if (Number.isNaN(want)) return expect(got, `x = ${x}`).toBeNaN();
      if (!Number.isFinite(want)) return expect(got, `x = ${x}`).toBe(want);
      expect(Math.abs(got - want), `x = ${x}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 2e-36);
    });
  });
  // The unary layer's vector forms: exp in full (subnormal results within one step of theirs), erf within vmath's
  // stated 2e-7, the exact ops as float32 computes them; through a chain of two unary layers too (abs → sqrt).
  const unary: [string, (x: number) => number, (want: number) => number][] = [
    ["exp", Math.exp, (want) => 1e-6 * want + 3e-45], ["erf", (x) => (Math.abs(x) === Infinity ? Math.sign(x) : erf(x)), () => 3e-7], ["sqrt", Math.sqrt, () => 0], ["abs", Math.abs, () => 0],
    ["neg", (x) => -x, () => 0], ["recip", (x) => 1 / x, () => 0], ["floor", Math.floor, () => 0], ["ceil", Math.ceil, () => 0],
  ];
  it.each(unary)("unary %s over the sweep, NaN and ±∞ as the exact function", async (op, exact, tolerance) => {
    const input = xs.map(f32);
    const { values } = await runNetwork({ x: { shape: [input.length], data: input } }, (_, { x }) => x!.addUnary("u", op as never));
    input.forEach((x, i) => {
      const want = f32(exact(x)), got = values[i]!;
      if (Number.isNaN(want)) return expect(got, `x = ${x}`).toBeNaN();
      if (!Number.isFinite(want) || tolerance(Math.abs(want)) === 0) return expect(Object.is(got, want), `x = ${x}: ${got} vs ${want}`).toBe(true);
      expect(Math.abs(got - exact(x)), `x = ${x}: ${got} vs ${exact(x)}`).toBeLessThanOrEqual(tolerance(Math.abs(exact(x))));
    });
  });
  it("abs → sqrt, fused into one chain: each value as float32 computes it", async () => {
    const input = xs.map(f32);
    const { values } = await runNetwork({ x: { shape: [input.length], data: input } }, (_, { x }) => x!.addUnary("a", "abs").addUnary("s", "sqrt"));
    input.forEach((x, i) => expect(Object.is(values[i], f32(Math.sqrt(Math.abs(x)))) || Number.isNaN(x), `x = ${x}`).toBe(true));
  });
  it("16 values a vector (AVX-512) and 8 give the same bits: the layer, and the blocked 1×1's and depthwise's epilogues", async () => {
    const w = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * scale);
    const input = Float32Array.from(xs.slice(0, 16000).map(f32));
    for (const type of ["silu", "gelu_erf", "mish", "tanh", "sigmoid"] as const) {
      const net = new Network("wide");
      const x = net.addInput("x", "float32", [1, 8, 40, 50]);
      net.markOutput(x.addActivation("a", { type }), "layer");
      const conv = x.addConvolution("c", { outChannels: 16, kernel: 1, weights: { kernel: w(128, 0.5), bias: w(16, 3) } }).addActivation("c.act", { type });
      const dw = conv.addConvolution("d", { outChannels: 16, kernel: 3, padding: 1, groups: 16, weights: { kernel: w(144, 2), bias: w(16, 3) } }).addActivation("d.act", { type });
      net.markOutput(dw.addConvolution("p", { outChannels: 8, kernel: 1, weights: { kernel: w(128, 0.5), bias: w(8, 1) } }), "blocked");
      const plan = (await buildEngine(net)).serialize();
      const engine = async (wideTiles: boolean) => Engine.deserialize(plan, { wideTiles });
      const wide = await engine(true), narrow = await engine(false);
      expect(wide.is("builtin") && wide.inspect().channelBlocked.tensors).toEqual(["c.act", "d.act"]);
      const outputs = async (e: Engine) => Object.values(await e.createExecutionContext().execute({ x: input })).map((t) => Array.from(t.data as Float32Array));
      expect(await outputs(wide), type).toEqual(await outputs(narrow));
    }
  });
  it("unary exp and erf: 16 values a vector and 8 give the same bits", async () => {
    const net = new Network("wide-unary");
    const x = net.addInput("x", "float32", [xs.length]);
    net.markOutput(x.addUnary("e", "exp"), "exp");
    net.markOutput(x.addUnary("f", "erf"), "erf");
    const plan = (await buildEngine(net)).serialize();
    const outputs = async (wideTiles: boolean) => Object.values(await (await Engine.deserialize(plan, { wideTiles })).createExecutionContext().execute({ x: Float32Array.from(xs.map(f32)) })).map((t) => Array.from(t.data as Float32Array));
    expect(await outputs(true)).toEqual(await outputs(false));
  });
  it("gelu_tanh: within 1e-6·(1 + |x|) (its formula cancels for large negative x in any float32 evaluation)", async () => {
    const input = xs.map(f32);
    const { values } = await runNetwork({ x: { shape: [input.length], data: input } }, (_, { x }) => x!.addActivation("a", { type: "gelu_tanh" }));
    input.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)));
      if (!Number.isFinite(want)) return;
      expect(Math.abs(values[i]! - want), `x = ${x}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(x)));
    });
  });
});

describe("casts to 16-bit floats", () => {
  // Ties, the float16 subnormal and overflow boundaries, ±0, ±∞, NaN, and a sweep over many magnitudes; the oracle is
  // precision/reduced-float.ts's arithmetic (not bit) implementation.
  const specials = [0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, 65519.99, 65520, -65520, 2 ** -14, 2 ** -14 - 2 ** -25, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1e-30, Infinity, -Infinity, NaN];
  const sweep = Array.from({ length: 4000 }, (_, i) => Math.fround(Math.sin(i * 1.7) * 2 ** ((i % 60) - 30)));
  const values = [...specials, ...sweep].map(Math.fround);
  it.each([["float16", roundToFloat16], ["bfloat16", roundToBfloat16]] as const)("to %s: the nearest value, ties to even", async (to, oracle) => {
    const { values: got } = await runNetwork({ x: { shape: [values.length], data: values } }, (_, { x }) => x!.addCast("c", { to }).addCast("back", { to: "float32" }));
    values.forEach((v, i) => {
      const want = oracle(v);
      if (Number.isNaN(want)) expect(got[i], `${v}`).toBeNaN();
      else expect(Object.is(got[i], want) || got[i] === want, `${v} → ${got[i]}, expected ${want}`).toBe(true);
    });
  });
});
