import { defineLayer, type WeightInput } from "./layer.js";
import { scaleLayout } from "./quantize.js";

/** y = x · scale, from INT8 back to float, per tensor or per channel: TensorRT's addDequantize. */
export interface DequantizeParams {
  /** The scale: one value, or one per element of `axis`. */
  scale: WeightInput;
  /** Per-channel axis; omit for per-tensor. */
  axis?: number;
  /** Output type. Default "float32". */
  to?: "float32" | "float16" | "bfloat16";
}

export interface DequantizeResolved {
  readonly axis: number | null;
  readonly to: "float32" | "float16" | "bfloat16";
}

export const dequantize = defineLayer<"dequantize", DequantizeParams, DequantizeResolved>({
  kind: "dequantize",
  fromResolved: (r, { weights }) => ({ scale: weights.scale?.name ?? "", to: r.to, ...(r.axis === null ? {} : { axis: r.axis }) }),
  infer(ctx, [input], p) {
    ctx.dtype(input!, ["int8"]);
    const { axis, count } = scaleLayout(ctx, input!.shape, p.axis);
    const to = ctx.oneOf("to", p.to ?? "float32", ["float32", "float16", "bfloat16"]);
    return {
      params: { axis, to },
      outputs: [{ dtype: to, shape: input!.shape }],
      weights: [{ role: "scale", input: p.scale, shape: [count], because: axis === null ? "the scale is per tensor" : `axis ${axis} has ${count} elements` }],
    };
  },
});
