import { defineLayer, resolvedAsGiven } from "./layer.js";

/** Softmax along one axis: PyTorch's softmax(dim). TensorRT's default axis is surprising, so it is required. */
export interface SoftMaxParams {
  /** The axis to normalise over; negative counts from the end. */
  axis: number;
}

export interface SoftMaxResolved {
  readonly axis: number;
}

export const softMax = defineLayer<"softMax", SoftMaxParams, SoftMaxResolved>({
  kind: "softMax",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    return { params: { axis: ctx.axis("axis", p.axis, input!.shape.length) }, outputs: [input!] };
  },
});
