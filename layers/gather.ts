import { defineLayer, resolvedAsGiven } from "./layer.js";

/** Elements picked along one axis by an index tensor: TensorRT's addGather (kDEFAULT), torch.index_select generalised. */
export interface GatherParams {
  /** The data axis the indices select from. Default 0. */
  axis?: number;
}

export interface GatherResolved {
  readonly axis: number;
}

export const gather = defineLayer<"gather", GatherParams, GatherResolved>({
  kind: "gather",
  fromResolved: resolvedAsGiven,
  infer(ctx, [data, indices], p) {
    const axis = ctx.axis("axis", p.axis ?? 0, data!.shape.length);
    ctx.dtype(indices!, ["int32", "int64"], "indices");
    const shape = [...data!.shape.slice(0, axis), ...indices!.shape, ...data!.shape.slice(axis + 1)];
    return { params: { axis }, outputs: [{ dtype: data!.dtype, shape }] };
  },
});
