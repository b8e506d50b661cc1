// The models and patterns `npm run bench` and `npm run bench:layers` run: each one's network, weights, inputs,
// batch sizes, precisions and PyTorch's own ONNX export of it (fixtures/onnx, made by scripts/pytorch/bench_models.py).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, type Network, type WeightSource } from "netdef";
import { defineConv1dStack } from "../models/conv1d-stack.js";
import { defineLeNet } from "../models/lenet.js";
import { defineMobileNetV2 } from "../models/mobilenet-v2.js";
import { defineResNet18, randomWeights } from "../models/resnet18.js";
import { defineSqueezeExcitationBlock } from "../models/se-block.js";
import { defineShuffleNetV2 } from "../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../models/squeezenet.js";
import { defineTransformerEncoder } from "../models/transformer-encoder.js";
import { defineUNetDecoder } from "../models/unet-decoder.js";
import { defineViTBlock } from "../models/vit-block.js";
import { defineYoloBlock } from "../models/yolo-block.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");
const fixture = (file: string) => () => loadWeights(path.join(fixtures, file));

export type Precision = "float32" | "bfloat16" | "int8";

export interface BenchCase {
  model: string;
  define: (w?: WeightSource) => Network;
  weights: () => Promise<WeightSource>;
  /** Each input's shape after the batch. */
  inputs: Record<string, number[]>;
  batches: number[];
  precisions: Precision[];
  /** PyTorch's export, under fixtures/onnx (the largest are not committed: the script makes them). */
  onnx: string;
}

const all: Precision[] = ["float32", "bfloat16", "int8"];
const image = { input: [3, 224, 224] };

export const benchCases: BenchCase[] = [
  { model: "lenet", define: defineLeNet, weights: fixture("lenet.safetensors"), inputs: { data: [1, 28, 28] }, batches: [1, 256], precisions: all, onnx: "lenet.onnx" },
  { model: "yolo_block", define: defineYoloBlock, weights: fixture("yolo_block.safetensors"), inputs: { input: [3, 64, 64] }, batches: [1], precisions: all, onnx: "yolo_block.onnx" },
  { model: "mobilenet_v2", define: defineMobileNetV2, weights: fixture("mobilenet_v2.safetensors"), inputs: image, batches: [1, 8], precisions: all, onnx: "mobilenet_v2.onnx" },
  { model: "resnet18", define: defineResNet18, weights: async () => randomWeights(defineResNet18()), inputs: image, batches: [1, 8], precisions: all, onnx: "resnet18.onnx" },
  { model: "squeezenet1_1", define: defineSqueezeNet, weights: fixture("squeezenet.safetensors"), inputs: image, batches: [1, 8], precisions: all, onnx: "squeezenet.onnx" },
  { model: "shufflenet_v2_x0_5", define: defineShuffleNetV2, weights: fixture("shufflenet_v2.safetensors"), inputs: image, batches: [1, 8], precisions: all, onnx: "shufflenet_v2.onnx" },
  { model: "encoder_seq16", define: (w) => defineTransformerEncoder(w), weights: fixture("encoder.safetensors"), inputs: { input: [16, 64] }, batches: [2], precisions: ["float32", "bfloat16"], onnx: "encoder.onnx" },
  { model: "encoder_seq128", define: (w) => defineTransformerEncoder(w, { tokens: 128 }), weights: fixture("encoder.safetensors"), inputs: { input: [128, 64] }, batches: [8], precisions: ["float32", "bfloat16"], onnx: "encoder_seq128.onnx" },
  { model: "se_block", define: (w) => defineSqueezeExcitationBlock(w), weights: fixture("patterns/se_block.safetensors"), inputs: { input: [24, 56, 56] }, batches: [1, 8], precisions: all, onnx: "se_block.onnx" },
  { model: "vit_block_64", define: (w) => defineViTBlock(w, { tokens: 65, model: 64, heads: 4, mlpRatio: 2 }), weights: fixture("patterns/vit_block_64.safetensors"), inputs: { input: [65, 64] }, batches: [1, 8], precisions: ["float32", "bfloat16"], onnx: "vit_block_64.onnx" },
  { model: "vit_block_192", define: (w) => defineViTBlock(w, { tokens: 197, model: 192, heads: 3, mlpRatio: 4 }), weights: fixture("patterns/vit_block_192.safetensors"), inputs: { input: [197, 192] }, batches: [1, 8], precisions: ["float32", "bfloat16"], onnx: "vit_block_192.onnx" },
  { model: "unet_decoder", define: (w) => defineUNetDecoder(w), weights: fixture("patterns/unet_decoder.safetensors"), inputs: { input: [64, 16, 16], skip: [32, 32, 32] }, batches: [1], precisions: all, onnx: "unet_decoder.onnx" },
  { model: "conv1d_stack", define: (w) => defineConv1dStack(w), weights: fixture("patterns/conv1d_stack.safetensors"), inputs: { input: [1, 8000] }, batches: [1, 8], precisions: all, onnx: "conv1d_stack.onnx" },
];

/** The path of a case's PyTorch export, or undefined where it has not been made on this machine. */
export function pytorchExport(c: BenchCase): string | undefined {
  const file = path.join(fixtures, "onnx", c.onnx);
  return existsSync(file) ? file : undefined;
}

/** Deterministic inputs at `batch`: sin of the flat index, `scale` times. */
export function benchInputs(c: BenchCase, batch: number, scale = 1): Record<string, { data: Float32Array; shape: number[] }> {
  return Object.fromEntries(Object.entries(c.inputs).map(([name, item]) => {
    const shape = [batch, ...item];
    return [name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * scale) }];
  }));
}

/** One optimization profile from batch 1 (the shape tuned for) to `maxBatch`. */
export function benchProfile(c: BenchCase, maxBatch: number) {
  return Object.fromEntries(Object.entries(c.inputs).map(([name, item]) => [name, { min: [1, ...item], opt: [1, ...item], max: [maxBatch, ...item] }]));
}
