// The example models, for the self-test: seeded random weights of the right shapes (the self-test compares TensorRT
// with the builtin engine, not with PyTorch), a dynamic batch run at 2.
import type { Network } from "../dsl/network.js";
import type { WeightSource } from "../weights/source.js";
import { WeightStore } from "../weights/store.js";
import { defineLeNet } from "../models/lenet.js";
import { defineMobileNetV2 } from "../models/mobilenet-v2.js";
import { defineResNet18, randomWeights } from "../models/resnet18.js";
import { defineShuffleNetV2 } from "../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../models/squeezenet.js";
import { defineTransformerEncoder } from "../models/transformer-encoder.js";
import { defineYoloBlock } from "../models/yolo-block.js";

export interface SelftestModel {
  define: (weights?: WeightSource) => Network;
  /** The input's shape as run (its batch within the profile 1…4). */
  shape: number[];
}

export const SELFTEST_MODELS: Readonly<Record<string, SelftestModel>> = {
  lenet: { define: defineLeNet, shape: [2, 1, 28, 28] },
  yolo_block: { define: defineYoloBlock, shape: [2, 3, 64, 64] },
  mobilenet_v2: { define: defineMobileNetV2, shape: [2, 3, 224, 224] },
  resnet18: { define: defineResNet18, shape: [2, 3, 224, 224] },
  squeezenet1_1: { define: defineSqueezeNet, shape: [2, 3, 224, 224] },
  shufflenet_v2_x0_5: { define: defineShuffleNetV2, shape: [2, 3, 224, 224] },
  transformer_encoder: { define: (weights) => defineTransformerEncoder(weights), shape: [2, 16, 64] },
};

/**
 * Seeded random weights for every name the model binds from a weight source (positive variances), a second seed for
 * the refit; values the model gives inline (gather indices, say) stay its own.
 */
export function modelWeights(model: SelftestModel, seed: number): WeightSource {
  const bare = model.define(), random = randomWeights(bare, seed), weights = new WeightStore();
  for (const name of random.names()) if (!bare.weights.get(name)) weights.set(name, random.get(name)!);
  return weights;
}
