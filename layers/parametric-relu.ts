import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven, type WeightInput } from "./layer.js";

/** x if x ≥ 0 else slope·x, one slope per channel or one for all: PyTorch's PReLU, TensorRT's addParametricReLU. */
export interface ParametricReLUParams {
  /** Number of slopes: 1 or the channel count (PyTorch `num_parameters`). Default 1. */
  numParameters?: number;
  /** Default `<name>.weight` [numParameters]. */
  weights?: { slope?: WeightInput };
}

export interface ParametricReLUResolved {
  readonly numParameters: number;
}

export const parametricReLU = defineLayer<"parametricReLU", ParametricReLUParams, ParametricReLUResolved>({
  kind: "parametricReLU",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const numParameters = ctx.int("numParameters", p.numParameters ?? 1);
    const channels = input!.shape[1];
    if (numParameters !== 1 && numParameters !== channels) {
      ctx.fail("numParameters", `1 or the channel count of the input ${formatShape(input!.shape)}`, String(numParameters), "shape_mismatch");
    }
    return {
      params: { numParameters },
      outputs: [input!],
      weights: [{ role: "slope", input: p.weights?.slope ?? `${ctx.layer}.weight`, shape: [numParameters],
        because: numParameters === 1 ? "numParameters is 1" : `the input has ${numParameters} channels` }],
    };
  },
});
