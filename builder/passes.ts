import { representableIn, roundedTo } from "../precision/reduced-float.js";
import type { PassId, RoundingType } from "../plan/schema.js";
import { epilogueOf, readers, roundedType, valuesPassedOn, type BuildGraph, type BuildOp } from "./graph.js";

/**
 * The builder's graph rewrites, run in order. Each keeps outputs unchanged (within float32 rounding; roundFoldedWeights
 * within the precision a reduced-precision layer declares) and records in `fusedFrom` which of the network's layers
 * an op now computes.
 */
export interface Pass {
  /** Stable: plans record it and refit runs the pass again by it. */
  id: PassId;
  description: string;
  run: (graph: BuildGraph) => void;
  /** Required for the builtin kernels (not an optimisation): runs even with `optimize: false`. */
  required?: boolean;
  /** Runs after constant folding, which must see the layers this pass would merge. */
  afterConstantFolding?: boolean;
}

export const PASSES: readonly Pass[] = [
  { id: "remove-dead-layers", description: "remove layers whose outputs nothing reads", run: removeDeadLayers },
  { id: "remove-no-ops", description: "remove identities and no-op shuffles", run: removeNoOps },
  { id: "drop-round-trips-in-fusions", description: "round reduced-precision activations at fused-group outputs only", run: dropRoundTripsInsideFusions },
  { id: "drop-redundant-round-trips", description: "drop roundings of values already representable", run: dropRedundantRoundTrips },
  { id: "fold-affine", description: "fold BatchNorm and channel scales into the preceding convolution or dense layer", run: foldAffineIntoConvolutionOrDense },
  { id: "lower-batchnorm", description: "lower remaining BatchNorms to channel scales", run: lowerBatchNorm, required: true },
  { id: "fuse-int8-inputs", description: "run convolutions and dense layers behind quantize → dequantize in INT8", run: fuseQuantizedInputs },
  { id: "fuse-mish", description: "fuse softplus → tanh → product with the input into mish", run: fuseMish },
  { id: "fuse-silu", description: "fuse sigmoid → product with the input into silu", run: fuseSilu },
  { id: "fuse-residual-add", description: "fuse residual adds into the convolution before them", run: fuseResidualAdd },
  { id: "fuse-log-softmax", description: "fuse softmax → log into log-softmax", run: fuseLogSoftMax },
  { id: "fuse-activation", description: "fuse activations into convolutions and dense layers", run: fuseActivation },
  { id: "fuse-rounding", description: "fuse reduced-precision rounding into convolutions and dense layers", run: fuseRoundTrip },
  { id: "fuse-int8-output-rounding", description: "fuse quantize → dequantize after an INT8 convolution or dense layer into its epilogue", run: fuseQuantizedOutputs },
  { id: "round-folded-weights", description: "hold the folded weights of reduced-precision layers in their type", run: roundFoldedWeights },
  { id: "fuse-scaled-softmax", description: "fuse a matrix product's scaling by a constant and the softmax over its rows into it", run: fuseScaledSoftMax, afterConstantFolding: true },
  { id: "fuse-pointwise-chains", description: "fuse chains of element-wise layers into one pass", run: fusePointwiseChains, afterConstantFolding: true },
];

/** Layers none of whose outputs is read by another layer or marked as an output, repeatedly (chains die whole). */
export function removeDeadLayers(graph: BuildGraph): void {
  for (let changed = true; changed;) {
    const count = readers(graph);
    const before = graph.ops.length;
    graph.ops = graph.ops.filter((op) => op.outputs.some((t) => (count.get(t) ?? 0) > 0));
    changed = graph.ops.length !== before;
  }
}

/** Identity layers, and shuffles that neither permute nor change the shape: readers take the input directly. */
export function removeNoOps(graph: BuildGraph): void {
  const outputs = new Set(graph.outputs.map((o) => o.tensor));
  const isIdentity = (perm: unknown) => Array.isArray(perm) && perm.every((v, i) => v === i);
  for (const op of [...graph.ops]) {
    const noOp = op.kind === "identity" || (op.kind === "shuffle" && isIdentity(op.params.firstTranspose) && isIdentity(op.params.secondTranspose)
      && (op.params.reshape === null || graph.tensors.get(op.inputs[0]!)!.shape.join() === graph.tensors.get(op.outputs[0]!)!.shape.join()
        && !graph.tensors.get(op.outputs[0]!)!.shape.some((d) => d < 0)));
    // A network output keeps its producing layer: the output is that tensor, under its name.
    if (!noOp || outputs.has(op.outputs[0]!)) continue;
    const [from, to] = [op.inputs[0]!, op.outputs[0]!];
    for (const reader of graph.ops) reader.inputs = reader.inputs.map((t) => (t === to ? from : t));
    graph.ops.splice(graph.ops.indexOf(op), 1);
  }
}

/** The op that writes `tensor` (none for a network input). */
function producerOf(graph: BuildGraph, tensor: string): BuildOp | undefined {
  return graph.ops.find((op) => op.outputs.includes(tensor));
}

/** The op that reads `tensor`, when it is the only reader (and the tensor is no network output). */
function soleConsumerOf(graph: BuildGraph, tensor: string, count = readers(graph)): BuildOp | undefined {
  if (count.get(tensor) !== 1) return undefined;
  return graph.ops.find((op) => op.inputs.includes(tensor));
}

/** BatchNorm as per-channel scale and shift: scale = γ/√(var+ε), shift = β − mean·scale. */
function batchNormScaleShift(bn: BuildOp<"batchNorm">): { scale: Float32Array; shift: Float32Array } {
  const { weight, bias, mean, variance } = bn.weights;
  const epsilon = bn.params.epsilon;
  const scale = new Float32Array(weight!.length);
  const shift = new Float32Array(weight!.length);
  for (let c = 0; c < scale.length; c++) {
    // In float64, so folding adds no error beyond the final float32 rounding.
    const s = weight![c]! / Math.sqrt(variance![c]! + epsilon);
    scale[c] = s;
    shift[c] = bias![c]! - mean![c]! * s;
  }
  return { scale, shift };
}

function replaceOutput(graph: BuildGraph, removed: BuildOp, into: BuildOp): void {
  into.outputs = removed.outputs;
  into.fusedFrom.push(...removed.fusedFrom);
  graph.ops.splice(graph.ops.indexOf(removed), 1);
}

/** The per-output-channel scale and shift of a BatchNorm or of a channel/uniform scale layer without power. */
function affineOf(op: BuildOp, channels: number): { scale: Float32Array; shift: Float32Array } | undefined {
  if (op.kind === "batchNorm") return batchNormScaleShift(op);
  if (op.kind !== "scale") return undefined;
  const { mode, channelAxis } = op.params as { mode: string; channelAxis: number };
  if (!(mode === "uniform" || (mode === "channel" && channelAxis === 1)) || (op.weights.power && !op.weights.power.every((p) => p === 1))) return undefined;
  const at = (w: Float32Array | undefined, c: number, otherwise: number) => (w ? w[w.length === 1 ? 0 : c]! : otherwise);
  return {
    scale: Float32Array.from({ length: channels }, (_, c) => at(op.weights.scale, c, 1)),
    shift: Float32Array.from({ length: channels }, (_, c) => at(op.weights.shift, c, 0)),
  };
}

/**
 * convolution or dense layer → BatchNorm or channel scale: W' = W·scale per output channel, b' = b·scale + shift
 * (products in float64, rounded once).
 */
export function foldAffineIntoConvolutionOrDense(graph: BuildGraph): void {
  for (const producer of [...graph.ops]) {
    if ((producer.kind !== "convolution" && producer.kind !== "fullyConnected") || !graph.ops.includes(producer)) continue;
    const next = soleConsumerOf(graph, producer.outputs[0]!);
    const channels = producer.kind === "convolution" ? producer.params.outChannels : producer.params.outFeatures;
    const affine = next && affineOf(next, channels);
    if (!affine) continue;
    const { scale, shift } = affine;
    const kernel = Float32Array.from(producer.weights.kernel!);
    producer.kernelType ??= representableIn(kernel, "bfloat16") ? "bfloat16" : representableIn(kernel, "float16") ? "float16" : undefined;
    const perChannel = kernel.length / channels;
    for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! * scale[Math.floor(i / perChannel)]!;
    const bias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) bias[c] = (producer.weights.bias?.[c] ?? 0) * scale[c]! + shift[c]!;
    producer.weights = { kernel, bias };
    producer.weightNames = {};
    producer.params = { ...producer.params, bias: true };
    replaceOutput(graph, next!, producer);
  }
}

/** Whether every row of `kernel` (one per output channel) is a symmetric INT8 grid: values q · amax/127, |q| ≤ 127 integers. */
export function onInt8Grids(kernel: Float32Array, channels: number): boolean {
  const perChannel = kernel.length / channels;
  for (let c = 0; c < channels; c++) {
    const row = kernel.subarray(c * perChannel, (c + 1) * perChannel);
    const step = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
    if (!Number.isFinite(step)) return false;
    // 1e-3 of a step: grids scaled by a folded BatchNorm are off by float32 rounding only (~1e-5 of a step).
    if (step > 0 && !row.every((v) => Math.abs(v / step - Math.round(v / step)) <= 1e-3)) return false;
  }
  return true;
}

/**
 * quantize → dequantize (one per-tensor scale) → convolution or dense layer whose kernel is on per-output-channel
 * INT8 grids (as `quantize` leaves it; BatchNorm folding scales each channel's grid and keeps it one): the layer
 * quantizes its float input itself and computes in integers (TensorRT's explicit-quantization fusion). The pair
 * goes once no other layer reads it. Grouped convolutions stay in float: depthwise gains nothing from INT8 here.
 * So do windows with short sums (under 32 terms an output: a 3-channel 3×3 stem, LeNet's 1-channel 5×5), on the
 * dequantized input, the same values: the INT8 kernel's input gathering and rescaling cost more than its integer
 * products save there (SqueezeNet's stem 0.44 against 0.18 ms at batch 1, 3.2 against 1.4 at batch 8; LeNet's
 * 5×5 level; ResNet's 7×7 stem, 147 terms, level) — unless a quantize → dequantize pair follows (through an
 * activation), which the INT8 layer rounds in its epilogue and a float one would leave as a pass of its own
 * (MobileNetV2's stem at batch 8: 1.5–1.7 ms in INT8 with the rounding, 1.9 in float32 before the pair's pass).
 */
export function fuseQuantizedInputs(graph: BuildGraph): void {
  const count = readers(graph);
  const quantizedAfter = (op: BuildOp) => {
    const next = soleConsumerOf(graph, op.outputs[0]!, count);
    return (next?.kind === "activation" ? soleConsumerOf(graph, next.outputs[0]!, count) : next)?.kind === "quantize";
  };
  for (const op of graph.ops) {
    if ((op.kind !== "fullyConnected" && (op.kind !== "convolution" || op.params.groups !== 1)) || op.params.inputScale !== undefined) continue;
    if (op.kind === "convolution") {
      const taps = op.params.kernel.reduce((a, b) => a * b, 1);
      if (taps > 1 && graph.tensors.get(op.inputs[0]!)!.shape[1]! * taps < 32 && !quantizedAfter(op)) continue;
    }
    const dequantize = producerOf(graph, op.inputs[0]!);
    if (dequantize?.kind !== "dequantize") continue;
    const quantize = producerOf(graph, dequantize.inputs[0]!);
    if (quantize?.kind !== "quantize") continue;
    const scale = quantize.weights.scale;
    if (scale?.length !== 1 || dequantize.weights.scale?.length !== 1 || dequantize.weights.scale[0] !== scale[0]
      || dequantize.params.to !== "float32" || graph.tensors.get(quantize.inputs[0]!)?.dtype !== "float32") continue;
    if (!onInt8Grids(op.weights.kernel!, op.kind === "fullyConnected" ? op.params.outFeatures : op.params.outChannels)) continue;
    op.inputs = [quantize.inputs[0]!, ...op.inputs.slice(1)];
    if (op.kind === "fullyConnected") op.params = { ...op.params, inputScale: scale[0], tactic: "int8_gemm" };
    else op.params = { ...op.params, inputScale: scale[0], tactic: "int8_implicit_gemm" };
    op.fusedFrom.unshift(...quantize.fusedFrom, ...dequantize.fusedFrom);
  }
  removeDeadLayers(graph);
}

/**
 * INT8 convolution or dense layer → quantize → dequantize (one per-tensor scale), where the pair stays because a
 * float layer reads it (a depthwise convolution after a MobileNet expansion): the layer's epilogue rounds its output
 * to the INT8 grid, after its activation, instead of a separate pass over a tensor that has left the cache.
 */
export function fuseQuantizedOutputs(graph: BuildGraph): void {
  for (const producer of [...graph.ops]) {
    if ((producer.kind !== "convolution" && producer.kind !== "fullyConnected") || producer.params.inputScale === undefined
      || producer.params.outputScale !== undefined || producer.params.roundTo || !graph.ops.includes(producer)) continue;
    const count = readers(graph);
    const quantize = soleConsumerOf(graph, producer.outputs[0]!, count);
    const dequantize = quantize?.kind === "quantize" ? soleConsumerOf(graph, quantize.outputs[0]!, count) : undefined;
    if (quantize?.kind !== "quantize" || dequantize?.kind !== "dequantize") continue;
    const scale = quantize.weights.scale;
    if (scale?.length !== 1 || dequantize.weights.scale?.length !== 1 || dequantize.weights.scale[0] !== scale[0] || dequantize.params.to !== "float32") continue;
    producer.params = { ...producer.params, outputScale: scale[0] };
    replaceOutput(graph, quantize, producer);
    replaceOutput(graph, dequantize, producer);
  }
}

/** A BatchNorm with no convolution or dense layer to fold into becomes a channel-mode scale. */
export function lowerBatchNorm(graph: BuildGraph): void {
  graph.ops.forEach((op, i) => {
    if (op.kind !== "batchNorm") return;
    const { scale, shift } = batchNormScaleShift(op);
    graph.ops[i] = { ...op, kind: "scale", params: { mode: "channel", channelAxis: 1 }, weights: { scale, shift }, weightNames: {} };
  });
}

/**
 * conv → add(·, shortcut): the shortcut becomes the convolution's second input, added in its epilogue before any
 * activation that follows (ResNet's conv → BN → add → ReLU becomes one layer). Only for a same-shape float sum.
 */
export function fuseResidualAdd(graph: BuildGraph): void {
  for (const conv of [...graph.ops]) {
    if (conv.kind !== "convolution" || conv.params.activation || conv.inputs.length !== 1 || !graph.ops.includes(conv)) continue;
    const add = soleConsumerOf(graph, conv.outputs[0]!);
    if (!add || add.kind !== "elementWise" || add.params.op !== "sum") continue;
    const shortcut = add.inputs.find((t) => t !== conv.outputs[0]);
    const shape = (t: string) => graph.tensors.get(t)!.shape;
    if (!shortcut || add.inputs[0] === add.inputs[1] || shape(shortcut).join() !== shape(conv.outputs[0]!).join()) continue;
    // The shortcut must be computed before the convolution runs.
    const producerIndex = graph.ops.findIndex((op) => op.outputs.includes(shortcut));
    if (producerIndex > graph.ops.indexOf(conv)) continue;
    conv.inputs = [conv.inputs[0]!, shortcut];
    conv.params = { ...conv.params, residual: true };
    replaceOutput(graph, add, conv);
  }
}

/** softMax → log computed as one log-softmax: exact where softmax underflows to 0 and log would give −∞. */
export function fuseLogSoftMax(graph: BuildGraph): void {
  for (const softmax of [...graph.ops]) {
    if (softmax.kind !== "softMax" || !graph.ops.includes(softmax)) continue;
    const log = soleConsumerOf(graph, softmax.outputs[0]!);
    if (!log || log.kind !== "unary" || log.params.op !== "log") continue;
    const logSoftMax: BuildOp<"logSoftMax"> = { ...softmax, kind: "logSoftMax" };
    graph.ops[graph.ops.indexOf(softmax)] = logSoftMax;
    replaceOutput(graph, log, logSoftMax);
  }
}

/** The one value of a constant float32 tensor (any shape of one element), or undefined. */
function scalarConstant(graph: BuildGraph, tensor: string): number | undefined {
  const op = producerOf(graph, tensor);
  const values = op?.kind === "constant" ? op.weights.values : undefined;
  return values instanceof Float32Array && values.length === 1 && graph.tensors.get(tensor)?.dtype === "float32" ? values[0] : undefined;
}

/**
 * matrixMultiply → product with (or division by) a constant scalar → softMax over the last axis, each the only reader
 * of the one before (attention's scores, scaled by 1/√d, then their softmax): one op whose products are scaled and
 * their rows' softmax taken while in cache, instead of two more passes over the scores. Either step alone fuses too.
 * A division becomes a product by the reciprocal (within a float32 rounding of it).
 */
export function fuseScaledSoftMax(graph: BuildGraph): void {
  for (const product of [...graph.ops]) {
    if (product.kind !== "matrixMultiply" || product.params.opB === "vector" || product.params.alpha !== undefined || product.params.softMax) continue;
    if (graph.tensors.get(product.outputs[0]!)?.dtype !== "float32") continue;
    const fused: BuildOp[] = [];
    let last: BuildOp = product, alpha: number | undefined;
    const scaling = soleConsumerOf(graph, product.outputs[0]!);
    if (scaling?.kind === "elementWise" && (scaling.params.op === "prod" || (scaling.params.op === "div" && scaling.inputs[0] === product.outputs[0]))
      && graph.tensors.get(scaling.outputs[0]!)!.shape.join() === graph.tensors.get(product.outputs[0]!)!.shape.join()) {
      const other = scaling.inputs.find((t) => t !== product.outputs[0]);
      const value = other === undefined ? undefined : scalarConstant(graph, other);
      if (value !== undefined && Number.isFinite(value) && value !== 0) {
        alpha = scaling.params.op === "div" ? 1 / value : value;
        fused.push(scaling);
        last = scaling;
      }
    }
    const softmax = soleConsumerOf(graph, last.outputs[0]!);
    const rank = graph.tensors.get(last.outputs[0]!)!.shape.length;
    const rows = softmax?.kind === "softMax" && softmax.params.axis === rank - 1;
    if (rows) fused.push(softmax);
    if (!fused.length) continue;
    product.params = { ...product.params, ...(alpha !== undefined ? { alpha } : {}), ...(rows ? { softMax: true } : {}) };
    product.outputs = fused.at(-1)!.outputs;
    product.fusedFrom.push(...fused.flatMap((op) => op.fusedFrom));
    graph.ops = graph.ops.filter((op) => !fused.includes(op));
  }
  removeDeadLayers(graph);
}

const FUSABLE_ACTIVATIONS = new Set(["relu", "clip", "leaky_relu", "sigmoid", "tanh", "elu", "selu", "softplus", "hard_sigmoid", "gelu_erf", "gelu_tanh", "mish", "silu", "hardswish"]);

/**
 * x → softplus → tanh → product with x: one "mish" activation (x · tanh(softplus(x)) with one exponential), which
 * the next pass can fuse into the convolution before it, as TensorRT fuses Mish. Within float32 rounding of the
 * three layers (relative differences ~1e-7).
 */
export function fuseMish(graph: BuildGraph): void {
  for (const softplus of [...graph.ops]) {
    if (!graph.ops.includes(softplus) || softplus.kind !== "activation" || softplus.params.type !== "softplus"
      || (softplus.params.alpha ?? 1) !== 1 || (softplus.params.beta ?? 1) !== 1) continue;
    const x = softplus.inputs[0]!;
    const tanh = soleConsumerOf(graph, softplus.outputs[0]!);
    if (!tanh || tanh.kind !== "activation" || tanh.params.type !== "tanh") continue;
    const product = soleConsumerOf(graph, tanh.outputs[0]!);
    if (!product || product.kind !== "elementWise" || product.params.op !== "prod" || !product.inputs.includes(x) || graph.tensors.get(x)!.shape.join() !== graph.tensors.get(product.outputs[0]!)!.shape.join()) continue;
    const mish: BuildOp = {
      kind: "activation", name: product.name, inputs: [x], outputs: product.outputs, params: { type: "mish", alpha: 0, beta: 0 },
      weights: {}, weightNames: {}, fusedFrom: [...softplus.fusedFrom, ...tanh.fusedFrom, ...product.fusedFrom],
    };
    graph.ops.splice(graph.ops.indexOf(product), 1, mish);
    graph.ops = graph.ops.filter((op) => op !== softplus && op !== tanh);
  }
}

/**
 * x → sigmoid → product with x (SiLU written out, as PyTorch ports often have it): one "silu" activation, which the
 * next pass can fuse into the convolution or dense layer before it. The same arithmetic as the two layers.
 */
export function fuseSilu(graph: BuildGraph): void {
  for (const sigmoid of [...graph.ops]) {
    if (!graph.ops.includes(sigmoid) || sigmoid.kind !== "activation" || sigmoid.params.type !== "sigmoid") continue;
    const x = sigmoid.inputs[0]!;
    const product = soleConsumerOf(graph, sigmoid.outputs[0]!);
    if (!product || product.kind !== "elementWise" || product.params.op !== "prod" || !product.inputs.includes(x) || graph.tensors.get(x)!.shape.join() !== graph.tensors.get(product.outputs[0]!)!.shape.join()) continue;
    const silu: BuildOp = {
      kind: "activation", name: product.name, inputs: [x], outputs: product.outputs, params: { type: "silu", alpha: 0, beta: 0 },
      weights: {}, weightNames: {}, fusedFrom: [...sigmoid.fusedFrom, ...product.fusedFrom],
    };
    graph.ops.splice(graph.ops.indexOf(product), 1, silu);
    graph.ops = graph.ops.filter((op) => op !== sigmoid);
  }
}

/** A shuffle that only reshapes (no transposes): an element-wise function commutes with it. */
function reshapesOnly(op: BuildOp): boolean {
  const identity = (perm: unknown) => perm === null || perm === undefined || (Array.isArray(perm) && perm.every((v, i) => v === i));
  return op.kind === "shuffle" && identity(op.params.firstTranspose) && identity(op.params.secondTranspose);
}

/**
 * convolution / fullyConnected → activation: the activation runs in the layer's epilogue, on data still in cache.
 * Also across a reshape between them (a dense layer on a sequence's rows, [B·T, D] back to [B, T, D], before GELU):
 * the activation commutes with it, and the shuffle then writes what the activation wrote.
 */
export function fuseActivation(graph: BuildGraph): void {
  for (const producer of [...graph.ops]) {
    if ((producer.kind !== "convolution" && producer.kind !== "fullyConnected") || producer.params.activation || !graph.ops.includes(producer)) continue;
    const next = soleConsumerOf(graph, producer.outputs[0]!);
    const reshape = next && reshapesOnly(next) ? next : undefined;
    const act = reshape ? soleConsumerOf(graph, reshape.outputs[0]!) : next;
    if (!act || act.kind !== "activation" || !FUSABLE_ACTIVATIONS.has(act.params.type as string)) continue;
    producer.params = { ...producer.params, activation: act.params.type, activationAlpha: act.params.alpha, activationBeta: act.params.beta };
    if (!reshape) { replaceOutput(graph, act, producer); continue; }
    reshape.outputs = act.outputs;
    producer.fusedFrom.push(...act.fusedFrom);
    graph.ops.splice(graph.ops.indexOf(act), 1);
  }
}

/**
 * How one layer acts on a chain's running value, or undefined if it cannot join a chain: activations, unary ops,
 * casts (between non-integer types), per-tensor quantize/dequantize (scale as alpha), and same-shape element-wise ops whose other input is
 * computed elsewhere (it becomes an input of the chain).
 */
function pointwiseStep(graph: BuildGraph, op: BuildOp, value: string): { step: string; alpha: number; beta: number; operand?: string } | undefined {
  const shape = (t: string) => graph.tensors.get(t)!.shape.join();
  const integer = (t: string) => ["int32", "int64"].includes(graph.tensors.get(t)!.dtype);  // a chain computes in float32
  if ((op.inputs[0] !== value && op.inputs[1] !== value) || [...op.inputs, ...op.outputs].some(integer)) return undefined;
  if (op.kind === "activation") return { step: `activation:${op.params.type}`, alpha: (op.params.alpha as number) ?? 0, beta: (op.params.beta as number) ?? 0 };
  if (op.kind === "unary") return { step: `unary:${op.params.op}`, alpha: 0, beta: 0 };
  if (op.kind === "cast") return { step: `cast:${op.params.to}`, alpha: 0, beta: 0 };
  if ((op.kind === "quantize" || op.kind === "dequantize") && op.weights.scale?.length === 1) return { step: op.kind, alpha: op.weights.scale[0]!, beta: 0 };
  if (op.kind !== "elementWise" || op.inputs[0] === op.inputs[1] || shape(op.inputs[0]!) !== shape(op.inputs[1]!) || shape(op.inputs[0]!) !== shape(op.outputs[0]!)) return undefined;
  const left = op.inputs[0] === value;
  return { step: `elementWise:${op.params.op}:${left ? "valueLeft" : "valueRight"}`, alpha: 0, beta: 0, operand: op.inputs[left ? 1 : 0]! };
}

/**
 * Runs of element-wise layers, each the only reader of the one before (x → sub → mul → sigmoid → cast …), become
 * one "pointwiseChain" op: one pass over memory instead of one per layer, intermediates kept in L1. The chain runs
 * where its last layer ran, so every other operand is ready by then.
 */
export function fusePointwiseChains(graph: BuildGraph): void {
  for (const head of [...graph.ops]) {
    if (!graph.ops.includes(head)) continue;
    const first = pointwiseStep(graph, head, head.inputs[0]!);
    if (!first) continue;
    const chain = [head], steps = [first];
    for (let next = soleConsumerOf(graph, head.outputs[0]!); next;) {
      const step = pointwiseStep(graph, next, chain.at(-1)!.outputs[0]!);
      if (!step || graph.tensors.get(next.outputs[0]!)!.shape.join() !== graph.tensors.get(head.inputs[0]!)!.shape.join()) break;
      chain.push(next);
      steps.push(step);
      next = soleConsumerOf(graph, next.outputs[0]!);
    }
    if (chain.length < 2) continue;
    const last = chain.at(-1)!;
    const fused: BuildOp = {
      kind: "pointwiseChain",
      name: last.name,
      inputs: [head.inputs[0]!, ...steps.flatMap((s) => (s.operand ? [s.operand] : []))],
      outputs: last.outputs,
      params: { steps: steps.map((s) => s.step).join("|"), alpha: steps.map((s) => s.alpha), beta: steps.map((s) => s.beta) },
      weights: {},
      weightNames: {},
      fusedFrom: chain.flatMap((op) => op.fusedFrom),
    };
    graph.ops.splice(graph.ops.indexOf(last), 1, fused);
    graph.ops = graph.ops.filter((op) => !chain.includes(op));
  }
}

/** A cast to float16/bfloat16 whose only reader casts back to float32: how reducedFloat marks a stored activation. */
function roundTripAfter(graph: BuildGraph, op: BuildOp, count: Map<string, number>): { narrow: BuildOp<"cast">; wide: BuildOp<"cast">; type: RoundingType } | undefined {
  const narrow = soleConsumerOf(graph, op.outputs[0]!, count);
  if (!narrow || narrow.kind !== "cast" || (narrow.params.to !== "float16" && narrow.params.to !== "bfloat16")) return undefined;
  const wide = soleConsumerOf(graph, narrow.outputs[0]!, count);
  return wide && wide.kind === "cast" && wide.params.to === "float32" ? { narrow, wide, type: narrow.params.to } : undefined;
}

/**
 * Reduced precision rounds what a layer stores. Layers that the later passes fuse (convolution or dense layer →
 * BatchNorm → residual add → activation) store nothing between them, so a round trip to float16/bfloat16 between
 * two of them is dropped, as TensorRT keeps a fused group's intermediates in its accumulator; the group's output
 * keeps its own. Without this the casts would stand between the layers and block every fusion.
 */
export function dropRoundTripsInsideFusions(graph: BuildGraph): void {
  const joinsGroup = (op: BuildOp) => op.kind === "batchNorm" || (op.kind === "elementWise" && op.params.op === "sum") || (op.kind === "activation" && FUSABLE_ACTIVATIONS.has(op.params.type as string));
  // Whether `op` heads or continues a group that starts at a convolution or dense layer.
  const inGroup = (op: BuildOp | undefined): boolean => {
    for (let depth = 0; op && depth < 4; depth++) {
      if (op.kind === "convolution" || op.kind === "fullyConnected") return true;
      if (!joinsGroup(op)) return false;
      op = op.inputs.map((t) => producerOf(graph, t)).find((p) => p && (p.kind === "convolution" || p.kind === "fullyConnected" || joinsGroup(p)));
    }
    return false;
  };
  for (const op of [...graph.ops]) {
    if (!graph.ops.includes(op) || !inGroup(op)) continue;
    const count = readers(graph);
    const trip = roundTripAfter(graph, op, count);
    if (!trip) continue;
    const next = soleConsumerOf(graph, trip.wide.outputs[0]!, count);
    if (!next || !joinsGroup(next)) continue;
    next.inputs = next.inputs.map((t) => (t === trip.wide.outputs[0] ? op.outputs[0]! : t));
    graph.ops = graph.ops.filter((o) => o !== trip.narrow && o !== trip.wide);
  }
}

/**
 * convolution / dense layer → cast to float16/bfloat16 → cast to float32: the rounding runs in the layer's epilogue,
 * after its activation, instead of as a separate pass over the output.
 */
export function fuseRoundTrip(graph: BuildGraph): void {
  for (const producer of [...graph.ops]) {
    if ((producer.kind !== "convolution" && producer.kind !== "fullyConnected") || producer.params.roundTo || !graph.ops.includes(producer)) continue;
    const trip = roundTripAfter(graph, producer, readers(graph));
    if (!trip) continue;
    producer.params = { ...producer.params, roundTo: trip.type };
    replaceOutput(graph, trip.narrow, producer);
    replaceOutput(graph, trip.wide, producer);
  }
}

/**
 * A convolution or dense layer of a bfloat16 or float16 network (its kernel was of that type, and it reads or writes
 * values rounded to it) computes in that type, its weights too, as TensorRT casts folded weights to the layer's
 * type: weights that folding a BatchNorm or scale made float32 are rounded back, so that the engine can multiply in
 * the reduced type (AVX-512 BF16). The one pass that changes values beyond float32 rounding: by at most half a step
 * of the layer's own type in each weight. Layers kept in float32 (reducedFloat's keepFloat) had float32 kernels.
 */
export function roundFoldedWeights(graph: BuildGraph): void {
  for (const op of graph.ops) {
    const type = op.kernelType;
    if (!type || op.kind === "constant" || !op.weights.kernel || (epilogueOf(op)?.roundTo !== type && roundedType(graph, op.inputs[0]!) !== type)) continue;
    op.weights = { ...op.weights, kernel: roundedTo(op.weights.kernel, type) };
  }
}

/**
 * A round trip after a layer that only selects or moves values (valuesPassedOn: shuffle, gather, concatenation, max
 * pooling, ReLU, …) is a no-op when every value it passes on arrived rounded to the same type: its outputs are such
 * values already.
 */
export function dropRedundantRoundTrips(graph: BuildGraph): void {
  for (const op of [...graph.ops]) {
    const passed = graph.ops.includes(op) ? valuesPassedOn(op) : undefined;
    const trip = passed && roundTripAfter(graph, op, readers(graph));
    if (!trip || !passed.every((t) => roundedType(graph, t) === trip.narrow.params.to)) continue;
    replaceOutput(graph, trip.narrow, op);
    replaceOutput(graph, trip.wide, op);
  }
}
