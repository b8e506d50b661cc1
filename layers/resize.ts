import { formatShape } from "../dsl/shape.js";
import { defineLayer } from "./layer.js";

export type ResizeMode = "nearest" | "linear" | "cubic";
export type CoordinateTransformation = "asymmetric" | "align_corners" | "half_pixel";
export type NearestRounding = "floor" | "ceil" | "round_prefer_floor" | "round_prefer_ceil";

/**
 * Resampling of the trailing dimensions: TensorRT's IResizeLayer, PyTorch's interpolate / Upsample.
 * Give exactly one of `scales` or `outputShape` (one entry per input dimension; batch and channels usually 1/same).
 */
export interface ResizeParams {
  /** Default "nearest". "linear" interpolates over every resized dimension (bilinear, trilinear). */
  mode?: ResizeMode;
  /** Output extent = floor(input extent × scale), per dimension. */
  scales?: readonly number[];
  /** Output shape; -1 keeps that input dimension. */
  outputShape?: readonly number[];
  /**
   * How output coordinates map to input ones. Default: "asymmetric" for nearest (PyTorch's nearest),
   * "half_pixel" for linear/cubic (PyTorch's align_corners=False); PyTorch's align_corners=True is "align_corners".
   */
  coordinateTransformation?: CoordinateTransformation;
  /** Nearest mode's rounding of the mapped coordinate. Default "floor" (PyTorch's nearest). */
  nearestRounding?: NearestRounding;
  /** Cubic mode's coefficient. Default -0.75 (PyTorch's bicubic). */
  cubicCoefficient?: number;
}

export interface ResizeResolved {
  readonly mode: ResizeMode;
  readonly scales: readonly number[] | null;
  readonly outputShape: readonly number[] | null;
  readonly coordinateTransformation: CoordinateTransformation;
  readonly nearestRounding: NearestRounding;
  readonly cubicCoefficient: number;
}

export const resize = defineLayer<"resize", ResizeParams, ResizeResolved>({
  kind: "resize",
  fromResolved: ({ scales, outputShape, ...r }) => ({ ...r, ...(scales ? { scales } : {}), ...(outputShape ? { outputShape } : {}) }),
  infer(ctx, [input], p) {
    const mode = ctx.oneOf("mode", p.mode ?? "nearest", ["nearest", "linear", "cubic"]);
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const rank = input!.shape.length;
    if ((p.scales === undefined) === (p.outputShape === undefined)) ctx.fail("scales/outputShape", "exactly one of them", p.scales ? "both" : "neither");
    let shape: number[];
    if (p.scales) {
      if (p.scales.length !== rank || p.scales.some((s) => !(s > 0))) ctx.fail("scales", `${rank} positive numbers (one per input dimension)`, formatShape(p.scales));
      shape = input!.shape.map((d, i) => (d < 0 ? -1 : Math.floor(d * p.scales![i]!)));
      if (shape.some((d) => d === 0)) ctx.fail("scales", "scales that leave every dimension non-empty", formatShape(p.scales));
    } else {
      const target = p.outputShape!;
      if (target.length !== rank || target.some((d) => !Number.isInteger(d) || d === 0 || d < -1)) ctx.fail("outputShape", `${rank} positive integers or -1`, formatShape(target));
      shape = target.map((d, i) => (d === -1 ? input!.shape[i]! : d));
    }
    if (mode !== "nearest" && rank < 3) ctx.fail("input", `of rank ≥ 3 for ${mode} mode`, formatShape(input!.shape), "shape_mismatch");
    const coordinateTransformation = ctx.oneOf("coordinateTransformation",
      p.coordinateTransformation ?? (mode === "nearest" ? "asymmetric" : "half_pixel"), ["asymmetric", "align_corners", "half_pixel"]);
    return {
      params: {
        mode, scales: p.scales ?? null, outputShape: p.outputShape ?? null, coordinateTransformation,
        nearestRounding: ctx.oneOf("nearestRounding", p.nearestRounding ?? "floor", ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"]),
        cubicCoefficient: p.cubicCoefficient ?? -0.75,
      },
      outputs: [{ dtype: input!.dtype, shape }],
    };
  },
});
