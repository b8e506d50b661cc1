// The builtin engine against PyTorch: each fixture's float64 reference output (see fixtures/README.md).
import { describe, expect, it } from "vitest";
import type { Network } from "netdef";
import { buildEngine } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { defineMobileNetV2 } from "../../models/mobilenet-v2.js";
import { defineResNet18, randomWeights } from "../../models/resnet18.js";
import { defineShuffleNetV2 } from "../../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../../models/squeezenet.js";
import { defineTransformerEncoder } from "../../models/transformer-encoder.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { defineConv1dStack } from "../../models/conv1d-stack.js";
import { defineSqueezeExcitationBlock } from "../../models/se-block.js";
import { defineUNetDecoder } from "../../models/unet-decoder.js";
import { defineViTBlock } from "../../models/vit-block.js";
import { loadFixtureWeights } from "../fixtures.js";

/** Largest |a − b| and the argmax agreement over rows of `classes`. */
function compare(actual: Float32Array, expected: Float64Array, classes: number) {
  let maxAbs = 0, agree = 0;
  for (let r = 0; r < expected.length / classes; r++) {
    let a = 0, e = 0;
    for (let k = 0; k < classes; k++) {
      const i = r * classes + k;
      maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - expected[i]!));
      if (actual[i]! > actual[r * classes + a]!) a = k;
      if (expected[i]! > expected[r * classes + e]!) e = k;
    }
    if (a === e) agree++;
  }
  return { maxAbs, agree };
}

async function run(define: (w: Awaited<ReturnType<typeof loadFixtureWeights>>) => Network, weightsFile: string, ioFile: string, inputName: string, outputName: string) {
  const io = await loadFixtureWeights(ioFile);
  const input = io.get("input")!;
  const engine = await buildEngine(define(await loadFixtureWeights(weightsFile)), {
    profiles: [{ [inputName]: { min: [1, ...input.shape.slice(1)], opt: [...input.shape], max: [...input.shape] } }],
  });
  const outputs = await engine.createExecutionContext().execute({ [inputName]: { data: io.float32("input"), shape: input.shape } });
  expect(outputs[outputName]!.shape).toEqual(io.get("output_fp64")!.shape);
  return { actual: outputs[outputName]!.data as Float32Array, expected: io.get("output_fp64")!.data as Float64Array, io };
}

describe("builtin engine vs PyTorch float64 (tolerance 1e-4 absolute, README of the fixtures)", () => {
  it("LeNet: every one of the 2,000 digits classified as PyTorch does", async () => {
    const { actual, expected } = await run(defineLeNet, "lenet.safetensors", "lenet_io.safetensors", "data", "prob");
    const { maxAbs, agree } = compare(actual, expected, 10);
    expect(agree).toBe(2000);
    expect(maxAbs).toBeLessThan(1e-4);
  });

  it("yolo_block (Conv-BN-Mish, SPP, nearest upsample, concat, sigmoid)", async () => {
    const { actual, expected } = await run(defineYoloBlock, "yolo_block.safetensors", "yolo_block_io.safetensors", "input", "output");
    expect(compare(actual, expected, expected.length).maxAbs).toBeLessThan(1e-4);
  });

  it("mobilenet_v2 (depthwise, ReLU6, residual adds, global pooling)", async () => {
    const { actual, expected } = await run(defineMobileNetV2, "mobilenet_v2.safetensors", "mobilenet_v2_io.safetensors", "input", "output");
    const { maxAbs, agree } = compare(actual, expected, 1000);
    expect(agree).toBe(2);
    expect(maxAbs).toBeLessThan(1e-4);
  });

  // Blocked (the default): every convolution and the max pooling on channel-blocked tensors, the Winograd tactics in
  // the blocked Winograd kernel; planar (NETDEF_CHANNEL_BLOCKED=0): the planar kernels. One layer pinned to F(2×2),
  // which the shape rules leave to channel counts that stay planar.
  it.each([["blocked", "1"], ["planar", "0"]])("resnet18 (seeded random weights), %s tensors: Winograd F(4×4) and F(2×2), direct, strided 1×1 GEMMs planar", async (layout, flag) => {
    const io = await loadFixtureWeights("resnet18_io.safetensors");
    const input = io.get("input")!;
    process.env.NETDEF_CHANNEL_BLOCKED = flag;
    const engine = await buildEngine(defineResNet18(randomWeights(defineResNet18())), { profiles: [{ input: { min: [1, 3, 224, 224], opt: [2, 3, 224, 224], max: [2, 3, 224, 224] } }], tactics: { "layer4.1.conv1": "winograd_2x2_3x3" } })
      .finally(() => delete process.env.NETDEF_CHANNEL_BLOCKED);
    const blockedLayers = engine.inspect().channelBlocked.layers;
    if (layout === "blocked") expect(blockedLayers).toHaveLength(22);  // 20 convolutions, the max pooling, the global average pooling
    else expect(blockedLayers).toEqual([]);
    const tactics = new Set(engine.inspect().layers.map((l) => l.tactic));
    for (const tactic of ["winograd_4x4_3x3", "winograd_2x2_3x3", "direct_c16", "direct_rows", "implicit_gemm_k256"]) expect(tactics).toContain(tactic);
    const kernels = Object.fromEntries(engine.inspect().layers.map((l) => [l.name, l.kernel]));
    expect(kernels).toMatchObject(layout === "blocked"
      ? { conv1: "blocked_direct", "layer1.0.conv1": "blocked_winograd_4x4_3x3", "layer3.1.conv2": "blocked_winograd_4x4_3x3", "layer4.0.conv2": "blocked_direct", "layer4.1.conv1": "blocked_winograd_2x2_3x3" }
      : { conv1: "direct_rows", "layer1.0.conv1": "winograd_4x4_3x3", "layer4.0.conv2": "direct_c16", "layer4.1.conv1": "winograd_2x2_3x3", "layer2.0.downsample.0": "implicit_gemm_k256" });
    const outputs = await engine.createExecutionContext().execute({ input: { data: io.float32("input"), shape: input.shape } });
    const { maxAbs, agree } = compare(outputs.output!.data as Float32Array, io.get("output_fp64")!.data as Float64Array, 1000);
    expect(agree).toBe(2);
    expect(maxAbs).toBeLessThan(1e-4);
  });

  // Ported from the shared fixtures' README alone (torchvision's squeezenet1_1 and shufflenet_v2_x0_5, PyTorch's
  // TransformerEncoderLayer), as a user would port them.
  it.each([
    ["squeezenet1_1 (Fire modules, ceil-mode pooling)", defineSqueezeNet, "squeezenet", 1000],
    ["shufflenet_v2_x0_5 (channel split by chunk, channel shuffle)", defineShuffleNetV2, "shufflenet_v2", 1000],
    ["a transformer encoder layer (attention from in_proj_weight's rows, layer norm, erf GELU)", defineTransformerEncoder, "encoder", 64],
  ] as const)("%s", async (_, define, fixture, classes) => {
    const { actual, expected } = await run(define, `${fixture}.safetensors`, `${fixture}_io.safetensors`, "input", "output");
    const { maxAbs, agree } = compare(actual, expected, classes);
    expect(agree).toBe(expected.length / classes);
    expect(maxAbs).toBeLessThan(1e-4);
  });
});

// The bench's patterns (fixtures/patterns, made by scripts/pytorch/bench_models.py): each at batch 2 against PyTorch's
// float64 output, within 1e-4 of the output's largest magnitude (PyTorch's own float32 is within 1e-6 of it).
describe("the bench's patterns match PyTorch's float64 output", () => {
  it.each([
    ["a squeeze-excitation inverted residual (SiLU, broadcast scale)", "se_block", (w) => defineSqueezeExcitationBlock(w)],
    ["a pre-norm transformer block, 65 tokens × 64, 4 heads", "vit_block_64", (w) => defineViTBlock(w, { tokens: 65, model: 64, heads: 4, mlpRatio: 2 })],
    ["a pre-norm transformer block, 197 tokens × 192, 3 heads", "vit_block_192", (w) => defineViTBlock(w, { tokens: 197, model: 192, heads: 3, mlpRatio: 4 })],
    ["a U-Net decoder stage (transposed convolution, skip concatenation, bilinear ×2)", "unet_decoder", (w) => defineUNetDecoder(w)],
    ["a 1-d convolution stack (kernel 80 stride 16, max pooling)", "conv1d_stack", (w) => defineConv1dStack(w)],
  ] as const satisfies readonly (readonly [string, string, (w: Awaited<ReturnType<typeof loadFixtureWeights>>) => Network])[])("%s", async (_, fixture, define) => {
    const io = await loadFixtureWeights(`patterns/${fixture}_io.safetensors`);
    const net = define(await loadFixtureWeights(`patterns/${fixture}.safetensors`));
    const inputs = Object.fromEntries(net.toJSON().inputs.map((t) => [t.name, { data: io.float32(t.name), shape: io.get(t.name)!.shape }]));
    const profile = Object.fromEntries(Object.entries(inputs).map(([name, { shape }]) => [name, { min: [1, ...shape.slice(1)], opt: [...shape], max: [...shape] }]));
    const outputs = await (await buildEngine(net, { profiles: [profile] })).createExecutionContext().execute(inputs);
    const expected = io.get("output_fp64")!;
    expect(outputs.output!.shape).toEqual(expected.shape);
    const got = outputs.output!.data as Float32Array, want = expected.data as Float64Array;
    let maxAbs = 0, largest = 0;
    for (let i = 0; i < want.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
      largest = Math.max(largest, Math.abs(want[i]!));
    }
    expect(maxAbs / largest).toBeLessThan(1e-4);
  });
});
