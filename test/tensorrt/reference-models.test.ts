// The example and fixture models through DSL → TensorRT lowering → reference, against the builtin engine (the
// onnxruntime oracle's tolerance, 1e-5·max + 1e-6) and PyTorch's float64 output (1e-4 absolute, the fixtures'). The
// 224×224 models run one image (the reference is plain loops: ~8 s for ResNet-18 here).
import { describe, expect, it } from "vitest";
import { buildEngine, Network, reducedFloat, type WeightStore } from "netdef";
import { outputNumbers } from "../../runtime/io.js";
import { numberToFloat16Bits } from "../../weights/tensor.js";
import { TensorRTReference } from "../../tensorrt/reference/reference.js";
import { defineLeNet } from "../../models/lenet.js";
import { defineMobileNetV2 } from "../../models/mobilenet-v2.js";
import { defineResNet18, randomWeights } from "../../models/resnet18.js";
import { defineShuffleNetV2 } from "../../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../../models/squeezenet.js";
import { defineTransformerEncoder } from "../../models/transformer-encoder.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";
import { maxAbsDifference, toleranceRatio } from "./tolerance.js";

const MODELS: Record<string, { define: () => Promise<Network>; io: string; rows?: number }> = {
  lenet: { define: async () => defineLeNet(await loadFixtureWeights("lenet.safetensors")), io: "lenet_io.safetensors", rows: 16 },
  yolo_block: { define: async () => defineYoloBlock(await loadFixtureWeights("yolo_block.safetensors")), io: "yolo_block_io.safetensors" },
  mobilenet_v2: { define: async () => defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors")), io: "mobilenet_v2_io.safetensors", rows: 1 },
  resnet18: { define: async () => defineResNet18(randomWeights(defineResNet18())), io: "resnet18_io.safetensors", rows: 1 },
  squeezenet: { define: async () => defineSqueezeNet(await loadFixtureWeights("squeezenet.safetensors")), io: "squeezenet_io.safetensors", rows: 1 },
  shufflenet_v2: { define: async () => defineShuffleNetV2(await loadFixtureWeights("shufflenet_v2.safetensors")), io: "shufflenet_v2_io.safetensors", rows: 1 },
  transformer_encoder: { define: async () => defineTransformerEncoder(await loadFixtureWeights("encoder.safetensors")), io: "encoder_io.safetensors" },
};

/** The fixture's input (its first `rows` rows) and PyTorch's float64 output for them. */
function fixtureRows(io: WeightStore, rows?: number) {
  const input = io.get("input")!, output = io.get("output_fp64")!;
  const n = rows ?? input.shape[0]!;
  const shape = [n, ...input.shape.slice(1)], perIn = input.shape.slice(1).reduce((a, b) => a * b, 1), perOut = output.shape.slice(1).reduce((a, b) => a * b, 1);
  return { shape, data: io.float32("input").subarray(0, n * perIn), expected: (output.data as Float64Array).subarray(0, n * perOut) };
}

async function runBoth(network: Network, io: string, rows?: number) {
  const { shape, data, expected } = fixtureRows(await loadFixtureWeights(io), rows);
  const input = network.toJSON().inputs[0]!.name, output = network.toJSON().outputs[0]!.name;
  const reference = TensorRTReference.of(network).execute({ [input]: { data, shape } }).outputs[output]!;
  const engine = await buildEngine(network, { profiles: [{ [input]: { min: [1, ...shape.slice(1)], opt: shape, max: shape } }] });
  const builtin = (await engine.createExecutionContext().execute({ [input]: { data, shape } }))[output]!;
  engine.dispose();
  return { reference, builtin, expected };
}

describe("the lowering on the reference vs the builtin engine and PyTorch (float32)", () => {
  it.each(Object.keys(MODELS))("%s", async (name) => {
    const model = MODELS[name]!;
    const { reference, builtin, expected } = await runBoth(await model.define(), model.io, model.rows);
    expect(reference.shape).toEqual(builtin.shape);
    expect(toleranceRatio(builtin.data as Float32Array, reference.data)).toBeLessThanOrEqual(1);
    expect(maxAbsDifference(reference.data, expected)).toBeLessThan(1e-4);
  }, 60_000);
});

// Reduced precision: every float16/bfloat16 tensor rounded after each layer, in both. Accumulation order differs, so a
// rounding may land one step apart: within 2 steps of the type at the output's largest magnitude.
describe("the lowering on the reference vs the builtin engine, reduced precision", () => {
  it.each([["yolo_block", "float16"], ["yolo_block", "bfloat16"], ["transformer_encoder", "float16"], ["transformer_encoder", "bfloat16"]] as const)("%s in %s", async (name, dtype) => {
    const model = MODELS[name]!;
    const { reference, builtin } = await runBoth(reducedFloat(await model.define(), dtype), model.io, model.rows);
    let scale = 0;
    for (const v of reference.data) scale = Math.max(scale, Math.abs(v));
    const step = 2 ** (Math.floor(Math.log2(scale)) - (dtype === "float16" ? 10 : 7));
    expect(maxAbsDifference(builtin.data as Float32Array, reference.data)).toBeLessThanOrEqual(2 * step);
  }, 60_000);
});

// A network typed float16 / bfloat16 from its input (TensorRT's strongly typed network computes each layer in its
// input's type, so the lowering must give it weights of that type): the same check.
describe("a network typed from a 16-bit input", () => {
  it.each(["float16", "bfloat16"] as const)("%s", async (dtype) => {
    const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
    const net = new Network("half");
    const x = net.addInput("x", dtype, [2, 3, 6, 6]);
    net.markOutput(x.addConvolution("c", { outChannels: 4, kernel: 3, padding: 1, weights: { kernel: wave(108, 0.7), bias: wave(4, 0.3) } })
      .addActivation("r", { type: "relu" }).addFullyConnected("fc", { outFeatures: 3, weights: { kernel: wave(3 * 144, 0.11), bias: wave(3, 0.5) } }), "y");
    const values = Array.from({ length: 216 }, (_, i) => ((i * 37) % 129 - 64) / 64);  // exact in both types
    const bits = Uint16Array.from(values, (v) => (dtype === "float16" ? numberToFloat16Bits(v) : new Uint32Array(Float32Array.of(v).buffer)[0]! >>> 16));
    const reference = TensorRTReference.of(net).execute({ x: { data: values, shape: [2, 3, 6, 6] } }).outputs.y!;
    const builtin = (await (await buildEngine(net)).createExecutionContext().execute({ x: bits })).y!;
    expect(reference.type).toBe(dtype === "float16" ? "kHALF" : "kBF16");
    let scale = 0;
    for (const v of reference.data) scale = Math.max(scale, Math.abs(v));
    expect(maxAbsDifference(outputNumbers(builtin), reference.data)).toBeLessThanOrEqual(2 * 2 ** (Math.floor(Math.log2(scale)) - (dtype === "float16" ? 10 : 7)));
  });
});
