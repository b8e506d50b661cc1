import { formatShape, volume } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven, type WeightInput } from "./layer.js";

/**
 * Dense layer over [N, …] input flattened to [N, K]: PyTorch's Linear after `view(N, -1)`. TensorRT 10 removed
 * addFullyConnected; backends lower it to a constant, a matrix multiply and a bias add.
 */
export interface FullyConnectedParams {
  /** Output features (PyTorch `out_features`). */
  outFeatures: number;
  /** Whether a bias is added. Default true. */
  bias?: boolean;
  /** Explicit weights; default `<name>.weight` [out, K] and `<name>.bias` [out]. */
  weights?: { kernel?: WeightInput; bias?: WeightInput };
}

export interface FullyConnectedResolved {
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly bias: boolean;
}

export const fullyConnected = defineLayer<"fullyConnected", FullyConnectedParams, FullyConnectedResolved>({
  kind: "fullyConnected",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 2, "of rank ≥ 2 ([N, …features])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const features = input!.shape.slice(1);
    if (features.some((d) => d < 0)) ctx.fail("input", "known feature dimensions (all but the first)", `shape ${formatShape(input!.shape)}`, "shape_mismatch");
    const inFeatures = volume(features);
    const outFeatures = ctx.int("outFeatures", p.outFeatures);
    const bias = p.bias ?? true;
    return {
      params: { outFeatures, inFeatures, bias },
      outputs: [{ dtype: input!.dtype, shape: [input!.shape[0]!, outFeatures] }],
      weights: [
        { role: "kernel", input: p.weights?.kernel ?? `${ctx.layer}.weight`, shape: [outFeatures, inFeatures],
          because: `the input ${formatShape(input!.shape)} flattens to ${inFeatures} features` },
        ...(bias ? [{ role: "bias", input: p.weights?.bias ?? `${ctx.layer}.bias`, shape: [outFeatures], because: `outFeatures is ${outFeatures}` }] : []),
      ],
    };
  },
});
