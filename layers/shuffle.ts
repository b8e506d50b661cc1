import { formatShape, volume } from "../dsl/shape.js";
import { defineLayer } from "./layer.js";

/** Transpose → reshape → transpose: TensorRT's IShuffleLayer (PyTorch's permute / view / flatten). */
export interface ShuffleParams {
  /** Permutation applied first: output dim i = input dim firstTranspose[i]. Default identity. */
  firstTranspose?: readonly number[];
  /** New shape; `0` copies the dimension at that position, `-1` infers one dimension. Default: no reshape. */
  reshape?: readonly number[];
  /** Permutation applied last. Default identity. */
  secondTranspose?: readonly number[];
}

export interface ShuffleResolved {
  readonly firstTranspose: readonly number[];
  readonly reshape: readonly number[] | null;
  readonly secondTranspose: readonly number[];
}

function checkPermutation(fail: (e: string) => never, perm: readonly number[], rank: number): void {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((v, i) => v !== i)) fail(`a permutation of 0…${rank - 1}`);
}

export const shuffle = defineLayer<"shuffle", ShuffleParams, ShuffleResolved>({
  kind: "shuffle",
  fromResolved: ({ reshape, ...r }) => ({ ...r, ...(reshape ? { reshape } : {}) }),
  infer(ctx, [input], p) {
    const rank = input!.shape.length;
    const identity = (n: number) => Array.from({ length: n }, (_, i) => i);
    const first = p.firstTranspose ?? identity(rank);
    checkPermutation((e) => ctx.fail("firstTranspose", e, formatShape(first)), first, rank);
    let shape = first.map((i) => input!.shape[i]!);
    if (p.reshape) {
      const target = p.reshape;
      if (target.some((d) => !Number.isInteger(d) || d < -1)) ctx.fail("reshape", "integers ≥ -1", formatShape(target));
      if (target.filter((d) => d === -1).length > 1) ctx.fail("reshape", "at most one -1", formatShape(target));
      target.forEach((d, i) => { if (d === 0 && i >= rank) ctx.fail("reshape", `0 only at positions < ${rank} (it copies that input dimension)`, formatShape(target)); });
      const copied = target.map((d, i) => (d === 0 ? shape[i]! : d));
      const dynamicIn = shape.filter((d) => d < 0).length;
      const dynamicCopied = target.filter((d, i) => d === 0 && shape[i]! < 0).length;
      if (dynamicIn === dynamicCopied) {
        // Every run-time dimension is copied through with 0, so the static remainder is checkable now.
        const staticIn = volume(shape.filter((d) => d >= 0));
        const staticOut = volume(copied.filter((d) => d >= 0));
        const total = `${staticIn}${dynamicIn ? " (times the run-time dimensions)" : ""}`;
        if (copied.includes(-1) && target.includes(-1)) {
          if (staticOut === 0 || staticIn % staticOut !== 0) ctx.fail("reshape", `a shape whose element count divides ${total} (input ${formatShape(input!.shape)})`, formatShape(target), "shape_mismatch");
          shape = copied.map((d, i) => (target[i] === -1 ? staticIn / staticOut : d));
        } else {
          if (staticIn !== staticOut) ctx.fail("reshape", `a shape of ${total} elements like the input ${formatShape(input!.shape)}`, `${formatShape(target)} (${staticOut} elements)`, "shape_mismatch");
          shape = copied;
        }
      } else {
        shape = copied; // resolved at run time
      }
    }
    const second = p.secondTranspose ?? identity(shape.length);
    checkPermutation((e) => ctx.fail("secondTranspose", e, formatShape(second)), second, shape.length);
    shape = second.map((i) => shape[i]!);
    return {
      params: { firstTranspose: first, reshape: p.reshape ?? null, secondTranspose: second },
      outputs: [{ dtype: input!.dtype, shape }],
    };
  },
});
