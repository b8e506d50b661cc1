// Layers that move values: concatenation, shuffle, slice, padding, constant, gather.
import { requireRule } from "../layer.js";
import { indexOf, stridesOf, volume } from "../values.js";
import { needed, type LayerRule } from "./rule.js";

const TYPED = "tensor data types are inferred from network input types and operator type specification (NvInfer.h, createNetworkV2)";
const DEFAULT_AXIS = "The default axis is the number of tensor dimensions minus three, or zero if the tensor has fewer than three dimensions. (NvInfer.h, IConcatenationLayer::setAxis)";

export const concatenation: LayerRule = {
  setters: ["setAxis"],
  infer(layer, inputs) {
    const all = inputs.map((_, i) => needed(inputs, i, layer)), rank = all[0]!.shape.length;
    const axis = layer.setNumber("setAxis", Math.max(rank - 3, 0));
    requireRule(axis >= 0 && axis < rank, DEFAULT_AXIS, `axis ${axis} of rank-${rank} inputs`);
    const rule = "All tensors must have the same dimensions except along the concatenation axis. (NvInfer.h, addConcatenation)";
    for (const t of all) {
      requireRule(t.shape.length === rank && t.shape.every((d, i) => i === axis || d === all[0]!.shape[i]), rule, `inputs of ${all.map((x) => `[${x.shape}]`).join(", ")} on axis ${axis}`);
      requireRule(t.type === all[0]!.type, TYPED, `inputs of types ${all.map((x) => x.type).join(", ")}`);
    }
    const shape = [...all[0]!.shape];
    shape[axis] = all.reduce((sum, t) => sum + t.shape[axis]!, 0);
    return [{ type: all[0]!.type, shape }];
  },
  execute(layer, inputs, [output]) {
    const all = inputs.map((_, i) => needed(inputs, i, layer)), rank = all[0]!.shape.length;
    const axis = layer.setNumber("setAxis", Math.max(rank - 3, 0)), outer = volume(output!.shape.slice(0, axis));
    const out = new Float64Array(volume(output!.shape));
    let at = 0;
    for (let o = 0; o < outer; o++) for (const t of all) {
      const run = volume(t.shape.slice(axis));
      out.set(t.data.subarray(o * run, (o + 1) * run), at);
      at += run;
    }
    return [out];
  },
};

function transposed(shape: readonly number[], order: readonly number[], what: string): number[] {
  const rank = shape.length, perm = order.slice(0, rank);
  requireRule([...perm].sort((a, b) => a - b).every((p, i) => p === i), `\\param permutation The dimension permutation applied ${what} the reshape. (NvInfer.h, IShuffleLayer)`, `a permutation (${perm}) of a rank-${rank} tensor`);
  return perm.map((p) => shape[p]!);
}

function transpose(data: Float64Array, shape: readonly number[], order: readonly number[]): Float64Array {
  const perm = order.slice(0, shape.length), outShape = perm.map((p) => shape[p]!), inStrides = stridesOf(shape);
  const out = new Float64Array(data.length);
  for (let flat = 0; flat < out.length; flat++) {
    const index = indexOf(flat, outShape);
    let offset = 0;
    for (let d = 0; d < perm.length; d++) offset += index[d]! * inStrides[perm[d]!]!;
    out[flat] = data[offset]!;
  }
  return out;
}

/** The shuffle's three steps' shapes: after the first transpose, after the reshape, after the second transpose. */
function shuffleShapes(layer: Parameters<LayerRule["infer"]>[0], inputs: Parameters<LayerRule["infer"]>[1]): number[][] {
  const identity = Array.from({ length: 8 }, (_, i) => i);
  const first = transposed(needed(inputs, 0, layer).shape, layer.setDims("setFirstTranspose", identity), "before");
  let reshaped = first;
  const given = inputs[1];
  if (given) {
    requireRule((given.type === "kINT32" || given.type === "kINT64") && given.shape.length === 1 && given.data !== undefined, "- 1: The dimensions for the reshape operation, as a 1D tensor of type Int32 or Int64. (NvInfer.h, IShuffleLayer::setInput)",
      `input 1 a ${given.type} tensor of [${given.shape}]${given.data ? "" : " whose values are not known at build time"}`);
  }
  const dims = given ? Array.from(given.data!) : layer.set("setReshapeDimensions") as number[] | undefined;
  if (dims) {
    const zero = layer.setBoolean("setZeroIsPlaceholder", true);
    const rule = "Value 0 copies the corresponding dimension from input. … Value -1 infers that particular dimension by looking at input and rest of the reshape dimensions. Note that only a maximum of one dimension is permitted to be specified as -1. (NvInfer.h, IShuffleLayer::setReshapeDimensions)";
    reshaped = dims.map((d, i) => {
      if (d !== 0 || !zero) return d;
      requireRule(i < first.length, rule, `a 0 at position ${i} of a reshape of a rank-${first.length} tensor`);
      return first[i]!;
    });
    const wild = reshaped.filter((d) => d === -1).length;
    requireRule(wild <= 1 && reshaped.every((d) => d >= -1), rule, `reshape dimensions [${dims}]`);
    const known = volume(reshaped.filter((d) => d !== -1)), total = volume(first);
    if (wild) {
      requireRule(known > 0 && total % known === 0, rule, `[${dims}] cannot reshape [${first}]`);
      reshaped = reshaped.map((d) => (d === -1 ? total / known : d));
    }
    requireRule(volume(reshaped) === total, rule, `[${dims}] reshapes ${total} values of [${first}] to ${volume(reshaped)}`);
  }
  const second = transposed(reshaped, layer.setDims("setSecondTranspose", identity), "after");
  return [first, reshaped, second];
}

export const shuffle: LayerRule = {
  setters: ["setFirstTranspose", "setReshapeDimensions", "setZeroIsPlaceholder", "setSecondTranspose"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer);
    return [{ type: x.type, shape: shuffleShapes(layer, inputs)[2]! }];
  },
  execute(layer, inputs) {
    const x = needed(inputs, 0, layer), identity = Array.from({ length: 8 }, (_, i) => i);
    const [, reshaped] = shuffleShapes(layer, inputs);
    const first = transpose(x.data, x.shape, layer.setDims("setFirstTranspose", identity));
    return [transpose(first, reshaped!, layer.setDims("setSecondTranspose", identity))];
  },
};

export const shape: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer);
    return [{ type: "kINT64", shape: [x.shape.length], data: Float64Array.from(x.shape) }];
  },
  execute: (layer, inputs) => [Float64Array.from(needed(inputs, 0, layer).shape)],
};

const SLICE = "The slice layer selects for each dimension a start location from within the input tensor, and copies elements to the output tensor using the specified stride across the input tensor. (NvInfer.h, ISliceLayer)";

const SLICE_INPUTS = "- 1: The start tensor to begin slicing, as a 1D tensor of type Int32 or Int64. - 2: The size tensor of the resulting slice, as a 1D tensor of type Int32 or Int64. - 3: The stride of the slicing operation, as a 1D tensor of type Int32 or Int64. (NvInfer.h, ISliceLayer::setInput)";

/** Start, size and stride: the add call's, or the shape tensors given as inputs 1–3 in their place. */
function sliceWindow(layer: Parameters<LayerRule["infer"]>[0], inputs: Parameters<LayerRule["infer"]>[1]): [number[], number[], number[]] {
  const [start, size, stride] = (["start", "size", "stride"] as const).map((key, i) => {
    const given = inputs[i + 1];
    if (!given) return layer.dims(key);
    requireRule((given.type === "kINT32" || given.type === "kINT64") && given.shape.length === 1 && given.data !== undefined, SLICE_INPUTS, `input ${i + 1} a ${given.type} tensor of [${given.shape}]${given.data ? "" : " whose values are not known at build time"}`);
    return Array.from(given.data);
  });
  return [start!, size!, stride!];
}

export const slice: LayerRule = {
  setters: ["setMode"],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), [start, size, stride] = sliceWindow(layer, inputs);
    const rank = x.shape.length, mode = layer.setText("setMode", "kSTRICT_BOUNDS");
    requireRule([start, size, stride].every((d) => d.length === rank), "If axes are not provided, starts, ends, and strides must be of the same length as the rank of the input tensor. (NvInfer.h, ISliceLayer)", `start [${start}], size [${size}], stride [${stride}] for a rank-${rank} input`);
    requireRule(size.every((s) => s >= 0), SLICE, `size [${size}]`);
    const fill = inputs[4];
    requireRule((fill !== undefined) === (mode === "kFILL"), "When the sampleMode is kFILL, the fifth input to the slice layer is used to determine the value to fill in out-of-bound indices. It is an error to specify the fifth input in any other sampleMode. (NvInfer.h, ISliceLayer)",
      `mode ${mode} with${fill ? "" : "out"} a fill value`);
    if (fill) requireRule(fill.shape.length === 0 && fill.type === x.type, "The fill value … should either be the same or be implicitly convertible to the input data type (NvInfer.h, ISliceLayer::setInput)", `a fill value of ${fill.type} [${fill.shape}] for a ${x.type} input`);
    if (mode === "kSTRICT_BOUNDS") {
      for (let d = 0; d < rank; d++) {
        const last = start[d]! + (size[d]! - 1) * stride[d]!;
        requireRule(size[d] === 0 || (start[d]! >= 0 && start[d]! < x.shape[d]! && last >= 0 && last < x.shape[d]!), "kSTRICT_BOUNDS … Fail with error when the coordinates are out of bounds. (NvInfer.h, enum SampleMode)",
          `dimension ${d}: indices ${start[d]} to ${last} of ${x.shape[d]}`);
      }
    }
    return [{ type: x.type, shape: [...size] }];
  },
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), [start, , stride] = sliceWindow(layer, inputs), mode = layer.setText("setMode", "kSTRICT_BOUNDS");
    const fill = inputs[4]?.data[0] ?? 0, inStrides = stridesOf(x.shape);
    const out = new Float64Array(volume(output!.shape));
    for (let flat = 0; flat < out.length; flat++) {
      const index = indexOf(flat, output!.shape);
      let offset = 0, outside = false;
      for (let d = 0; d < index.length; d++) {
        let at = start[d]! + index[d]! * stride[d]!;
        const n = x.shape[d]!;
        if (at < 0 || at >= n) {
          if (mode === "kWRAP") at = ((at % n) + n) % n;
          else if (mode === "kCLAMP") at = Math.min(Math.max(at, 0), n - 1);
          else if (mode === "kREFLECT") { const period = 2 * n; at = ((at % period) + period) % period; if (at >= n) at = period - 1 - at; }
          else outside = true;
        }
        offset += at * inStrides[d]!;
      }
      out[flat] = outside ? fill : x.data[offset]!;
    }
    return [out];
  },
};

export const padding: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const x = needed(inputs, 0, layer), pre = layer.dims("prePadding"), post = layer.dims("postPadding");
    const rule = "The padding layer adds zero-padding at the start and end of the input tensor. It supports padding only the last two dimensions. Applying negative padding results in cropping of the input. (NvInfer.h, IPaddingLayer)";
    requireRule(pre.length === 2 && post.length === 2 && x.shape.length >= 4, rule, `padding of ${pre.length} dimensions of a rank-${x.shape.length} input`);
    const shape = [...x.shape];
    for (let i = 0; i < 2; i++) shape[shape.length - 2 + i]! += pre[i]! + post[i]!;
    requireRule(shape.every((d) => d >= 0), rule, `padding ${pre}/${post} of [${x.shape}]`);
    return [{ type: x.type, shape }];
  },
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), pre = layer.dims("prePadding"), rank = x.shape.length, inStrides = stridesOf(x.shape);
    const out = new Float64Array(volume(output!.shape));
    for (let flat = 0; flat < out.length; flat++) {
      const index = indexOf(flat, output!.shape);
      let offset = 0, inside = true;
      for (let d = 0; d < rank; d++) {
        const at = index[d]! - (d >= rank - 2 ? pre[d - rank + 2]! : 0);
        if (at < 0 || at >= x.shape[d]!) { inside = false; break; }
        offset += at * inStrides[d]!;
      }
      out[flat] = inside ? x.data[offset]! : 0;
    }
    return [out];
  },
};

export const constant: LayerRule = {
  setters: [],
  infer(layer) {
    const dims = layer.dims("dimensions"), w = layer.weights("weights");
    requireRule(w !== undefined && w.values.length === volume(dims) && dims.every((d) => d >= 0), "If a wildcard dimension is used, the volume of the runtime dimensions must equal the number of weights specified. (NvInfer.h, addConstant)",
      `${w?.values.length ?? 0} weights for dimensions [${dims}]`);
    requireRule(w.type !== "kUINT8", "DataType::kUINT8 not supported. (NvInfer.h, addConstant)", "uint8 weights");
    // "The output type is weights.type" (IConstantLayer::setWeights).
    return [{ type: w.type, shape: [...dims] }];
  },
  execute: (layer) => [Float64Array.from(layer.weights("weights")!.values)],
};

export const gather: LayerRule = {
  setters: [],
  infer(layer, inputs) {
    const data = needed(inputs, 0, layer), indices = needed(inputs, 1, layer), axis = layer.number("axis");
    requireRule(data.shape.length >= 1 && axis >= 0 && axis < data.shape.length, "Data is a tensor of rank r >= 1 that stores the values to be gathered in Output. (NvInfer.h, IGatherLayer)", `axis ${axis} of a rank-${data.shape.length} tensor`);
    requireRule(indices.type === "kINT32" || indices.type === "kINT64", "The types of Data and Output must be the same, and Indices shall be DataType::kINT32 or DataType::kINT64. (NvInfer.h, IGatherLayer)", `${indices.type} indices`);
    return [{ type: data.type, shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)] }];
  },
  execute(layer, inputs, [output]) {
    const data = needed(inputs, 0, layer), indices = needed(inputs, 1, layer), axis = layer.number("axis");
    const outer = volume(data.shape.slice(0, axis)), inner = volume(data.shape.slice(axis + 1)), n = data.shape[axis]!;
    const out = new Float64Array(volume(output!.shape));
    let at = 0;
    for (let o = 0; o < outer; o++) for (let k = 0; k < indices.data.length; k++) {
      const i = indices.data[k]!;
      requireRule(i >= -n && i < n, "Each index in indices is used to index Data along axis gatherAxis. (NvInfer.h, IGatherLayer)", `index ${i} of a dimension of ${n}`);
      const j = i < 0 ? i + n : i;  // a negative index counts from the end (undefined only on a dynamic axis)
      out.set(data.data.subarray((o * n + j) * inner, (o * n + j + 1) * inner), at);
      at += inner;
    }
    return [out];
  },
};

