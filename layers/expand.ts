import { formatShape } from "../dsl/shape.js";
import { FROM_INPUT, resolveSizes, sizeSpecs, type SizeSpec } from "./dims.js";
import { defineLayer } from "./layer.js";

/**
 * PyTorch's `x.expand(*sizes)`: dimensions of size 1 repeated to a larger size, without copying in PyTorch (here
 * written out). Sizes align to the right; leading new dimensions may be added.
 * ```ts
 * cls.addExpand("cls_tokens", { shape: [patches.dim(0), -1, -1] });   // [1, 1, 64] → [B, 1, 64]
 * ```
 */
export interface ExpandParams {
  /** The output's sizes: -1 keeps the input's, a number or a tensor's dimension repeats a dimension of 1 to it. */
  shape: readonly SizeSpec[];
}

export interface ExpandResolved {
  /** As given, an input's dynamic dimension as FROM_INPUT (-2), its (input, axis) pair in `dimsFrom`. */
  readonly shape: readonly number[];
  readonly dimsFrom: readonly number[] | null;
}

export const expand = defineLayer<"expand", ExpandParams, ExpandResolved>({
  kind: "expand",
  fromResolved: ({ shape, dimsFrom }) => ({ shape: sizeSpecs(shape, dimsFrom) }),
  infer(ctx, inputs, p) {
    const input = inputs[0]!, rank = p.shape.length, lead = rank - input.shape.length;
    if (!Array.isArray(p.shape) || lead < 0) ctx.fail("shape", `a list of at least ${input.shape.length} sizes (the input's rank)`, Array.isArray(p.shape) ? `${p.shape.length} sizes` : String(p.shape), "shape_mismatch");
    const { sizes, dimsFrom, known } = resolveSizes(ctx, "shape", p.shape, inputs);
    const out = sizes.map((size, i) => {
      const from = i >= lead ? input.shape[i - lead]! : undefined;
      if (size === -1) return from ?? ctx.fail("shape", `a size for new leading dimension ${i} (-1 keeps an input dimension)`, formatShape(sizes), "shape_mismatch");
      if (size === 0) ctx.fail("shape", "sizes ≥ 1, -1 or tensor dimensions", formatShape(sizes));
      const target = size === FROM_INPUT ? known[i]! : size;
      // A static input dimension other than 1 can only stay as it is; a dynamic one is checked at run time.
      if (from !== undefined && from >= 0 && from !== 1 && from !== target) {
        ctx.fail("shape", `${from} or -1 at position ${i} (only dimensions of size 1 expand; the input is ${formatShape(input.shape)})`, size === FROM_INPUT ? "a dynamic size" : String(size), "shape_mismatch");
      }
      return target;
    });
    return { params: { shape: sizes, dimsFrom }, outputs: [{ dtype: input.dtype, shape: out }] };
  },
});
