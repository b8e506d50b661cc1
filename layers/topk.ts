import { defineLayer, resolvedAsGiven } from "./layer.js";

/** The k largest or smallest values along one axis and their indices: TensorRT's addTopK, torch.topk (sorted). */
export interface TopKParams {
  op: "max" | "min";
  k: number;
  /** Default: the last axis. */
  axis?: number;
}

export interface TopKResolved {
  readonly op: "max" | "min";
  readonly k: number;
  readonly axis: number;
}

export const topK = defineLayer<"topK", TopKParams, TopKResolved>({
  kind: "topK",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const op = ctx.oneOf("op", p.op, ["max", "min"]);
    ctx.dtype(input!, ["float32", "float16", "bfloat16", "int32"]);
    const rank = input!.shape.length;
    const axis = ctx.axis("axis", p.axis ?? -1, rank);
    const k = ctx.int("k", p.k);
    const extent = input!.shape[axis]!;
    if (extent >= 0 && k > extent) ctx.fail("k", `at most the extent of axis ${axis} (${extent})`, String(k), "shape_mismatch");
    const shape = input!.shape.map((d, i) => (i === axis ? k : d));
    return { params: { op, k, axis }, outputs: [{ dtype: input!.dtype, shape }, { dtype: "int32", shape }] };
  },
});
