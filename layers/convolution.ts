import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven, type WeightInput } from "./layer.js";
import { resolveWindow, windowOutputs, type WindowGeometry, type WindowParams } from "./window.js";

/** N-d convolution over NC(D)HW input: PyTorch's Conv1d/2d/3d, TensorRT's addConvolutionNd. */
export interface ConvolutionParams extends WindowParams {
  /** Output channels (PyTorch `out_channels`). */
  outChannels: number;
  /** Kernel extent per spatial dimension; a number means the same in every one. */
  kernel: number | readonly number[];
  /** Channel groups (PyTorch `groups`; depthwise when equal to the channels). Default 1. */
  groups?: number;
  /** Whether a bias is added (PyTorch `bias`). Default true. */
  bias?: boolean;
  /** Explicit weights; default: `<name>.weight` [out, in/groups, …kernel] and `<name>.bias` [out] by state_dict name. */
  weights?: { kernel?: WeightInput; bias?: WeightInput };
}

export interface ConvolutionResolved extends WindowGeometry {
  readonly outChannels: number;
  readonly groups: number;
  readonly bias: boolean;
}

export const convolution = defineLayer<"convolution", ConvolutionParams, ConvolutionResolved>({
  kind: "convolution",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 3 && r <= 5, "of rank 3 to 5 ([N, C, …spatial])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const spatial = input!.shape.length - 2;
    const channels = input!.shape[1]!;
    const outChannels = ctx.int("outChannels", p.outChannels);
    const groups = ctx.int("groups", p.groups ?? 1);
    if (channels < 0) ctx.fail("input", "a known channel count (dimension 1)", `shape ${formatShape(input!.shape)}`, "shape_mismatch");
    if (channels % groups !== 0 || outChannels % groups !== 0) {
      ctx.fail("groups", `a divisor of the input channels (${channels}) and outChannels (${outChannels})`, String(groups));
    }
    const g = resolveWindow(ctx, "kernel", p.kernel, p, spatial);
    const bias = p.bias ?? true;
    const params: ConvolutionResolved = { ...g, outChannels, groups, bias };
    const name = ctx.layer;
    return {
      params,
      outputs: [{ dtype: input!.dtype, shape: [input!.shape[0]!, outChannels, ...windowOutputs(ctx, input!, g)] }],
      weights: [
        { role: "kernel", input: p.weights?.kernel ?? `${name}.weight`, shape: [outChannels, channels / groups, ...g.kernel],
          because: `the input has ${channels} channels${groups > 1 ? ` in ${groups} groups` : ""}` },
        ...(bias ? [{ role: "bias", input: p.weights?.bias ?? `${name}.bias`, shape: [outChannels], because: `outChannels is ${outChannels}` }] : []),
      ],
    };
  },
});
