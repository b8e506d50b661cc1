import type { DataType } from "../dsl/dtype.js";
import { broadcastShapes, formatShape } from "../dsl/shape.js";
import { defineLayer } from "./layer.js";

/** TensorRT's 14 element-wise operations. */
export type ElementWiseOp =
  | "sum" | "prod" | "max" | "min" | "sub" | "div" | "pow" | "floor_div" | "and" | "or" | "xor" | "equal" | "greater" | "less";
export const ELEMENT_WISE_OPS: readonly ElementWiseOp[] =
  ["sum", "prod", "max", "min", "sub", "div", "pow", "floor_div", "and", "or", "xor", "equal", "greater", "less"];
const LOGICAL: readonly ElementWiseOp[] = ["and", "or", "xor"];
const COMPARISON: readonly ElementWiseOp[] = ["equal", "greater", "less"];

export interface ElementWiseResolved {
  readonly op: ElementWiseOp;
}

/**
 * Two inputs combined element by element, with numpy/PyTorch broadcasting (ranks may differ; backends that need
 * equal ranks, as TensorRT does, insert reshapes). Logical ops take bool; comparisons give bool.
 */
export const elementWise = defineLayer<"elementWise", ElementWiseOp, ElementWiseResolved>({
  kind: "elementWise",
  fromResolved: (r) => r.op,
  infer(ctx, [a, b], op) {
    ctx.oneOf("op", op, ELEMENT_WISE_OPS);
    if (a!.dtype !== b!.dtype) ctx.fail("input 1", `of the same type as input 0 (${a!.dtype})`, b!.dtype, "dtype_mismatch");
    if (LOGICAL.includes(op)) ctx.dtype(a!, ["bool"]);
    else if (a!.dtype === "bool") ctx.fail("input", "numeric for this op", "bool", "dtype_mismatch");
    const shape = broadcastShapes(a!.shape, b!.shape) ??
      ctx.fail("inputs", "shapes that broadcast (each dimension equal or 1, aligned from the right)",
        `${formatShape(a!.shape)} and ${formatShape(b!.shape)}`, "shape_mismatch");
    const dtype: DataType = COMPARISON.includes(op) ? "bool" : a!.dtype;
    return { params: { op }, outputs: [{ dtype, shape }] };
  },
});
