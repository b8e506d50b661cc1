import { DATA_TYPES, type DataType } from "../dsl/dtype.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/** Conversion to another element type: TensorRT's addCast, PyTorch's `.to(dtype)`. */
export interface CastParams {
  to: DataType;
}

export interface CastResolved {
  readonly to: DataType;
}

export const cast = defineLayer<"cast", CastParams, CastResolved>({
  kind: "cast",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const to = ctx.oneOf("to", p.to, DATA_TYPES);
    return { params: { to }, outputs: [{ dtype: to, shape: input!.shape }] };
  },
});
