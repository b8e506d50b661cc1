import * as L from "../layers/index.js";
import type { LayerKind, ResolvedParams } from "../layers/kinds.js";
import { LAYER_PARAMS, paramProblems } from "../layers/param-schema.js";
import { LayerContext, type InlineValues, type LayerDefinition, type TensorDesc, type WeightInput, type WeightRequest } from "../layers/layer.js";
import { nearestNames, nearestSuffix, type WeightSource } from "../weights/source.js";
import { WeightStore } from "../weights/store.js";
import { elementCount, type WeightTensor } from "../weights/tensor.js";
import { isDataType, type DataType } from "./dtype.js";
import { captureCallSite } from "./call-site.js";
import { NetworkError } from "./errors.js";
import { deepFreeze, IR_VERSION, irStructureProblem, type LayerIR, type NetworkIR, type OutputIR, type TensorIR, type WeightBindingIR } from "./ir.js";
import { formatShape } from "./shape.js";
import { rederive } from "./rederive.js";
import { formatSummary, type NetworkSummary } from "./summary.js";
import { Tensor, type LayerSink } from "./tensor.js";

export interface NetworkOptions {
  /**
   * Where layers find their weights by state_dict name. With a source, every weight is checked (present, right
   * shape) when its layer is added; without one, names and shapes are recorded and checked when weights are bound.
   */
  weights?: WeightSource;
}

/** A layer as it stands in the network, with its output tensors. */
export type LayerHandle = LayerIR & {
  readonly output: Tensor;
  readonly outputTensors: readonly Tensor[];
};

/**
 * A network under definition: TensorRT's INetworkDefinition, in TypeScript.
 * ```ts
 * const net = new Network("lenet", { weights: await loadWeights("lenet.safetensors") });
 * const logits = net.addInput("data", "float32", [-1, 1, 28, 28])
 *   .addConvolution("conv1", { outChannels: 20, kernel: 5 })
 *   .addPooling("pool1", { type: "max", window: 2 })
 *   .addFullyConnected("fc1", { outFeatures: 500 });
 * net.markOutput(logits);
 * ```
 */
export class Network implements LayerSink {
  readonly #inputs: TensorIR[] = [];
  readonly #layers: LayerIR[] = [];
  readonly #tensors = new Map<string, { ir: TensorIR; handle: Tensor }>();
  readonly #outputs: OutputIR[] = [];
  readonly #source: WeightSource | undefined;
  /** Weights given as values rather than names, under `<layer>.<role>`. */
  readonly #inline = new WeightStore();

  constructor(readonly name: string, options: NetworkOptions = {}) {
    this.#source = options.weights;
  }

  /** A network input; `-1` marks a dimension chosen at run time (an optimization profile gives its range). */
  addInput(name: string, dtype: DataType, dims: readonly number[]): Tensor {
    const site = captureCallSite();
    const ctx = new LayerContext(name, "input", site);
    this.#checkName(ctx, name);
    if (!isDataType(dtype)) ctx.fail("dtype", "a netdef DataType (float32, float16, …)", JSON.stringify(dtype));
    if (!Array.isArray(dims) || dims.length === 0 || dims.length > 8) ctx.fail("dims", "a list of 1 to 8 dimensions", JSON.stringify(dims));
    for (const d of dims) if (!Number.isInteger(d) || (d < 1 && d !== -1)) ctx.fail("dims", "positive integers or -1 (dynamic)", formatShape(dims));
    const ir: TensorIR = deepFreeze({ name, dtype, shape: [...dims] });
    this.#inputs.push(ir);
    return this.#register(ir);
  }

  /** A constant tensor holding weights. */
  addConstant(name: string, params: L.ConstantParams): Tensor {
    return this.addLayer(L.constant, name, [], params, captureCallSite())[0]!;
  }

  /** Tensors joined along `axis`. */
  addConcatenation(name: string, tensors: readonly Tensor[], params: L.ConcatenationParams): Tensor {
    return this.addLayer(L.concatenation, name, tensors, params, captureCallSite())[0]!;
  }

  /** `condition ? then : otherwise`, element by element with broadcasting. */
  addSelect(name: string, condition: Tensor, then: Tensor, otherwise: Tensor): Tensor {
    return this.addLayer(L.select, name, [condition, then, otherwise], {}, captureCallSite())[0]!;
  }

  /** Marks a tensor as a network output, under `name` (default: the tensor's name). */
  markOutput(tensor: Tensor, name: string = tensor.name): this {
    const ctx = new LayerContext(name, "output", captureCallSite());
    this.#own(ctx, tensor, "tensor");
    if (this.#outputs.some((o) => o.name === name)) ctx.fail("name", "a name not yet used by another output", JSON.stringify(name), "duplicate_name");
    this.#outputs.push(deepFreeze({ name, tensor: tensor.name }));
    return this;
  }

  /**
   * Marks an intermediate tensor as a debug output (TensorRT's markDebug): the engine returns it under its own
   * name, and the builder keeps fusions that would hide it off, so results are unchanged.
   */
  markDebug(tensor: Tensor): this {
    if (this.#outputs.some((o) => o.tensor === tensor.name && o.name === tensor.name)) return this;
    return this.markOutput(tensor, tensor.name);
  }

  /** The layer called `name`, with its resolved parameters and output tensors. */
  layer(name: string): LayerHandle {
    const layer = this.#layers.find((l) => l.name === name);
    if (!layer) {
      const names = this.#layers.map((l) => l.name);
      throw new NetworkError([{ code: "unknown_name", layer: name, kind: "network", argument: "name", expected: "the name of a layer",
        received: JSON.stringify(name), message: `${this.name}: no layer is called "${name}"; nearest: ${nearestNames(name, names).join(", ") || "(no layers)"}` }]);
    }
    const outputTensors = layer.outputs.map((t) => this.#tensors.get(t)!.handle);
    return { ...layer, output: outputTensors[0]!, outputTensors };
  }

  /** A tensor by name (an input or a layer output). */
  tensor(name: string): Tensor | undefined {
    return this.#tensors.get(name)?.handle;
  }

  /** The weights the network reads: values given inline first, then the weight source. */
  get weights(): WeightSource {
    const inline = this.#inline;
    const source = this.#source;
    return {
      get: (name) => inline.get(name) ?? source?.get(name),
      names: () => [...new Set([...inline.names(), ...(source?.names() ?? [])])],
    };
  }

  /** Per layer: kind, output shape, dtype and parameter count, with totals. `toString()` prints the table. */
  summary(): NetworkSummary {
    const rows = [
      ...this.#inputs.map((t) => ({ layer: t.name, kind: "input", shape: t.shape, dtype: t.dtype, parameters: 0 })),
      ...this.#layers.map((l) => {
        const out = this.#tensors.get(l.outputs[0]!)!.ir;
        const parameters = Object.values(l.weights).reduce((sum, w) => sum + elementCount(w.shape), 0);
        return { layer: l.name, kind: l.kind, shape: out.shape, dtype: out.dtype, parameters };
      }),
    ];
    const summary = { name: this.name, rows, totalParameters: rows.reduce((s, r) => s + r.parameters, 0), outputs: this.#outputs.map((o) => o.name) };
    return { ...summary, toString: () => formatSummary(summary) };
  }

  /** The graph IR: plain frozen data, JSON-serialisable, weights by name. */
  toJSON(): NetworkIR {
    return deepFreeze({
      format: "netdef.network", version: IR_VERSION, name: this.name,
      inputs: [...this.#inputs], layers: [...this.#layers],
      tensors: this.#layers.flatMap((l) => l.outputs.map((t) => this.#tensors.get(t)!.ir)),
      outputs: [...this.#outputs],
    } as const);
  }

  /** A network from its IR (as `toJSON` gives it), its weights from `options.weights`. */
  static fromJSON(ir: NetworkIR, options: NetworkOptions = {}): Network {
    const bad = (what: string) => new NetworkError([{ code: "invalid_argument", layer: String(ir?.name), kind: "network", argument: "ir",
      expected: `a netdef.network IR of version ${IR_VERSION}`, received: what, message: `Network.fromJSON: not a valid netdef.network IR: ${what}` }]);
    if (!ir || ir.format !== "netdef.network") throw bad(`format ${JSON.stringify(ir?.format)}`);
    if (ir.version !== IR_VERSION) {
      throw bad(`version ${JSON.stringify(ir.version)}, but this netdef (${IR_VERSION}) reads only its own: its layer kinds or parameters differ; define the network again with this netdef and export its IR anew`);
    }
    const malformed = irStructureProblem(ir);
    if (malformed) throw bad(malformed);
    const net = new Network(ir.name, options);
    for (const input of ir.inputs) net.addInput(input.name, input.dtype, input.shape);
    const tensorInfo = new Map(ir.tensors.map((t) => [t.name, t]));
    for (const layer of ir.layers) {
      if (!Object.hasOwn(LAYER_PARAMS, layer.kind)) throw bad(`layer "${layer.name}" is of kind ${JSON.stringify(layer.kind)}, which this netdef does not know`);
      const problems = paramProblems(LAYER_PARAMS[layer.kind], layer.params);
      if (problems.length) throw bad(`layer "${layer.name}" (${layer.kind}): ${problems.join("; ")}`);
      const ctx = new LayerContext(layer.name, layer.kind, layer.callSite);
      net.#checkName(ctx, layer.name);
      const inputs = layer.inputs.map((t) => net.#tensors.get(t)?.ir ?? (() => { throw bad(`layer "${layer.name}" reads "${t}", which no earlier layer produces`); })());
      const outputs = layer.outputs.map((t) => tensorInfo.get(t) ?? (() => { throw bad(`no dtype/shape recorded for tensor "${t}"`); })());
      const derived = rederive(layer, inputs, outputs);
      if (derived) throw bad(`layer "${layer.name}" (${layer.kind}) ${derived}`);
      for (const [role, binding] of Object.entries(layer.weights)) net.#checkNamedWeight(ctx, { role, input: binding.name, shape: binding.shape, because: "the IR records that shape" }, binding.inline);
      for (const t of outputs) net.#register(t);
      net.#layers.push(deepFreeze(structuredClone(layer)));
    }
    for (const output of ir.outputs) net.markOutput(net.#tensors.get(output.tensor)?.handle ?? (() => { throw bad(`output reads unknown tensor "${output.tensor}"`); })(), output.name);
    return net;
  }

  /** @internal Called by Tensor and the add* methods: check, infer, bind weights, record. */
  addLayer<K extends LayerKind, P>(definition: LayerDefinition<K, P, ResolvedParams<K>>, name: string, inputs: readonly Tensor[], params: P, callSite: string | undefined): Tensor[] {
    const ctx = new LayerContext(name, definition.kind, callSite);
    if (typeof name !== "string" || name.length === 0) ctx.fail("name", "a non-empty string", JSON.stringify(name));
    this.#checkName(ctx, name);
    const descs: TensorDesc[] = inputs.map((t, i) => this.#own(ctx, t, inputs.length > 1 ? `input ${i}` : "input"));
    const inference = definition.infer(ctx, descs, params);
    const weights: Record<string, WeightBindingIR> = {};
    for (const request of inference.weights ?? []) weights[request.role] = this.#bindWeight(ctx, request);
    const outputs = inference.outputs.map((o, i): TensorIR => deepFreeze({ name: i === 0 ? name : `${name}:${i}`, dtype: o.dtype, shape: [...o.shape] }));
    // K and its params correlate, which TypeScript cannot follow into the union: the one cast of the IR's making.
    const layer = {
      kind: definition.kind, name, inputs: inputs.map((t) => t.name), outputs: outputs.map((o) => o.name),
      params: inference.params, weights, ...(callSite ? { callSite } : {}),
    } as LayerIR;
    this.#layers.push(deepFreeze(structuredClone(layer)));
    return outputs.map((o) => this.#register(o));
  }

  #register(ir: TensorIR): Tensor {
    const handle = new Tensor(this, ir.name, ir.dtype, ir.shape);
    this.#tensors.set(ir.name, { ir, handle });
    return handle;
  }

  #checkName(ctx: LayerContext, name: string): void {
    if (this.#tensors.has(name) || this.#layers.some((l) => l.name === name)) {
      ctx.fail("name", "a name not yet used in this network", JSON.stringify(name), "duplicate_name",
        `${name}: the name "${name}" is already used by another layer or input of "${this.name}"`);
    }
  }

  #own(ctx: LayerContext, tensor: Tensor, which: string): TensorDesc {
    if (!(tensor instanceof Tensor) || tensor.sink !== this) {
      ctx.fail(which, `a tensor of network "${this.name}"`, tensor instanceof Tensor ? `tensor "${tensor.name}" of another network` : String(tensor), "foreign_tensor");
    }
    return this.#tensors.get(tensor.name)!.ir;
  }

  #bindWeight(ctx: LayerContext, request: WeightRequest): WeightBindingIR {
    if (typeof request.input === "string") return this.#checkNamedWeight(ctx, request);
    const input: unknown = request.input;
    if (!isInlineValues(input) && !(typeof input === "object" && input !== null && Array.isArray((input as WeightTensor).shape) && ArrayBuffer.isView((input as WeightTensor).data))) {
      // Only JavaScript callers get here (the types forbid it): e.g. a bare number for a scale.
      ctx.fail(`weights.${request.role}`, "a weight name, a Float32Array, Int32Array or BigInt64Array, or a { dtype, shape, data } tensor", input === null ? "null" : `${typeof input} ${String(input)}`, "invalid_argument");
    }
    const given = weightFromValues(request.input, request.shape);
    const name = `${ctx.layer}.${request.role}`;
    if (!given) {
      const count = isInlineValues(request.input) ? `${request.input.length} values` : `shape ${formatShape((request.input as WeightTensor).shape)}`;
      ctx.fail(`weights.${request.role}`, `shape ${formatShape(request.shape)} because ${request.because}`, count, "weight_shape");
    }
    this.#inline.set(name, given);
    return { name, shape: [...request.shape], inline: true };
  }

  #checkNamedWeight(ctx: LayerContext, request: WeightRequest, inline?: true): WeightBindingIR {
    const name = request.input as string;
    const source = this.#source;
    if (source) {
      const found = this.#inline.get(name) ?? source.get(name);
      if (!found && inline) {
        ctx.fail(`weight '${name}'`, "present in the weight source", "no such weight", "weight_missing",
          `${ctx.layer}: '${name}' holds values the original network's code gave inline, which its IR does not carry: pass that network's own weights ({ weights: network.weights }: its inline values with its weight source)`);
      }
      if (!found) {
        ctx.fail(`weight '${name}'`, "present in the weight source", "no such weight", "weight_missing",
          `${ctx.layer}: weight '${name}' is not in the weight source${nearestSuffix(name, source.names(), "; nearest names: ")}`);
      }
      const fits = found.flat ? elementCount(found.shape) === elementCount(request.shape) : sameShape(found.shape, request.shape);
      if (!fits) {
        ctx.fail(`weight '${name}'`, formatShape(request.shape), formatShape(found.shape), "weight_shape",
          `${ctx.layer}: weight '${name}' has shape ${formatShape(found.shape)} but ${request.because}, so ${formatShape(request.shape)} was expected`);
      }
    }
    return { name, shape: [...request.shape], ...(inline ? { inline } : {}) };
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

const isInlineValues = (v: unknown): v is InlineValues => v instanceof Float32Array || v instanceof Int32Array || v instanceof BigInt64Array;

/** Values given inline as a weight, shaped as the layer expects; undefined when their size or shape disagrees. */
function weightFromValues(input: Exclude<WeightInput, string>, shape: readonly number[]): WeightTensor | undefined {
  if (isInlineValues(input)) {
    const dtype = input instanceof Float32Array ? "float32" : input instanceof Int32Array ? "int32" : "int64";
    return input.length === elementCount(shape) ? { dtype, shape: [...shape], data: input } : undefined;
  }
  return sameShape(input.shape, shape) ? input : undefined;
}

