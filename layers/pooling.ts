import { defineLayer } from "./layer.js";
import { resolveWindow, windowOutputs, type WindowGeometry, type WindowParams } from "./window.js";

export type PoolingType = "max" | "average" | "max_average_blend";

/** Max/average pooling over NC(D)HW: PyTorch's MaxPool/AvgPool, TensorRT's addPoolingNd. */
export interface PoolingParams extends Omit<WindowParams, "dilation"> {
  type: PoolingType;
  /** Window extent per spatial dimension. */
  window: number | readonly number[];
  /** Default: the window (PyTorch's default; TensorRT's is 1, the lowering always sets it). */
  stride?: number | readonly number[];
  /**
   * Average pooling: whether padded cells count in the divisor (PyTorch `count_include_pad`). Default true,
   * as PyTorch; TensorRT's `averageCountExcludesPadding` is its negation.
   */
  countIncludePad?: boolean;
  /** max_average_blend, TensorRT's meaning: output = (1 − blendFactor)·max + blendFactor·average. Default 0 (max). */
  blendFactor?: number;
}

export interface PoolingResolved extends WindowGeometry {
  readonly type: PoolingType;
  readonly countIncludePad: boolean;
  readonly blendFactor: number;
}

export const pooling = defineLayer<"pooling", PoolingParams, PoolingResolved>({
  kind: "pooling",
  fromResolved: ({ kernel, dilation: _, ...r }) => ({ ...r, window: kernel }),
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 3 && r <= 5, "of rank 3 to 5 ([N, C, …spatial])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const type = ctx.oneOf("type", p.type, ["max", "average", "max_average_blend"]);
    const spatial = input!.shape.length - 2;
    const window = ctx.ints("window", p.window, spatial, 1);
    const g = resolveWindow(ctx, "window", window, p, spatial, window);
    g.prePadding.forEach((pad, i) => {
      if (pad * 2 > window[i]!) ctx.fail("padding", `at most half the window (${window[i]}) as PyTorch requires`, String(pad));
    });
    const blendFactor = p.blendFactor ?? 0;
    if (!(blendFactor >= 0 && blendFactor <= 1)) ctx.fail("blendFactor", "a number in [0, 1]", String(blendFactor));
    return {
      params: { ...g, type, countIncludePad: p.countIncludePad ?? true, blendFactor },
      outputs: [{ dtype: input!.dtype, shape: [input!.shape[0]!, input!.shape[1]!, ...windowOutputs(ctx, input!, g)] }],
    };
  },
});
