import { defineLayer, resolvedAsGiven } from "./layer.js";

export type ReduceOp = "sum" | "prod" | "max" | "min" | "avg";

/** Reduction over a set of axes: TensorRT's addReduce, PyTorch's sum/prod/amax/amin/mean(dim, keepdim). */
export interface ReduceParams {
  op: ReduceOp;
  /** Axes to reduce; negative counts from the end. */
  axes: readonly number[];
  /** Keep reduced axes as extent 1 (PyTorch `keepdim`). Default false. */
  keepDims?: boolean;
}

export interface ReduceResolved {
  readonly op: ReduceOp;
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

export const reduce = defineLayer<"reduce", ReduceParams, ReduceResolved>({
  kind: "reduce",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const op = ctx.oneOf("op", p.op, ["sum", "prod", "max", "min", "avg"]);
    const rank = input!.shape.length;
    if (p.axes.length === 0) ctx.fail("axes", "at least one axis", "[]");
    const axes = [...new Set(p.axes.map((a) => ctx.axis("axes", a, rank)))].sort((x, y) => x - y);
    const keepDims = p.keepDims ?? false;
    const shape = input!.shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
    return { params: { op, axes, keepDims }, outputs: [{ dtype: input!.dtype, shape }] };
  },
});
