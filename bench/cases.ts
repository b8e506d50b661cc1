// The models `npm run bench` and `npm run bench:layers` run: each one's network, weights, input and batch sizes.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, type Network, type WeightSource } from "netdef";
import { defineLeNet } from "../models/lenet.js";
import { defineMobileNetV2 } from "../models/mobilenet-v2.js";
import { defineResNet18, randomWeights } from "../models/resnet18.js";
import { defineYoloBlock } from "../models/yolo-block.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");
const fixture = (file: string) => () => loadWeights(path.join(fixtures, file));

export type Precision = "float32" | "bfloat16" | "int8";

export interface BenchCase {
  model: string;
  define: (w?: WeightSource) => Network;
  weights: () => Promise<WeightSource>;
  input: string;
  item: number[];
  batches: number[];
  precisions?: Precision[];
}

export const benchCases: BenchCase[] = [
  { model: "lenet", define: defineLeNet, weights: fixture("lenet.safetensors"), input: "data", item: [1, 28, 28], batches: [1, 256], precisions: ["float32", "int8"] },
  { model: "yolo_block", define: defineYoloBlock, weights: fixture("yolo_block.safetensors"), input: "input", item: [3, 64, 64], batches: [1] },
  { model: "mobilenet_v2", define: defineMobileNetV2, weights: fixture("mobilenet_v2.safetensors"), input: "input", item: [3, 224, 224], batches: [1, 8], precisions: ["float32", "bfloat16"] },
  { model: "resnet18", define: defineResNet18, weights: async () => randomWeights(defineResNet18()), input: "input", item: [3, 224, 224], batches: [1, 8], precisions: ["float32", "bfloat16", "int8"] },
];
