import { formatShape, volume } from "../dsl/shape.js";
import { FROM_INPUT, resolveSizes, sizeSpecs, type SizeSpec } from "./dims.js";
import { defineLayer } from "./layer.js";

/** Transpose → reshape → transpose: TensorRT's IShuffleLayer (PyTorch's permute / view / flatten). */
export interface ShuffleParams {
  /** Permutation applied first: output dim i = input dim firstTranspose[i]. Default identity. */
  firstTranspose?: readonly number[];
  /**
   * New shape; `0` copies the dimension at that position, `-1` infers one dimension, and an input's dimension
   * (`x.dim(0)` in the DSL, an extra input of the layer) takes that size at run time. Default: no reshape.
   */
  reshape?: readonly SizeSpec[];
  /** Permutation applied last. Default identity. */
  secondTranspose?: readonly number[];
}

export interface ShuffleResolved {
  readonly firstTranspose: readonly number[];
  /** As given, an input's dynamic dimension as FROM_INPUT (-2), its (input, axis) pair in `dimsFrom`. */
  readonly reshape: readonly number[] | null;
  readonly dimsFrom: readonly number[] | null;
  readonly secondTranspose: readonly number[];
}

function checkPermutation(fail: (e: string) => never, perm: readonly number[], rank: number): void {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((v, i) => v !== i)) fail(`a permutation of 0…${rank - 1}`);
}

export const shuffle = defineLayer<"shuffle", ShuffleParams, ShuffleResolved>({
  kind: "shuffle",
  fromResolved: ({ reshape, dimsFrom, ...r }) => ({ ...r, ...(reshape ? { reshape: sizeSpecs(reshape, dimsFrom) } : {}) }),
  infer(ctx, inputs, p) {
    const input = inputs[0]!, rank = input.shape.length;
    const identity = (n: number) => Array.from({ length: n }, (_, i) => i);
    const first = p.firstTranspose ?? identity(rank);
    checkPermutation((e) => ctx.fail("firstTranspose", e, formatShape(first)), first, rank);
    let shape = first.map((i) => input.shape[i]!);
    let reshape: number[] | null = null, dimsFrom: number[] | null = null;
    if (p.reshape) {
      const resolved = resolveSizes(ctx, "reshape", p.reshape, inputs);
      ({ sizes: reshape, dimsFrom } = resolved);
      const target = resolved.sizes;
      if (target.filter((d) => d === -1).length > 1) ctx.fail("reshape", "at most one -1", formatShape(target));
      target.forEach((d, i) => { if (d === 0 && i >= rank) ctx.fail("reshape", `0 only at positions < ${rank} (it copies that input dimension)`, formatShape(target)); });
      const copied = target.map((d, i) => (d === 0 ? shape[i]! : d === FROM_INPUT ? resolved.known[i]! : d));
      const dynamicIn = shape.filter((d) => d < 0).length;
      const dynamicCopied = target.filter((d, i) => d === 0 && shape[i]! < 0).length;
      if (dynamicIn === dynamicCopied && !target.includes(FROM_INPUT)) {
        // Every run-time dimension is copied through with 0, so the static remainder is checkable now.
        const staticIn = volume(shape.filter((d) => d >= 0));
        const staticOut = volume(copied.filter((d) => d >= 0));
        const total = `${staticIn}${dynamicIn ? " (times the run-time dimensions)" : ""}`;
        if (target.includes(-1)) {
          if (staticOut === 0 || staticIn % staticOut !== 0) ctx.fail("reshape", `a shape whose element count divides ${total} (input ${formatShape(input.shape)})`, formatShape(target), "shape_mismatch");
          shape = copied.map((d, i) => (target[i] === -1 ? staticIn / staticOut : d));
        } else {
          if (staticIn !== staticOut) ctx.fail("reshape", `a shape of ${total} elements like the input ${formatShape(input.shape)}`, `${formatShape(target)} (${staticOut} elements)`, "shape_mismatch");
          shape = copied;
        }
      } else {
        shape = copied; // resolved at run time
      }
    } else if (inputs.length > 1) {
      ctx.fail("inputs", "one input where no reshape takes other tensors' dimensions", `${inputs.length} inputs`);
    }
    const second = p.secondTranspose ?? identity(shape.length);
    checkPermutation((e) => ctx.fail("secondTranspose", e, formatShape(second)), second, shape.length);
    shape = second.map((i) => shape[i]!);
    return {
      params: { firstTranspose: first, reshape, dimsFrom, secondTranspose: second },
      outputs: [{ dtype: input.dtype, shape }],
    };
  },
});
