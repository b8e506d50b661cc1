import { formatShape } from "../dsl/shape.js";
import { defineLayer } from "./layer.js";

/** Inputs joined along one axis: torch.cat(dim). The axis is required (TensorRT's default is rank−3). */
export interface ConcatenationParams {
  axis: number;
}

export interface ConcatenationResolved {
  readonly axis: number;
}

export const concatenation = defineLayer<"concatenation", ConcatenationParams, ConcatenationResolved>({
  kind: "concatenation",
  infer(ctx, inputs, p) {
    if (inputs.length < 1) ctx.fail("inputs", "at least one tensor", "none");
    const first = inputs[0]!;
    const axis = ctx.axis("axis", p.axis, first.shape.length);
    let extent = 0;
    inputs.forEach((t, i) => {
      if (t.dtype !== first.dtype) ctx.fail(`input ${i}`, `of type ${first.dtype} like input 0`, t.dtype, "dtype_mismatch");
      const same = t.shape.length === first.shape.length && t.shape.every((d, j) => j === axis || d === first.shape[j] || d < 0 || first.shape[j]! < 0);
      if (!same) ctx.fail(`input ${i}`, `shape ${formatShape(first.shape.map((d, j) => (j === axis ? -1 : d)))} (all but axis ${axis} equal to input 0)`, formatShape(t.shape), "shape_mismatch");
      extent = extent < 0 || t.shape[axis]! < 0 ? -1 : extent + t.shape[axis]!;
    });
    const shape = first.shape.map((d, j) => (j === axis ? extent : d));
    return { params: { axis }, outputs: [{ dtype: first.dtype, shape }] };
  },
});
