import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/** Inputs joined along one axis: torch.cat(dim). The axis is required (TensorRT's default is rank−3). */
export interface ConcatenationParams {
  axis: number;
}

export interface ConcatenationResolved {
  readonly axis: number;
}

export const concatenation = defineLayer<"concatenation", ConcatenationParams, ConcatenationResolved>({
  kind: "concatenation",
  fromResolved: resolvedAsGiven,
  infer(ctx, inputs, p) {
    if (inputs.length < 1) ctx.fail("inputs", "at least one tensor", "none");
    const first = inputs[0]!;
    const axis = ctx.axis("axis", p.axis, first.shape.length);
    let extent = 0;
    inputs.forEach((t, i) => {
      if (t.dtype !== first.dtype) ctx.fail(`input ${i}`, `of type ${first.dtype} like input 0`, t.dtype, "dtype_mismatch");
      const same = t.shape.length === first.shape.length && t.shape.every((d, j) => j === axis || d === first.shape[j] || (d < 0 && first.shape[j]! < 0));
      if (!same) {
        // A dynamic extent beside a static one is refused, not narrowed: concatenation does not broadcast, and the
        // static extent would fix the dynamic one silently (a class token [1, 1, 64] beside [-1, 64, 64]).
        const dims = first.shape.map((d, j) => (j === axis ? "any" : d < 0 ? "dynamic" : String(d)));
        const mixed = t.shape.length === first.shape.length ? t.shape.findIndex((d, j) => j !== axis && (d < 0) !== (first.shape[j]! < 0)) : -1;
        ctx.fail(`input ${i}`, `shape [${dims.join(",")}] (every dimension but axis ${axis} as input 0's)`, formatShape(t.shape), "shape_mismatch",
          mixed < 0 ? undefined : `${ctx.layer} (concatenation): dimension ${mixed} is dynamic in one input and ${Math.max(t.shape[mixed]!, first.shape[mixed]!)} in another, and concatenation does not broadcast: expand the static input to the dynamic one's extent first (addExpand with the dynamic input's dim(${mixed}) there, -1 elsewhere), or declare the dynamic dimension static`);
      }
      extent = extent < 0 || t.shape[axis]! < 0 ? -1 : extent + t.shape[axis]!;
    });
    const shape = first.shape.map((d, j) => (j === axis ? extent : d));
    return { params: { axis }, outputs: [{ dtype: first.dtype, shape }] };
  },
});
