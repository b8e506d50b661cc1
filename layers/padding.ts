import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/**
 * Constant padding of the trailing dimensions: TensorRT's addPaddingNd, PyTorch's F.pad (constant mode) with the
 * lists given per dimension, outermost first. Negative amounts crop.
 */
export interface PaddingParams {
  /** Amount before each of the last `pre.length` dimensions. */
  pre: readonly number[];
  /** Amount after each of them; the same length as `pre`. */
  post: readonly number[];
  /** Fill value. Default 0. */
  value?: number;
}

export interface PaddingResolved {
  readonly pre: readonly number[];
  readonly post: readonly number[];
  readonly value: number;
}

export const padding = defineLayer<"padding", PaddingParams, PaddingResolved>({
  kind: "padding",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const rank = input!.shape.length;
    const n = p.pre.length;
    if (n < 1 || n > rank) ctx.fail("pre", `1 to ${rank} amounts`, formatShape(p.pre));
    const pre = ctx.ints("pre", p.pre, n, -Infinity);
    const post = ctx.ints("post", p.post, n, -Infinity);
    const shape = input!.shape.map((d, i) => {
      const j = i - (rank - n);
      return j < 0 || d < 0 ? d : d + pre[j]! + post[j]!;
    });
    if (shape.some((d) => d === 0 || d < -1)) ctx.fail("pre/post", `amounts that leave every dimension non-empty (input ${formatShape(input!.shape)})`, `${formatShape(pre)} / ${formatShape(post)}`);
    const value = p.value ?? 0;
    if (["int8", "uint8", "int32", "int64", "bool"].includes(input!.dtype) && !Number.isSafeInteger(value)) {
      ctx.fail("value", `an integer to fill a ${input!.dtype} tensor`, String(value));
    }
    return { params: { pre, post, value }, outputs: [{ dtype: input!.dtype, shape }] };
  },
});
