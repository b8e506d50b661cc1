import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/** A strided window of the input: TensorRT's addSlice (kSTRICT_BOUNDS), PyTorch's `x[a:b:s]` with positive steps. */
export interface SliceParams {
  /** First index per dimension. */
  start: readonly number[];
  /** Number of elements taken per dimension. */
  size: readonly number[];
  /** Step per dimension. Default 1 everywhere. */
  stride?: readonly number[];
}

export interface SliceResolved {
  readonly start: readonly number[];
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

export const slice = defineLayer<"slice", SliceParams, SliceResolved>({
  kind: "slice",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const rank = input!.shape.length;
    const start = ctx.ints("start", p.start, rank, 0);
    const size = ctx.ints("size", p.size, rank, 1);
    const stride = ctx.ints("stride", p.stride ?? 1, rank, 1);
    input!.shape.forEach((extent, i) => {
      const last = start[i]! + (size[i]! - 1) * stride[i]!;
      if (extent >= 0 && last >= extent) {
        ctx.fail("size", `a window inside dimension ${i} (extent ${extent}); start ${start[i]} + (size − 1)·stride must be < ${extent}`,
          `start ${formatShape(start)}, size ${formatShape(size)}, stride ${formatShape(stride)}`, "shape_mismatch");
      }
    });
    return { params: { start, size, stride }, outputs: [{ dtype: input!.dtype, shape: size }] };
  },
});
