import { defineLayer, resolvedAsGiven } from "./layer.js";

/**
 * Local response normalisation across channels: PyTorch's LocalResponseNorm, TensorRT's addLRN:
 * b_c = a_c · (k + α/n · Σ a²)^(−β), the sum over the n channels centred on c.
 */
export interface LRNParams {
  /** Channels in the window (PyTorch `size`), odd in TensorRT. */
  window: number;
  /** Default 1e-4. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  k?: number;
}

export interface LRNResolved {
  readonly window: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
}

export const lrn = defineLayer<"lrn", LRNParams, LRNResolved>({
  kind: "lrn",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 3, "of rank ≥ 3 ([N, C, …spatial])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const window = ctx.int("window", p.window);
    if (window % 2 === 0 || window > 15) ctx.fail("window", "an odd integer from 1 to 15 (TensorRT's range)", String(window));
    return { params: { window, alpha: p.alpha ?? 1e-4, beta: p.beta ?? 0.75, k: p.k ?? 1 }, outputs: [input!] };
  },
});
