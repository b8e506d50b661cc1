import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/**
 * A strided window of the input: TensorRT's addSlice (kSTRICT_BOUNDS), PyTorch's `x[a:b:s]` with positive steps.
 * Each of `start`, `size`, `end` and `stride` is a number for every sliced axis or a list of one per axis.
 * ```ts
 * x.addSlice("tail", { axes: 1, start: 2, size: -1 });      // x[:, 2:] over any batch
 * x.addSlice("last", { axes: 1, start: -1, size: 1 });      // x[:, -1:]
 * x.addSlice("shift", { axes: 1, start: 0, end: -1 });      // x[:, :-1]
 * ```
 */
export interface SliceParams {
  /** The axes sliced, as PyTorch indexes some dimensions and takes the others whole. Default: every axis. */
  axes?: number | readonly number[];
  /** First index; a negative one counts from the end (-1 is the last element). */
  start: number | readonly number[];
  /**
   * Number of elements taken, or -1 for every element to the end (with the stride); -k stops k − 1 elements before
   * the end. Give `size` or `end`, not both.
   */
  size?: number | readonly number[];
  /** PyTorch's exclusive end, a negative one counting from the end (`x[:, :-1]` is `end: -1`). */
  end?: number | readonly number[];
  /** Step per axis (≥ 1). Default 1. */
  stride?: number | readonly number[];
}

/**
 * One entry per dimension. Where the input's dimension is static, start is an index and size a count; where it is
 * dynamic, a negative start counts from the end and a negative size takes the elements through index
 * `extent + size` (-1: to the end), resolved at run time.
 */
export interface SliceResolved {
  readonly start: readonly number[];
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** The elements a window of `size` from `start` with `stride` takes of a dimension of `extent` (≥ 0), as the kernels count them. */
export function sliceCount(extent: number, start: number, size: number, stride: number): number {
  const first = start < 0 ? start + extent : start;
  return size > 0 ? size : Math.floor((extent + size - first) / stride) + 1;
}

export const slice = defineLayer<"slice", SliceParams, SliceResolved>({
  kind: "slice",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const shape = input!.shape, rank = shape.length;
    const axisList = p.axes === undefined ? shape.map((_, i) => i) : typeof p.axes === "number" ? [p.axes] : [...p.axes];
    const axes = axisList.map((a) => ctx.axis("axes", a, rank));
    if (new Set(axes).size !== axes.length) ctx.fail("axes", "distinct axes", formatShape(axisList));
    const n = axes.length;
    if (p.size !== undefined && p.end !== undefined) ctx.fail("end", "absent where size is given (give one of them)", formatShape(typeof p.end === "number" ? [p.end] : p.end));
    if (p.size === undefined && p.end === undefined) ctx.fail("size", "given (or end)", "neither size nor end");
    const start = ctx.ints("start", p.start, n, -Infinity);
    const stride = ctx.ints("stride", p.stride ?? 1, n, 1);
    const size = p.size !== undefined ? ctx.ints("size", p.size, n, -Infinity) : undefined;
    const end = p.end !== undefined ? ctx.ints("end", p.end, n, -Infinity) : undefined;
    const out = { start: shape.map(() => 0), size: shape.map(() => -1), stride: shape.map(() => 1) };
    const window = `start ${formatShape(start)}, ${size ? `size ${formatShape(size)}` : `end ${formatShape(end!)}`}, stride ${formatShape(stride)}${p.axes === undefined ? "" : ` on axes ${formatShape(axes)}`}`;
    axes.forEach((axis, i) => {
      const extent = shape[axis]!, k = stride[i]!;
      let s = start[i]!, count: number;
      if (size) {
        count = size[i]!;
        if (count === 0) ctx.fail("size", "non-zero sizes (-1 takes every element to the end)", window);
      } else {
        const e = end![i]!;
        if (extent >= 0) {
          if (e > extent) ctx.fail("end", `at most the extent ${extent} of dimension ${axis}`, window, "shape_mismatch");
          count = Math.ceil(((e < 0 ? e + extent : e) - (s < 0 ? s + extent : s)) / k);
        } else if ((s < 0) === (e < 0)) {
          count = Math.ceil((e - s) / k);  // both counted from the same side: a count
        } else if (e < 0) {
          count = e - 1;  // from the front to an end counted from the end: through index extent + e − 1
        } else {
          count = ctx.fail("end", `counted from the end where start is, on dynamic dimension ${axis}`, window);
        }
        if (count === 0 || (count < 0 && extent >= 0) || (count < 0 && (s < 0) === (e < 0))) ctx.fail("end", `after start in dimension ${axis}`, window);
      }
      if (extent >= 0) {
        // A static dimension: an index and a count, checked now.
        const first = s < 0 ? s + extent : s;
        const taken = sliceCount(extent, s, count, k);
        if (first < 0 || first >= extent || taken < 1 || first + (taken - 1) * k >= extent) {
          ctx.fail(size ? "size" : "end", `a window inside dimension ${axis} (extent ${extent})`, window, "shape_mismatch");
        }
        s = first;
        count = taken;
      }
      out.start[axis] = s;
      out.size[axis] = count;
      out.stride[axis] = k;
    });
    // Untouched axes are taken whole.
    shape.forEach((extent, d) => { if (!axes.includes(d) && extent >= 0) out.size[d] = extent; });
    return { params: out, outputs: [{ dtype: input!.dtype, shape: out.size.map((c) => (c > 0 ? c : -1)) }] };
  },
});
