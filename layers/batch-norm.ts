import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven, type WeightInput } from "./layer.js";

/**
 * Inference-mode BatchNorm over channel axis 1: PyTorch's BatchNorm1d/2d/3d in eval(). Backends fold it into a
 * per-channel scale (scale = γ/√(var+ε), shift = β − mean·scale), or into the preceding convolution.
 */
export interface BatchNormParams {
  /** Default 1e-5 (PyTorch's). */
  epsilon?: number;
  /** Default `<name>.weight`, `.bias`, `.running_mean`, `.running_var`, each [C]. */
  weights?: { weight?: WeightInput; bias?: WeightInput; mean?: WeightInput; variance?: WeightInput };
}

export interface BatchNormResolved {
  readonly epsilon: number;
}

export const batchNorm = defineLayer<"batchNorm", BatchNormParams, BatchNormResolved>({
  kind: "batchNorm",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 2, "of rank ≥ 2 ([N, C, …])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const channels = input!.shape[1]!;
    if (channels < 0) ctx.fail("input", "a known channel count", formatShape(input!.shape), "shape_mismatch");
    const epsilon = p.epsilon ?? 1e-5;
    if (!(epsilon > 0)) ctx.fail("epsilon", "a positive number", String(epsilon));
    const because = `the input has ${channels} channels`;
    const w = p.weights ?? {};
    return {
      params: { epsilon },
      outputs: [input!],
      weights: [
        { role: "weight", input: w.weight ?? `${ctx.layer}.weight`, shape: [channels], because },
        { role: "bias", input: w.bias ?? `${ctx.layer}.bias`, shape: [channels], because },
        { role: "mean", input: w.mean ?? `${ctx.layer}.running_mean`, shape: [channels], because },
        { role: "variance", input: w.variance ?? `${ctx.layer}.running_var`, shape: [channels], because },
      ],
    };
  },
});
