import { formatShape } from "../dsl/shape.js";
import { defineLayer, type WeightInput } from "./layer.js";

/**
 * Symmetric INT8 quantisation: y = clamp(round_half_even(x / scale), −128, 127), per tensor or per channel:
 * TensorRT's addQuantize, PyTorch's quantize_per_tensor/per_channel with zero point 0.
 */
export interface QuantizeParams {
  /** The scale: one value, or one per element of `axis`. A name in the weight source or the values. */
  scale: WeightInput;
  /** Per-channel axis; omit for per-tensor. */
  axis?: number;
  /** Number of scales: 1 (per tensor) or the extent of `axis`. Default 1. */
  channels?: number;
}

export interface QuantizeResolved {
  readonly axis: number | null;
}

export const quantize = defineLayer<"quantize", QuantizeParams, QuantizeResolved>({
  kind: "quantize",
  fromResolved: (r, { weights }) => ({ scale: weights.scale?.name ?? "", ...(r.axis === null ? {} : { axis: r.axis }) }),
  infer(ctx, [input], p) {
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const { axis, count } = scaleLayout(ctx, input!.shape, p.axis);
    return {
      params: { axis },
      outputs: [{ dtype: "int8", shape: input!.shape }],
      weights: [{ role: "scale", input: p.scale, shape: [count], because: axis === null ? "the scale is per tensor" : `axis ${axis} has ${count} elements` }],
    };
  },
});

/** Where a Q/DQ scale applies: per tensor (one value) or along a known axis. */
export function scaleLayout(ctx: Parameters<typeof quantize.infer>[0], shape: readonly number[], axisArgument: number | undefined): { axis: number | null; count: number } {
  if (axisArgument === undefined) return { axis: null, count: 1 };
  const axis = ctx.axis("axis", axisArgument, shape.length);
  const count = shape[axis]!;
  if (count < 0) ctx.fail("axis", "an axis of known extent", `axis ${axis} of ${formatShape(shape)}`, "shape_mismatch");
  return { axis, count };
}
