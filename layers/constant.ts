import type { DataType } from "../dsl/dtype.js";
import { defineLayer, type WeightInput } from "./layer.js";

/** A tensor whose values are weights: TensorRT's addConstant. */
export interface ConstantParams {
  shape: readonly number[];
  /** The values: a name in the weight source, or the values themselves. */
  weights: WeightInput;
  /** Element type of the tensor. Default "float32". */
  dtype?: "float32" | "int32" | "int64";
}

export interface ConstantResolved {
  readonly shape: readonly number[];
}

export const constant = defineLayer<"constant", ConstantParams, ConstantResolved>({
  kind: "constant",
  fromResolved: (r, { weights, outputs }) => ({ ...r, weights: weights.values?.name ?? "", dtype: outputs[0]?.dtype as ConstantParams["dtype"] }),
  infer(ctx, _inputs, p) {
    const shape = ctx.ints("shape", p.shape, p.shape.length, 1);
    const dtype: DataType = ctx.oneOf("dtype", p.dtype ?? "float32", ["float32", "int32", "int64"]);
    return {
      params: { shape },
      outputs: [{ dtype, shape }],
      weights: [{ role: "values", input: p.weights, shape, because: "that is the constant's shape" }],
    };
  },
});
