import type { LayerDefinition } from "./layer.js";
import { activation } from "./activation.js";
import { batchNorm } from "./batch-norm.js";
import { cast } from "./cast.js";
import { concatenation } from "./concatenation.js";
import { constant } from "./constant.js";
import { convolution } from "./convolution.js";
import { deconvolution } from "./deconvolution.js";
import { dequantize } from "./dequantize.js";
import { elementWise } from "./element-wise.js";
import { expand } from "./expand.js";
import { fullyConnected } from "./fully-connected.js";
import { gather } from "./gather.js";
import { identity } from "./identity.js";
import { lrn } from "./lrn.js";
import { matrixMultiply } from "./matrix-multiply.js";
import { normalization } from "./normalization.js";
import { padding } from "./padding.js";
import { parametricReLU } from "./parametric-relu.js";
import { pooling } from "./pooling.js";
import { quantize } from "./quantize.js";
import { reduce } from "./reduce.js";
import { resize } from "./resize.js";
import { scale } from "./scale.js";
import { select } from "./select.js";
import { shuffle } from "./shuffle.js";
import { slice } from "./slice.js";
import { softMax } from "./softmax.js";
import { topK } from "./topk.js";
import { unary } from "./unary.js";

/**
 * Every layer kind, by the name the IR records: shape inference's table, and the list every consumer of the IR
 * (plan writer, ONNX export, TensorRT lowering, precision rewrites) keys its own table by, so that a new kind does
 * not compile until each handles it or refuses it with a reason.
 */
export const LAYERS = {
  activation, batchNorm, cast, concatenation, constant, convolution, deconvolution, dequantize, elementWise, expand,
  fullyConnected, gather, identity, lrn, matrixMultiply, normalization, padding, parametricReLU, pooling,
  quantize, reduce, resize, scale, select, shuffle, slice, softMax, topK, unary,
} as const;

export type LayerKind = keyof typeof LAYERS;
export const LAYER_KINDS = Object.keys(LAYERS) as LayerKind[];

/** How many inputs (least, most) and outputs a layer of each kind has. */
export const LAYER_ARITY: { readonly [K in LayerKind]: { readonly inputs: readonly [number, number]; readonly outputs: number } } = {
  activation: { inputs: [1, 1], outputs: 1 }, batchNorm: { inputs: [1, 1], outputs: 1 }, cast: { inputs: [1, 1], outputs: 1 },
  concatenation: { inputs: [1, 65535], outputs: 1 }, constant: { inputs: [0, 0], outputs: 1 }, convolution: { inputs: [1, 1], outputs: 1 },
  deconvolution: { inputs: [1, 1], outputs: 1 }, dequantize: { inputs: [1, 1], outputs: 1 }, elementWise: { inputs: [2, 2], outputs: 1 },
  expand: { inputs: [1, 65], outputs: 1 },
  fullyConnected: { inputs: [1, 1], outputs: 1 }, gather: { inputs: [2, 2], outputs: 1 }, identity: { inputs: [1, 1], outputs: 1 },
  lrn: { inputs: [1, 1], outputs: 1 }, matrixMultiply: { inputs: [2, 2], outputs: 1 }, normalization: { inputs: [1, 1], outputs: 1 },
  padding: { inputs: [1, 1], outputs: 1 }, parametricReLU: { inputs: [1, 1], outputs: 1 }, pooling: { inputs: [1, 1], outputs: 1 },
  quantize: { inputs: [1, 1], outputs: 1 }, reduce: { inputs: [1, 1], outputs: 1 }, resize: { inputs: [1, 1], outputs: 1 },
  scale: { inputs: [1, 1], outputs: 1 }, select: { inputs: [3, 3], outputs: 1 }, shuffle: { inputs: [1, 65], outputs: 1 },
  slice: { inputs: [1, 1], outputs: 1 }, softMax: { inputs: [1, 1], outputs: 1 }, topK: { inputs: [1, 1], outputs: 2 },
  unary: { inputs: [1, 1], outputs: 1 },
};

/** A kind's parameters as the IR records them, every default filled in. */
export type ResolvedParams<K extends LayerKind> = (typeof LAYERS)[K] extends LayerDefinition<K, infer _P, infer R> ? R : never;

/** A kind's parameters as the user gives them to `add…`. */
export type LayerParams<K extends LayerKind> = (typeof LAYERS)[K] extends LayerDefinition<K, infer P, infer _R> ? P : never;

// Each entry's kind is its key: a definition filed under another name does not compile.
LAYERS satisfies { [K in LayerKind]: { readonly kind: K } };
