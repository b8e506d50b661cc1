import { formatShape } from "../dsl/shape.js";
import { defineLayer, type WeightInput, type WeightRequest } from "./layer.js";

export type ScaleMode = "uniform" | "channel" | "elementwise";

/** out = (in · scale + shift) ^ power, per tensor, per channel or per element: TensorRT's addScaleNd. */
export interface ScaleParams {
  mode: ScaleMode;
  /**
   * The channel axis (TensorRT's): "channel" mode has a value per index of this axis, "elementwise" mode one per
   * element of the dimensions from this axis on. Default 1.
   */
  channelAxis?: number;
  /** Each may be omitted: shift defaults to 0, scale and power to 1. Names are looked up in the weight source. */
  shift?: WeightInput;
  scale?: WeightInput;
  power?: WeightInput;
}

export interface ScaleResolved {
  readonly mode: ScaleMode;
  readonly channelAxis: number;
}

export const scale = defineLayer<"scale", ScaleParams, ScaleResolved>({
  kind: "scale",
  fromResolved: (r, { weights }) => ({ ...r, shift: weights.shift?.name, scale: weights.scale?.name, power: weights.power?.name }),
  infer(ctx, [input], p) {
    const mode = ctx.oneOf("mode", p.mode, ["uniform", "channel", "elementwise"]);
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const rank = input!.shape.length;
    const channelAxis = ctx.axis("channelAxis", p.channelAxis ?? 1, rank);
    let shape: number[];
    if (mode === "uniform") shape = [1];
    else if (mode === "channel") shape = [input!.shape[channelAxis]!];
    else shape = input!.shape.slice(channelAxis);
    if (shape.some((d) => d < 0)) ctx.fail("input", `known dimensions for ${mode} mode`, `shape ${formatShape(input!.shape)}`, "shape_mismatch");
    const because = mode === "uniform" ? "mode is uniform" : mode === "channel" ? `the input has ${shape[0]} channels on axis ${channelAxis}`
      : `the input's dimensions from axis ${channelAxis} on are ${formatShape(shape)}`;
    const weights: WeightRequest[] = [];
    for (const role of ["shift", "scale", "power"] as const) {
      const given = p[role];
      if (given !== undefined) weights.push({ role, input: given, shape, because });
    }
    if (weights.length === 0) ctx.fail("shift/scale/power", "at least one of them", "none");
    return { params: { mode, channelAxis }, outputs: [input!], weights };
  },
});
