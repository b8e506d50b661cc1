import { buildGraph } from "../../builder/graph.js";
import type { NetworkIR } from "../../dsl/ir.js";
import { callSitesOf, typedNativeError } from "../../native/addon.js";
import { encodePlan } from "../../plan/encode.js";
import { NetdefError } from "../../weights/netdef-error.js";
import type { WeightSource } from "../../weights/source.js";
import { checkLowerable } from "../support.js";
import { LayerView, requireRule, RuleViolation, type LayerWeights } from "./layer.js";
import { defineReferenceNetwork, type DefinedNetwork } from "./network.js";
import { convolution, deconvolution, pooling } from "./rules/windows.js";
import { activation, cast, dequantize, elementWise, identity, parametricReLU, quantize, scale, select, unary } from "./rules/pointwise.js";
import { concatenation, constant, gather, padding, shape, shuffle, slice } from "./rules/shape.js";
import { lrn, matrixMultiply, normalization, reduce, resize, softMax, topK } from "./rules/reductions.js";
import type { LayerRule } from "./rules/rule.js";
import { store, weightValues, type ReferencePrecision, type TensorSpec, type TensorValue } from "./values.js";

/** The reference's rule for every INetworkDefinition method that makes a layer. */
export const LAYER_RULES: Readonly<Record<string, LayerRule>> = {
  addConvolutionNd: convolution, addDeconvolutionNd: deconvolution, addPoolingNd: pooling, addActivation: activation,
  addElementWise: elementWise, addUnary: unary, addScaleNd: scale, addSoftMax: softMax, addConcatenation: concatenation,
  addShuffle: shuffle, addShape: shape, addSlice: slice, addMatrixMultiply: matrixMultiply, addReduce: reduce, addResize: resize,
  addPaddingNd: padding, addConstant: constant, addIdentity: identity, addCast: cast, addGather: gather, addTopK: topK,
  addNormalizationV2: normalization, addSelect: select, addParametricReLU: parametricReLU, addLRN: lrn,
  addQuantize: quantize, addDequantize: dequantize,
};

/** The network's own methods and ILayer's and ITensor's common ones, with the header text each is checked by. */
export const NETWORK_RULES: Readonly<Record<string, string>> = {
  addInput: "Each input and output tensor must have a unique name. … The string name must be null-terminated, and be at most 4096 bytes including the terminator. (NvInfer.h, addInput)",
  markOutput: "It is an error to mark a network input as an output. (NvInfer.h, markOutput)",
  setWeightsName: "If Weights with a matching value pointer, but different type or count exists in the network, … the name is rejected, and return false. If the name has already been used for other weights, return false. (NvInfer.h, setWeightsName; checked in native/src/tensorrt/reference_network.cc)",
  setName: "Set the name of a layer / tensor. (NvInfer.h, ILayer::setName, ITensor::setName)",
  setInput: "Append or replace an input of this layer with a specific tensor (NvInfer.h, ILayer::setInput)",
};

/** What TensorRT's headers say it would refuse in a network the lowering defined: the layer, the rule, what was found. */
export class TensorRTRuleError extends NetdefError {
  override readonly name = "TensorRTRuleError";
  readonly code = "tensorrt_rule";
  constructor(readonly tensorrtLayer: string, readonly rule: string, readonly problem: string, place: { layer?: string; callSite?: string } = {}) {
    super(`${tensorrtLayer}: ${problem} — TensorRT refuses this: "${rule}"`, place);
  }
}

export interface ReferenceInput {
  data: ArrayLike<number | bigint>;
  shape: readonly number[];
}

export interface ReferenceRun {
  /** The network's outputs by name. */
  outputs: Record<string, TensorValue>;
  /** Every tensor by its TensorRT name ("(Unnamed Layer* 3) [Convolution]_output" where no one named it). */
  tensors: Map<string, TensorValue>;
  /** Each layer's outputs by the layer's name: the last layer of an IR layer's lowering bears the IR layer's name. */
  layerOutputs: Map<string, TensorValue[]>;
}

/**
 * A TensorRT-semantics reference: the network the TensorRT lowering defines, validated, shape-inferred and executed
 * by the rules of TensorRT's headers with plain float64 loops, independently of the builtin kernels. An oracle for
 * the lowering where TensorRT is not installed; see docs/tensorrt-reference.md.
 * ```ts
 * const reference = TensorRTReference.of(net);
 * const { outputs } = reference.execute({ data: { data: image, shape: [1, 1, 28, 28] } });
 * ```
 */
export class TensorRTReference {
  private readonly weights: LayerWeights[];
  private readonly layerOf: (tensorrtLayer: string) => string | undefined;
  private readonly producers = new Map<number, DefinedNetwork["layers"][number]>();
  /** The layers in an order that runs each after its inputs' producers (TensorRT takes a graph: definition order need not be that). */
  private readonly ordered: DefinedNetwork["layers"];

  constructor(readonly network: DefinedNetwork, private readonly ir?: NetworkIR) {
    this.weights = network.weights.map((w) => ({ type: w.type, values: weightValues(w) }));
    for (const layer of network.layers) for (const id of layer.outputs) this.producers.set(id, layer);
    this.ordered = this.order();
    const names = new Set(ir?.layers.map((l) => l.name) ?? []);
    // A lowering step is named "<IR layer>.<step>": the longest IR layer name it starts with.
    this.layerOf = (name) => {
      for (let end = name.length; end > 0; end = name.lastIndexOf(".", end - 1)) if (names.has(name.slice(0, end))) return name.slice(0, end);
      return undefined;
    };
  }

  /** The lowering of `network` (its raw graph: TensorRT's builder fuses for itself) on the reference network. */
  static of(network: { toJSON(): NetworkIR; weights: WeightSource }, weights: WeightSource = network.weights): TensorRTReference {
    const ir = network.toJSON();
    checkLowerable(ir);
    try {
      return new TensorRTReference(defineReferenceNetwork(encodePlan(buildGraph(ir, weights), {})), ir);
    } catch (error) {
      throw typedNativeError(error, callSitesOf(ir.layers));
    }
  }

  /** The IR layer (and its call site) a TensorRT layer belongs to. */
  placeOf(tensorrtLayer: string): { layer?: string; callSite?: string } {
    const layer = this.layerOf(tensorrtLayer);
    return layer === undefined ? {} : { layer, callSite: this.ir?.layers.find((l) => l.name === layer)?.callSite };
  }

  private violation(tensorrtLayer: string, error: unknown): never {
    if (error instanceof RuleViolation) throw new TensorRTRuleError(tensorrtLayer, error.rule, error.message, this.placeOf(tensorrtLayer));
    throw error;
  }

  /** Validates the network at these input shapes as TensorRT's build would, and gives every tensor's type and dimensions. */
  infer(shapes: Record<string, readonly number[]>): Map<number, TensorSpec> {
    return this.walk(shapes, (rule, layer, inputs) => rule.infer(layer, inputs));
  }

  /** Runs the network: float types in float64 ("float64") or rounded to each tensor's type ("declared", the default). */
  execute(inputs: Record<string, ReferenceInput>, precision: ReferencePrecision = "declared"): ReferenceRun {
    const values = new Map<number, TensorValue>();
    const shapes = Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, v.shape]));
    for (const input of this.network.inputs) {
      const name = this.network.tensors[input.tensor]!, given = inputs[name];
      if (!given) throw new TensorRTRuleError(name, NETWORK_RULES.addInput!, `no value given for input '${name}'`);
      values.set(input.tensor, { type: input.type, shape: [...given.shape], data: store(input.type, Float64Array.from(given.data, Number), precision) });
    }
    this.walk(shapes, (rule, layer, _specs, ids) => {
      const inputs = ids.map((id) => (id === undefined ? undefined : values.get(id)));
      const specs = rule.infer(layer, inputs);
      const outputs = rule.execute(layer, inputs, specs);
      layer.defined.outputs.forEach((id, i) => values.set(id, { ...specs[i]!, data: store(specs[i]!.type, outputs[i]!, precision) }));
      return specs;
    });
    const tensors = new Map<string, TensorValue>();
    values.forEach((v, id) => tensors.set(this.network.tensors[id]!, v));
    const layerOutputs = new Map(this.network.layers.map((l) => [l.name, l.outputs.map((id) => values.get(id)!)]));
    return { outputs: Object.fromEntries(this.network.outputs.map((id) => [this.network.tensors[id]!, values.get(id)!])), tensors, layerOutputs };
  }

  /**
   * Replaces the values of the weights named `name` (as IRefitter::setNamedWeights does), rounded to their type;
   * false where no weights bear that name or the count differs, as the refitter refuses them.
   */
  refit(name: string, values: ArrayLike<number>): boolean {
    const index = this.network.weights.findIndex((w) => w.names.includes(name));
    if (index < 0 || values.length !== this.weights[index]!.values.length) return false;
    this.weights[index] = { type: this.weights[index]!.type, values: store(this.weights[index]!.type, Float64Array.from(values), "declared") };
    return true;
  }

  /** The names IRefitter would see. */
  weightNames(): string[] {
    return this.network.weights.flatMap((w) => w.names);
  }

  private order(): DefinedNetwork["layers"] {
    const ready = new Set(this.network.inputs.map((i) => i.tensor)), ordered: DefinedNetwork["layers"] = [];
    let left = this.network.layers.map((l) => ({ layer: l, inputs: new LayerView(l, (i) => this.weights[i]!).inputs() }));
    while (left.length) {
      const next = left.findIndex((l) => l.inputs.every((id) => id === undefined || ready.has(id)));
      if (next < 0) return [...ordered, ...left.map((l) => l.layer)];  // a cycle or a missing producer: walk() reports the first such layer
      const { layer } = left[next]!;
      left = left.filter((_, i) => i !== next);
      ordered.push(layer);
      layer.outputs.forEach((id) => ready.add(id));
    }
    return ordered;
  }

  private walk(shapes: Record<string, readonly number[]>, visit: (rule: LayerRule, layer: LayerView, inputs: (TensorSpec | undefined)[], ids: (number | undefined)[]) => TensorSpec[]): Map<number, TensorSpec> {
    const specs = new Map<number, TensorSpec>();
    const names = new Set<string>();
    for (const input of this.network.inputs) {
      const name = this.network.tensors[input.tensor]!, shape = shapes[name];
      try {
        requireRule(!names.has(name) && name.length < 4096, NETWORK_RULES.addInput!, `input name '${name}'`);
        requireRule(input.nbDims >= 0 && input.nbDims <= 8 && input.dimensions.every((d) => d >= -1), "Dims::MAX_DIMS … Dimensions are normally non-negative integers. The exception is that in networks with all explicit dimensions, -1 can be used as a wildcard (NvInfer.h, addInput)", `dimensions [${input.dimensions}]`);
        requireRule(shape !== undefined && shape.length === input.nbDims && input.dimensions.every((d, i) => d === -1 || d === shape[i]), "Input tensors with such a wildcard must have a corresponding entry in the IOptimizationProfiles (NvInfer.h, addInput)",
          `input '${name}' of [${input.dimensions}] given [${shape ?? "nothing"}]`);
      } catch (error) {
        this.violation(name, error);
      }
      names.add(name);
      specs.set(input.tensor, { type: input.type, shape: [...shape] });
    }
    for (const defined of this.ordered) {
      const rule = LAYER_RULES[defined.method];
      const layer = new LayerView(defined, (i) => this.weights[i]!, this.producers);
      try {
        if (!rule) throw new Error(`the reference has no rule for ${defined.method}`);
        for (const call of defined.calls) {
          requireRule(call.method === "setName" || call.method === "setInput" || rule.setters.includes(call.method), `${call.method} is no method of the layer ${defined.method} makes (NvInfer.h)`, `${call.method} on a ${defined.method} layer`);
        }
        const ids = layer.inputs();
        const inputs = ids.map((id) => (id === undefined ? undefined : specs.get(id)));
        requireRule(ids.every((id) => id === undefined || specs.has(id)), NETWORK_RULES.setInput!, "an input that no layer or network input produces");
        const outputs = visit(rule, layer, inputs, ids);
        // Shape tensors (integer tensors of rank ≤ 1 computed from shapes and constants) get their values at build time.
        if (outputs.every((o) => !o.data && (o.type === "kINT32" || o.type === "kINT64") && o.shape.length <= 1) && inputs.every((i) => i === undefined || i.data)) {
          const values = rule.execute(layer, inputs as TensorValue[], outputs);
          outputs.forEach((o, i) => { o.data = store(o.type, values[i]!, "declared"); });
        }
        for (const o of outputs) requireRule(o.shape.length <= 8 && o.shape.every((d) => Number.isInteger(d) && d >= 0), "Dims::MAX_DIMS (NvInferRuntimeBase.h)", `an output of [${o.shape}]`);
        defined.outputs.forEach((id, i) => specs.set(id, outputs[i]!));
      } catch (error) {
        this.violation(defined.name, error);
      }
    }
    for (const id of this.network.outputs) {
      const name = this.network.tensors[id]!;
      try {
        requireRule(!this.network.inputs.some((i) => i.tensor === id), NETWORK_RULES.markOutput!, `input '${name}' marked as an output`);
        requireRule(!names.has(name), NETWORK_RULES.addInput!, `two network inputs or outputs named '${name}'`);
      } catch (error) {
        this.violation(name, error);
      }
      names.add(name);
    }
    return specs;
  }
}

