import { formatShape } from "../dsl/shape.js";
import { defineLayer, type WeightInput } from "./layer.js";

export type NormalizationType = "layer" | "instance" | "group";

/**
 * (x − mean) / √(var + ε) · scale + bias: TensorRT's addNormalization, covering PyTorch's
 * LayerNorm (the trailing `normalizedShape` dims), InstanceNorm (each channel's spatial dims) and
 * GroupNorm (`groups` channel groups with their spatial dims).
 */
export interface NormalizationParams {
  type: NormalizationType;
  /** Layer norm: the trailing dims normalised (PyTorch `normalized_shape`). Default: the last dim. */
  normalizedShape?: readonly number[];
  /** Group norm: channel groups (PyTorch `num_groups`). */
  groups?: number;
  /** Default 1e-5 (PyTorch's). */
  epsilon?: number;
  /** Whether scale and bias apply (PyTorch `elementwise_affine`/`affine`). Default true. */
  affine?: boolean;
  /** Default `<name>.weight` and `<name>.bias`: `normalizedShape` for layer norm, [C] for instance/group norm. */
  weights?: { scale?: WeightInput; bias?: WeightInput };
}

export interface NormalizationResolved {
  readonly type: NormalizationType;
  /** Axes reduced over for mean and variance (group norm: after splitting channels into groups). */
  readonly axes: readonly number[];
  readonly groups: number;
  readonly epsilon: number;
  readonly affine: boolean;
}

export const normalization = defineLayer<"normalization", NormalizationParams, NormalizationResolved>({
  kind: "normalization",
  fromResolved: ({ axes, ...r }, { inputs, weights }) => ({
    ...r,
    ...(r.type === "layer" ? { normalizedShape: axes.map((a) => inputs[0]?.shape[a] ?? NaN) } : {}),
    ...(r.affine ? { weights: { scale: weights.scale?.name, bias: weights.bias?.name } } : {}),
  }),
  infer(ctx, [input], p) {
    const type = ctx.oneOf("type", p.type, ["layer", "instance", "group"]);
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const shape = input!.shape;
    const rank = shape.length;
    const epsilon = p.epsilon ?? 1e-5;
    if (!(epsilon > 0)) ctx.fail("epsilon", "a positive number", String(epsilon));
    let axes: number[];
    let paramShape: number[];
    let groups = 1;
    let because: string;
    if (type === "layer") {
      const normalized = p.normalizedShape ?? [shape[rank - 1]!];
      const tail = shape.slice(rank - normalized.length);
      if (normalized.length > rank || tail.some((d, i) => d !== normalized[i])) {
        ctx.fail("normalizedShape", `the trailing dimensions of the input ${formatShape(shape)}`, formatShape(normalized), "shape_mismatch");
      }
      axes = normalized.map((_, i) => rank - normalized.length + i);
      paramShape = [...normalized];
      because = `normalizedShape is ${formatShape(normalized)}`;
    } else {
      ctx.rank(input!, (r) => r >= 3, "of rank ≥ 3 ([N, C, …spatial])");
      const channels = shape[1]!;
      if (channels < 0) ctx.fail("input", "a known channel count", formatShape(shape), "shape_mismatch");
      groups = type === "group" ? ctx.int("groups", p.groups ?? NaN) : channels;
      if (channels % groups !== 0) ctx.fail("groups", `a divisor of the ${channels} input channels`, String(groups));
      axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
      paramShape = [channels];
      because = `the input has ${channels} channels`;
    }
    const affine = p.affine ?? true;
    return {
      params: { type, axes, groups, epsilon, affine },
      outputs: [input!],
      weights: affine ? [
        { role: "scale", input: p.weights?.scale ?? `${ctx.layer}.weight`, shape: paramShape, because },
        { role: "bias", input: p.weights?.bias ?? `${ctx.layer}.bias`, shape: paramShape, because },
      ] : [],
    };
  },
});
