import { broadcastShapes, formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/** Element-wise choice: condition ? then : else, with broadcasting: TensorRT's addSelect, torch.where. */
export const select = defineLayer<"select", Record<string, never>, Record<string, never>>({
  kind: "select",
  fromResolved: resolvedAsGiven,
  infer(ctx, [condition, a, b]) {
    ctx.dtype(condition!, ["bool"], "condition");
    if (a!.dtype !== b!.dtype) ctx.fail("else", `of type ${a!.dtype} like then`, b!.dtype, "dtype_mismatch");
    const ab = broadcastShapes(a!.shape, b!.shape);
    const shape = (ab && broadcastShapes(condition!.shape, ab)) ?? ctx.fail("inputs", "shapes that broadcast", `${formatShape(condition!.shape)}, ${formatShape(a!.shape)}, ${formatShape(b!.shape)}`, "shape_mismatch");
    return { params: {}, outputs: [{ dtype: a!.dtype, shape }] };
  },
});
