import * as L from "../layers/index.js";
import type { SizeSpec } from "../layers/dims.js";
import { LayerContext, type LayerDefinition } from "../layers/layer.js";
import type { LayerKind, ResolvedParams } from "../layers/kinds.js";
import type { DataType } from "./dtype.js";
import { captureCallSite } from "./call-site.js";

/**
 * Dimension `axis` of a tensor as a size (PyTorch's `x.shape[axis]`), from `tensor.dim(axis)`: where the
 * dimension is dynamic, the layer that takes it reads it at run time.
 */
export class TensorDim {
  /** @internal Made by Tensor.dim. */
  constructor(readonly tensor: Tensor, readonly axis: number) {}
}

/** A size: a number, or a tensor's dimension. */
export type Size = number | TensorDim;

/** Shuffle parameters whose reshape may take other tensors' dimensions. */
export type ShuffleOptions = Omit<L.ShuffleParams, "reshape"> & { readonly reshape?: readonly Size[] };

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

  /**
   * Sizes as a layer takes them: numbers, and each tensor dimension as its extent where static, else as a
   * dimension of one of the layer's inputs (this tensor first, then `others`, to which new ones are added).
   */
  #sizes(sizes: readonly Size[], others: Tensor[]): SizeSpec[] {
    return sizes.map((s) => {
      if (!(s instanceof TensorDim)) return s;
      const extent = s.tensor.shape[s.axis < 0 ? s.axis + s.tensor.shape.length : s.axis];
      if (extent !== undefined && extent >= 0) return extent;
      if (s.tensor === this) return { input: 0, axis: s.axis };
      if (!others.includes(s.tensor)) others.push(s.tensor);
      return { input: others.indexOf(s.tensor) + 1, axis: s.axis };
    });
  }

  /** Dimension `axis` (negative from the end) as a size in a reshape or an expansion of another tensor. */
  dim(axis: number): TensorDim {
    return new TensorDim(this, axis);
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
  /**
   * Transpose, reshape, transpose. A reshape's sizes: numbers (`0` copies the dimension at that position, `-1`
   * infers one) or tensors' dimensions, read at run time where dynamic:
   * ```ts
   * flat.addShuffle("unflatten", { reshape: [tokens.dim(0), tokens.dim(1), 64] });  // [B·T, 64] → [B, T, 64]
   * ```
   */
  addShuffle(name: string, params: ShuffleOptions): Tensor {
    const others: Tensor[] = [], { reshape, ...rest } = params;
    return this.#add(L.shuffle, name, reshape ? { ...rest, reshape: this.#sizes(reshape, others) } : rest, others);
  }
  /** `torch.flatten(x, startDim, endDim)`: dimensions startDim…endDim (default all) merged into one. */
  addFlatten(name: string, params: { startDim?: number; endDim?: number } = {}): Tensor {
    const rank = this.shape.length, axis = (a: number) => (a < 0 ? a + rank : a);
    const [first, last] = [axis(params.startDim ?? 0), axis(params.endDim ?? -1)];
    if (!(first >= 0 && first <= last && last < rank)) {
      new LayerContext(name, "shuffle", captureCallSite()).fail("startDim", `≤ endDim, both in [${-rank}, ${rank - 1}]`, `startDim ${params.startDim ?? 0}, endDim ${params.endDim ?? -1} for shape [${this.shape}]`);
    }
    const merged = this.shape.slice(first, last + 1);
    const size = merged.every((d) => d >= 0) ? merged.reduce((a, b) => a * b, 1) : -1;
    return this.#reshapeAs(name, [...this.shape.slice(0, first).map((_, i) => ({ copy: i })), size, ...this.shape.slice(last + 1).map((_, i) => ({ copy: last + 1 + i }))]);
  }
  /** `x.squeeze(axes)`: dimensions of size 1 removed (each must be 1 when the network is defined). */
  addSqueeze(name: string, params: { axes: number | readonly number[] }): Tensor {
    const rank = this.shape.length, ctx = new LayerContext(name, "shuffle", captureCallSite());
    const axes = [params.axes].flat().map((a) => ctx.axis("axes", a, rank));
    for (const a of axes) if (this.shape[a] !== 1) ctx.fail("axes", "dimensions of size 1 (a dynamic one may not be 1 at run time)", `dimension ${a} of shape [${this.shape}]`, "shape_mismatch");
    return this.#reshapeAs(name, this.shape.map((_, i) => i).filter((i) => !axes.includes(i)).map((i) => ({ copy: i })));
  }
  /** `x.unsqueeze(axes)`: dimensions of size 1 inserted, at these positions of the output. */
  addUnsqueeze(name: string, params: { axes: number | readonly number[] }): Tensor {
    const rank = this.shape.length + [params.axes].flat().length, ctx = new LayerContext(name, "shuffle", captureCallSite());
    const axes = [params.axes].flat().map((a) => ctx.axis("axes", a, rank));
    let next = 0;
    return this.#reshapeAs(name, Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : { copy: next++ })));
  }
  /**
   * A reshape to sizes that copy this tensor's dimensions ({ copy: axis }) or are numbers: a copy at its own position
   * is TensorRT's 0 placeholder, a dynamic one elsewhere a run-time dimension, a static one its extent.
   */
  #reshapeAs(name: string, sizes: readonly (number | { copy: number })[]): Tensor {
    const reshape = sizes.map((s, i) => (typeof s === "number" ? s : s.copy === i ? 0 : this.shape[s.copy]! >= 0 ? this.shape[s.copy]! : { input: 0, axis: s.copy }));
    return this.#add(L.shuffle, name, { reshape });
  }
  /**
   * `x.expand(*sizes)`: dimensions of size 1 repeated; -1 keeps a dimension, a tensor's dimension is read at run time.
   * ```ts
   * const tokens = cls.addExpand("cls_tokens", { shape: [patches.dim(0), -1, -1] });   // [1, 1, 64] → [B, 1, 64]
   * ```
   */
  addExpand(name: string, params: { shape: readonly Size[] }): Tensor {
    const others: Tensor[] = [];
    return this.#add(L.expand, name, { shape: this.#sizes(params.shape, others) }, others);
  }
  /** A strided window of some or all axes; negative starts and sizes count from the end (see SliceParams). */
  addSlice(name: string, params: L.SliceParams): Tensor { return this.#add(L.slice, name, params); }
  /**
   * `x.split(sizes, dim)`: consecutive parts along `axis`, slices named `<name>.0`, `<name>.1`, …. One size may be
   * -1, the rest of the axis (on a dynamic axis, the parts after it are counted from the end).
   * ```ts
   * const [left, right] = x.addSplit("split", { axis: 1, sizes: [58, 58] });   // ShuffleNet's channel split
   * ```
   */
  addSplit(name: string, params: { axis: number; sizes: readonly number[] }): Tensor[] {
    const ctx = new LayerContext(name, "slice", captureCallSite());
    const axis = ctx.axis("axis", params.axis, this.shape.length), extent = this.shape[axis]!, sizes = [...params.sizes];
    if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || (s < 1 && s !== -1)) || sizes.filter((s) => s === -1).length > 1) {
      ctx.fail("sizes", "sizes ≥ 1, at most one of them -1", `[${params.sizes}]`);
    }
    const known = sizes.filter((s) => s > 0).reduce((a, b) => a + b, 0), rest = sizes.indexOf(-1);
    if (extent >= 0) {
      if (rest >= 0) sizes[rest] = extent - known;
      if (sizes[rest] === 0 || (rest < 0 && known !== extent) || known > extent) ctx.fail("sizes", `sizes that add up to the extent ${extent} of axis ${axis}`, `[${params.sizes}]`, "shape_mismatch");
    } else if (rest < 0) {
      ctx.fail("sizes", `one size of -1 (axis ${axis} is dynamic: its extent is known at run time)`, `[${params.sizes}]`, "shape_mismatch");
    }
    const after = (i: number) => sizes.slice(i + 1).reduce((a, b) => a + b, 0);
    return sizes.map((size, i) => {
      const start = sizes.slice(0, i).reduce((a, b) => a + b, 0);
      const params: L.SliceParams = extent >= 0 || i < rest ? { axes: axis, start, size }
        : i > rest ? { axes: axis, start: -(after(i) + size), size }
        : after(i) > 0 ? { axes: axis, start, end: -after(i) } : { axes: axis, start, size: -1 };
      return this.#add(L.slice, `${name}.${i}`, params);
    });
  }
  /** `x.chunk(chunks, dim)`: `chunks` parts of ⌈extent / chunks⌉ along a static axis (the last may be smaller, as PyTorch's). */
  addChunk(name: string, params: { chunks: number; axis: number }): Tensor[] {
    const ctx = new LayerContext(name, "slice", captureCallSite());
    const axis = ctx.axis("axis", params.axis, this.shape.length), extent = this.shape[axis]!, chunks = ctx.int("chunks", params.chunks);
    if (extent < 0) ctx.fail("axis", "a static axis (a dynamic one: addSplit with a size of -1)", `axis ${axis} of shape [${this.shape}]`, "shape_mismatch");
    const each = Math.ceil(extent / chunks);
    return this.addSplit(name, { axis, sizes: Array.from({ length: Math.ceil(extent / each) }, (_, i) => Math.min(each, extent - i * each)) });
  }
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
