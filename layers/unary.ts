import type { DataType } from "../dsl/dtype.js";
import { defineLayer } from "./layer.js";

/** TensorRT's unary operations. `not` takes bool; `isinf`/`isnan` give bool. */
export type UnaryOp =
  | "exp" | "log" | "sqrt" | "recip" | "abs" | "neg" | "sin" | "cos" | "tan" | "sinh" | "cosh" | "asin" | "acos" | "atan"
  | "asinh" | "acosh" | "atanh" | "ceil" | "floor" | "erf" | "not" | "sign" | "round" | "isinf" | "isnan";
export const UNARY_OPS: readonly UnaryOp[] = ["exp", "log", "sqrt", "recip", "abs", "neg", "sin", "cos", "tan", "sinh", "cosh",
  "asin", "acos", "atan", "asinh", "acosh", "atanh", "ceil", "floor", "erf", "not", "sign", "round", "isinf", "isnan"];

export interface UnaryResolved {
  readonly op: UnaryOp;
}

export const unary = defineLayer<"unary", UnaryOp, UnaryResolved>({
  kind: "unary",
  fromResolved: (r) => r.op,
  infer(ctx, [input], op) {
    ctx.oneOf("op", op, UNARY_OPS);
    if (op === "not") ctx.dtype(input!, ["bool"]);
    else if (["abs", "neg", "sign"].includes(op)) ctx.dtype(input!, ["float32", "float16", "bfloat16", "int8", "int32", "int64"]);
    else ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const dtype: DataType = op === "isinf" || op === "isnan" ? "bool" : input!.dtype;
    return { params: { op }, outputs: [{ dtype, shape: input!.shape }] };
  },
});
