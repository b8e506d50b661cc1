import * as L from "../layers/index.js";
import { LayerContext, type LayerDefinition } from "../layers/layer.js";
import type { LayerKind, ResolvedParams } from "../layers/kinds.js";
import type { DataType } from "./dtype.js";
import { captureCallSite } from "./call-site.js";

/** How a Tensor hands a new layer to its network (internal; not exported from the package). */
export interface LayerSink {
  addLayer<K extends LayerKind, P>(definition: LayerDefinition<K, P, ResolvedParams<K>>, name: string, inputs: readonly Tensor[], params: P, callSite: string | undefined): Tensor[];
}

/**
 * A tensor of a network under definition. Single-input layers are added fluently from the tensor they consume,
 * so a network reads top to bottom:
 * ```ts
 * const probabilities = net.addInput("data", "float32", [-1, 1, 28, 28])
 *   .addConvolution("conv1", { outChannels: 20, kernel: 5 })
 *   .addPooling("pool1", { type: "max", window: 2 });
 * ```
 */
export class Tensor {
  readonly #sink: LayerSink;

  /** @internal Tensors are made by a Network. */
  constructor(sink: LayerSink, readonly name: string, readonly dtype: DataType, readonly shape: readonly number[]) {
    this.#sink = sink;
  }

  /** @internal The network this tensor belongs to. */
  get sink(): LayerSink {
    return this.#sink;
  }

  #add<K extends LayerKind, P>(definition: LayerDefinition<K, P, ResolvedParams<K>>, name: string, params: P, others: readonly Tensor[] = []): Tensor {
    return this.#sink.addLayer(definition, name, [this, ...others], params, captureCallSite())[0]!;
  }

  /** N-d convolution; binds `<name>.weight` and `<name>.bias`. */
  addConvolution(name: string, params: L.ConvolutionParams): Tensor { return this.#add(L.convolution, name, params); }
  /** N-d transposed convolution; binds `<name>.weight` [in, out/groups, …k] and `<name>.bias`. */
  addDeconvolution(name: string, params: L.DeconvolutionParams): Tensor { return this.#add(L.deconvolution, name, params); }
  /** Max / average / blended pooling; stride defaults to the window as in PyTorch. */
  addPooling(name: string, params: L.PoolingParams): Tensor { return this.#add(L.pooling, name, params); }
  /** Dense layer over the flattened input; binds `<name>.weight` [out, in] and `<name>.bias`. */
  addFullyConnected(name: string, params: L.FullyConnectedParams): Tensor { return this.#add(L.fullyConnected, name, params); }
  /**
   * PyTorch's `nn.Linear` on the last axis: [..., in] → [..., out], binding `<name>.weight` [out, in] and
   * `<name>.bias` [out]. The rows go through a dense layer named `name` (fused with its bias and activation like
   * any), between reshapes `<name>.rows` and `<name>.unflatten` (the result); at most one dimension before the
   * features may be dynamic.
   * ```ts
   * const hidden = tokens.addLinear("linear1", { outFeatures: 128 }).addActivation("gelu", { type: "gelu_erf" });
   * ```
   */
  addLinear(name: string, params: L.FullyConnectedParams): Tensor {
    if (this.shape.length <= 2) return this.#add(L.fullyConnected, name, params);
    const leading = this.shape.slice(0, -1);
    if (leading.filter((d) => d < 0).length > 1) {
      new LayerContext(name, "fullyConnected", captureCallSite()).fail("input", "at most one dynamic dimension before the features (the rows are reshaped back to it)", `shape [${this.shape}]`, "shape_mismatch");
    }
    const rows = this.#add(L.shuffle, `${name}.rows`, { reshape: [-1, this.shape.at(-1)!] });
    const dense = rows.#add(L.fullyConnected, name, params);
    return dense.#add(L.shuffle, `${name}.unflatten`, { reshape: [...leading, params.outFeatures] });
  }
  /** One of TensorRT's 14 activations or PyTorch's silu, hardswish and mish, e.g. `{ type: "clip", alpha: 0, beta: 6 }` for ReLU6. */
  addActivation(name: string, params: L.ActivationParams): Tensor { return this.#add(L.activation, name, params); }
  /** `this op other`, broadcasting as numpy does. */
  addElementWise(name: string, other: Tensor, op: L.ElementWiseOp): Tensor { return this.#add(L.elementWise, name, op, [other]); }
  /** (x · scale + shift) ^ power per tensor, channel or element. */
  addScale(name: string, params: L.ScaleParams): Tensor { return this.#add(L.scale, name, params); }
  /** Softmax along `axis`. */
  addSoftMax(name: string, params: L.SoftMaxParams): Tensor { return this.#add(L.softMax, name, params); }
  /** Transpose, reshape (`0` copies, `-1` infers), transpose. */
  addShuffle(name: string, params: L.ShuffleParams): Tensor { return this.#add(L.shuffle, name, params); }
  /** A strided window. */
  addSlice(name: string, params: L.SliceParams): Tensor { return this.#add(L.slice, name, params); }
  /** `this × other` with batch broadcasting. */
  addMatrixMultiply(name: string, other: Tensor, params: L.MatrixMultiplyParams = {}): Tensor { return this.#add(L.matrixMultiply, name, params, [other]); }
  /** Sum / product / max / min / mean over axes. */
  addReduce(name: string, params: L.ReduceParams): Tensor { return this.#add(L.reduce, name, params); }
  /** One of TensorRT's unary operations. */
  addUnary(name: string, op: L.UnaryOp): Tensor { return this.#add(L.unary, name, op); }
  /** Nearest / linear / cubic resampling to scales or a shape. */
  addResize(name: string, params: L.ResizeParams): Tensor { return this.#add(L.resize, name, params); }
  /** Constant padding (negative crops) of the trailing dimensions. */
  addPadding(name: string, params: L.PaddingParams): Tensor { return this.#add(L.padding, name, params); }
  /** A named copy. */
  addIdentity(name: string): Tensor { return this.#add(L.identity, name, {}); }
  /** Conversion to another element type. */
  addCast(name: string, params: L.CastParams): Tensor { return this.#add(L.cast, name, params); }
  /** Elements of this tensor picked along `axis` by `indices`. */
  addGather(name: string, indices: Tensor, params: L.GatherParams = {}): Tensor { return this.#add(L.gather, name, params, [indices]); }
  /** The k largest or smallest values along an axis, and their int32 indices. */
  addTopK(name: string, params: L.TopKParams): { values: Tensor; indices: Tensor } {
    const [values, indices] = this.#sink.addLayer(L.topK, name, [this], params, captureCallSite());
    return { values: values!, indices: indices! };
  }
  /** Layer / instance / group normalisation; binds `<name>.weight` and `<name>.bias`. */
  addNormalization(name: string, params: L.NormalizationParams): Tensor { return this.#add(L.normalization, name, params); }
  /** PReLU; binds `<name>.weight`. */
  addParametricReLU(name: string, params: L.ParametricReLUParams = {}): Tensor { return this.#add(L.parametricReLU, name, params); }
  /** Local response normalisation across channels. */
  addLRN(name: string, params: L.LRNParams): Tensor { return this.#add(L.lrn, name, params); }
  /** Float to INT8 with a per-tensor or per-channel scale. */
  addQuantize(name: string, params: L.QuantizeParams): Tensor { return this.#add(L.quantize, name, params); }
  /** INT8 back to float with a per-tensor or per-channel scale. */
  addDequantize(name: string, params: L.DequantizeParams): Tensor { return this.#add(L.dequantize, name, params); }
  /** Eval-mode BatchNorm; binds `<name>.weight`, `.bias`, `.running_mean`, `.running_var`. */
  addBatchNorm(name: string, params: L.BatchNormParams = {}): Tensor { return this.#add(L.batchNorm, name, params); }
}
