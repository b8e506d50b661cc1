import { broadcastShapes, formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven } from "./layer.js";

/** How an operand is read: as is, transposed (last two dims swapped), or as a vector (its last dim). */
export type MatrixOperation = "none" | "transpose" | "vector";

/** Batched matrix product with broadcast batch dimensions: TensorRT's addMatrixMultiply, PyTorch's matmul. */
export interface MatrixMultiplyParams {
  /** Default "none". */
  opA?: MatrixOperation;
  /** Default "none". */
  opB?: MatrixOperation;
}

export interface MatrixMultiplyResolved {
  readonly opA: MatrixOperation;
  readonly opB: MatrixOperation;
}

export const matrixMultiply = defineLayer<"matrixMultiply", MatrixMultiplyParams, MatrixMultiplyResolved>({
  kind: "matrixMultiply",
  fromResolved: resolvedAsGiven,
  infer(ctx, [a, b], p) {
    const ops: MatrixOperation[] = ["none", "transpose", "vector"];
    const opA = ctx.oneOf("opA", p.opA ?? "none", ops);
    const opB = ctx.oneOf("opB", p.opB ?? "none", ops);
    ctx.dtype(a!, ["float32", "float16", "bfloat16"]);
    if (a!.dtype !== b!.dtype) ctx.fail("input 1", `of type ${a!.dtype} like input 0`, b!.dtype, "dtype_mismatch");
    ctx.rank(a!, (r) => r >= (opA === "vector" ? 1 : 2), opA === "vector" ? "of rank ≥ 1" : "of rank ≥ 2", "input 0");
    ctx.rank(b!, (r) => r >= (opB === "vector" ? 1 : 2), opB === "vector" ? "of rank ≥ 1" : "of rank ≥ 2", "input 1");
    const matA = opA === "vector" ? 1 : 2;
    const matB = opB === "vector" ? 1 : 2;
    const sa = a!.shape, sb = b!.shape;
    const [m, ka] = opA === "vector" ? [null, sa.at(-1)!] : opA === "transpose" ? [sa.at(-1)!, sa.at(-2)!] : [sa.at(-2)!, sa.at(-1)!];
    const [kb, n] = opB === "vector" ? [sb.at(-1)!, null] : opB === "transpose" ? [sb.at(-1)!, sb.at(-2)!] : [sb.at(-2)!, sb.at(-1)!];
    if (ka >= 0 && kb >= 0 && ka !== kb) {
      ctx.fail("inputs", `equal inner dimensions (opA ${opA}, opB ${opB})`, `${formatShape(sa)} × ${formatShape(sb)}: ${ka} vs ${kb}`, "shape_mismatch");
    }
    const batchA = sa.slice(0, sa.length - matA), batchB = sb.slice(0, sb.length - matB);
    if (batchA.length !== batchB.length) {
      ctx.fail("inputs", "the same number of batch dimensions (TensorRT broadcasts only equal ranks)", `${formatShape(sa)} and ${formatShape(sb)}`, "shape_mismatch");
    }
    const batch = broadcastShapes(batchA, batchB) ??
      ctx.fail("inputs", "batch dimensions that broadcast", `${formatShape(batchA)} and ${formatShape(batchB)}`, "shape_mismatch");
    const shape = [...batch, ...(m === null ? [] : [m]), ...(n === null ? [] : [n])];
    return { params: { opA, opB }, outputs: [{ dtype: a!.dtype, shape }] };
  },
});
