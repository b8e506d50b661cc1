// The reference refuses what TensorRT's headers say TensorRT refuses: a lowered network with one call changed as a
// faulty lowering would make it, each a TensorRTRuleError citing the header text. And it refits by IRefitter's names.
import { describe, expect, it } from "vitest";
import { Network, WeightStore } from "netdef";
import { refitValues } from "../../api/refit.js";
import { refitRecord } from "../../tensorrt/build.js";
import type { DefinedLayer, DefinedNetwork } from "../../tensorrt/reference/network.js";
import { TensorRTReference, TensorRTRuleError } from "../../tensorrt/reference/reference.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";
import { toleranceRatio } from "./tolerance.js";

const wave = (n: number, k = 0.7) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);

/** conv → batch norm → relu → pooling → dense → softmax, and a per-tensor Q/DQ pair, lowered onto the reference. */
function lowered(): DefinedNetwork {
  const net = new Network("rules");
  const x = net.addInput("x", "float32", [2, 3, 8, 8]);
  const y = x.addQuantize("q", { scale: Float32Array.of(0.02) }).addDequantize("dq", { scale: Float32Array.of(0.02) })
    .addConvolution("conv", { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: wave(108), bias: wave(4) } })
    .addBatchNorm("bn", { weights: { weight: wave(4, 0.3).map((v) => v + 1), bias: wave(4), mean: wave(4), variance: wave(4).map((v) => v + 1) } })
    .addActivation("relu", { type: "relu" }).addPooling("pool", { type: "max", window: 2 })
    .addFullyConnected("fc", { outFeatures: 5, weights: { kernel: wave(5 * 64), bias: wave(5) } }).addSoftMax("softmax", { axis: 1 });
  net.markOutput(y, "y");
  return TensorRTReference.of(net).network;
}

const layer = (n: DefinedNetwork, name: string): DefinedLayer => n.layers.find((l) => l.name === name)!;
const setter = (l: DefinedLayer, method: string, value: DefinedLayer["calls"][number]["value"]) => {
  const call = l.calls.find((c) => c.method === method);
  if (call) call.value = value; else l.calls.unshift({ method, value });
};

// Each: what a faulty lowering would define, and the header text the refusal must cite.
const FAULTS: Record<string, [(n: DefinedNetwork) => void, RegExp]> = {
  "a kernel of the wrong count": [(n) => { n.weights[(layer(n, "conv").args.kernelWeights as { weights: number }).weights]!.count = 100; n.weights[(layer(n, "conv").args.kernelWeights as { weights: number }).weights]!.bytes = new Uint8Array(400); }, /GKCRS order/],
  "float16 weights in a float32 layer (untyped weights)": [(n) => { const w = n.weights[(layer(n, "conv").args.biasWeights as { weights: number }).weights]!; w.type = "kHALF"; w.bytes = w.bytes.slice(0, 8); }, /inferred from network input types/],
  "a scale of a rank-3 tensor": [(n) => { const pool = layer(n, "pool"); setter(pool, "setStrideNd", [2, 2]); n.layers.splice(n.layers.indexOf(layer(n, "bn")), 0, { method: "addShuffle", name: "squeeze", args: { input: { tensor: layer(n, "conv").outputs[0]! } }, calls: [{ method: "setReshapeDimensions", value: [2, 4, 64] }], outputs: [n.tensors.push("squeezed") - 1] }); (layer(n, "bn").args.input as { tensor: number }).tensor = n.tensors.length - 1; }, /at least 4 dimensions/],
  "negative padding of a deconvolution": [(n) => { layer(n, "conv").method = "addDeconvolutionNd"; setter(layer(n, "conv"), "setPrePadding", [-1, 0]); }, /Negative padding is not supported/],
  "a window's stride of the wrong rank": [(n) => setter(layer(n, "pool"), "setStrideNd", [2]), /multi-dimension/],
  "softmax over two axes": [(n) => setter(layer(n, "softmax"), "setAxes", 3), /softmax takes one axis|axes is a bitmap/],
  "a softmax axis beyond the rank": [(n) => setter(layer(n, "softmax"), "setAxes", 1 << 5), /bitmap/],
  "a setter the layer does not have": [(n) => layer(n, "relu").calls.push({ method: "setAxis", value: 1 }), /no method of the layer/],
  "an element-wise sum of ranks 2 and 3": [(n) => { const fc = layer(n, "fc"); (fc.args.input2 as { tensor: number }).tensor = layer(n, "fc.flatten").outputs[0]!; setter(layer(n, "fc.flatten"), "setReshapeDimensions", [2, 1, -1]); }, /same rank|inner dimensions|batch dimensions/],
  "per-channel quantization of an activation": [(n) => { const q = layer(n, "q"), scale = layer(n, "q.scale"); scale.args.dimensions = [3]; const w = n.weights[(scale.args.weights as { weights: number }).weights]!; w.count = 3; w.bytes = new Uint8Array(new Float32Array([0.02, 0.02, 0.02]).buffer); setter(q, "setAxis", 1); }, /Activations cannot be quantized per-channel/],
  "a zero quantization scale": [(n) => { const w = n.weights[(layer(n, "dq.scale").args.weights as { weights: number }).weights]!; w.bytes = new Uint8Array(4); }, /strictly positive/],
  "a constant whose weights do not fill its dimensions": [(n) => { layer(n, "fc.bias").args.dimensions = [1, 6]; }, /volume of the runtime dimensions/],
  "a reshape that changes the volume": [(n) => setter(layer(n, "fc.flatten"), "setReshapeDimensions", [2, 60]), /Value -1 infers/],
  "a network output that is an input": [(n) => { n.outputs.push(n.inputs[0]!.tensor); }, /mark a network input as an output/],
  "two outputs of one name": [(n) => { n.outputs.push(layer(n, "relu").outputs[0]!); n.tensors[layer(n, "relu").outputs[0]!] = "y"; }, /unique name/],
};

describe("a faulty lowering, refused with the header's text", () => {
  it("the network unchanged passes", () => {
    expect(() => new TensorRTReference(lowered()).infer({ x: [2, 3, 8, 8] })).not.toThrow();
  });
  it.each(Object.entries(FAULTS))("%s", (_, [fault, rule]) => {
    const network = lowered();
    fault(network);
    let error: unknown;
    try {
      const reference = new TensorRTReference(network);
      reference.infer({ x: [2, 3, 8, 8] });
      reference.execute({ x: { data: wave(384), shape: [2, 3, 8, 8] } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TensorRTRuleError);
    expect(`${(error as TensorRTRuleError).rule} ${(error as Error).message}`).toMatch(rule);
  });
  it("a wrong input shape names the input and both shapes", () => {
    expect(() => new TensorRTReference(lowered()).infer({ x: [2, 3, 9, 8] })).toThrow(/input 'x' of \[2,3,8,8\] given \[2,3,9,8\]/);
  });
  it("a refusal names the IR layer and the user's call site", () => {
    const net = new Network("placed");
    const x = net.addInput("x", "float32", [1, 2, 4, 4]);
    net.markOutput(x.addFullyConnected("dense", { outFeatures: 3, weights: { kernel: wave(96), bias: wave(3) } }), "y");
    const reference = TensorRTReference.of(net);
    setter(layer(reference.network, "dense.flatten"), "setReshapeDimensions", [0, 5, -1]);
    let error: TensorRTRuleError | undefined;
    try { new TensorRTReference(reference.network, net.toJSON()).infer({ x: [1, 2, 4, 4] }); } catch (e) { error = e as TensorRTRuleError; }
    expect(error?.layer).toBe("dense");
    expect(error?.callSite).toMatch(/reference-rules\.test\.ts:\d+:\d+/);
    expect(error?.tensorrtLayer).toBe("dense.flatten");
  });
});

describe("refit through IRefitter's names", () => {
  it("yolo_block refitted by PyTorch names (BatchNorms folded) runs as the network built from the new weights", async () => {
    const weights = await loadFixtureWeights("yolo_block.safetensors");
    const scaled = new WeightStore();
    for (const name of weights.names()) {
      const values = weights.float32(name)!.map((v, i) => (name.endsWith("running_var") ? v * 1.5 : v * 1.1 + (i % 3) * 0.01));
      scaled.set(name, { dtype: "float32", shape: weights.get(name)!.shape, data: values });
    }
    const reference = TensorRTReference.of(defineYoloBlock(weights));
    const { values, ignored } = refitValues(refitRecord(defineYoloBlock(weights).toJSON()), scaled);
    expect(ignored).toEqual([]);
    // The names IRefitter would see: PyTorch's, and each folded BatchNorm's scale and shift under its layer's name.
    expect(reference.weightNames()).toEqual(expect.arrayContaining([...Object.keys(values), "stem.conv.weight", "stem.bn.scale", "stem.bn.shift"]));
    for (const [name, v] of Object.entries(values)) expect(reference.refit(name, v), name).toBe(true);
    expect(reference.refit("no.such.weight", Float32Array.of(1))).toBe(false);
    const input = { input: { data: wave(3 * 64 * 64, 0.13), shape: [1, 3, 64, 64] } };
    const refitted = reference.execute(input).outputs.output!.data;
    const rebuilt = TensorRTReference.of(defineYoloBlock(scaled)).execute(input).outputs.output!.data;
    const before = TensorRTReference.of(defineYoloBlock(weights)).execute(input).outputs.output!.data;
    expect(toleranceRatio(refitted, rebuilt)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(before, rebuilt)).toBeGreaterThan(100);
  });
});
