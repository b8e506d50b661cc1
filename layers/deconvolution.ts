import { formatShape } from "../dsl/shape.js";
import { defineLayer, resolvedAsGiven, type WeightInput } from "./layer.js";
import { resolveWindow, type WindowGeometry, type WindowParams } from "./window.js";

/** N-d transposed convolution: PyTorch's ConvTranspose1d/2d/3d, TensorRT's addDeconvolutionNd. */
export interface DeconvolutionParams extends Omit<WindowParams, "paddingMode"> {
  /** Output channels (PyTorch `out_channels`). */
  outChannels: number;
  /** Kernel extent per spatial dimension. */
  kernel: number | readonly number[];
  /** Extra size added after each spatial dimension (PyTorch `output_padding`, < stride or dilation). Default 0. */
  outputPadding?: number | readonly number[];
  /** Channel groups. Default 1. */
  groups?: number;
  /** Whether a bias is added. Default true. */
  bias?: boolean;
  /** Explicit weights; default `<name>.weight` [in, out/groups, …kernel] and `<name>.bias` [out]. */
  weights?: { kernel?: WeightInput; bias?: WeightInput };
}

export interface DeconvolutionResolved extends WindowGeometry {
  readonly outChannels: number;
  readonly groups: number;
  readonly bias: boolean;
  readonly outputPadding: readonly number[];
}

export const deconvolution = defineLayer<"deconvolution", DeconvolutionParams, DeconvolutionResolved>({
  kind: "deconvolution",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    ctx.rank(input!, (r) => r >= 3 && r <= 5, "of rank 3 to 5 ([N, C, …spatial])");
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const spatial = input!.shape.length - 2;
    const channels = input!.shape[1]!;
    if (channels < 0) ctx.fail("input", "a known channel count (dimension 1)", `shape ${formatShape(input!.shape)}`, "shape_mismatch");
    const outChannels = ctx.int("outChannels", p.outChannels);
    const groups = ctx.int("groups", p.groups ?? 1);
    if (channels % groups !== 0 || outChannels % groups !== 0) {
      ctx.fail("groups", `a divisor of the input channels (${channels}) and outChannels (${outChannels})`, String(groups));
    }
    const g = resolveWindow(ctx, "kernel", p.kernel, p, spatial);
    if (g.ceilMode) ctx.fail("ceilMode", "false: a transposed convolution has no ceil mode (its output size is exact)", "true");
    const outputPadding = ctx.ints("outputPadding", p.outputPadding ?? 0, spatial, 0);
    outputPadding.forEach((op, i) => {
      if (op >= Math.max(g.stride[i]!, g.dilation[i]!)) ctx.fail("outputPadding", `smaller than stride or dilation in every dimension`, formatShape(outputPadding));
    });
    const out = input!.shape.slice(2).map((size, i) => size < 0 ? -1
      : (size - 1) * g.stride[i]! - g.prePadding[i]! - g.postPadding[i]! + g.dilation[i]! * (g.kernel[i]! - 1) + 1 + outputPadding[i]!);
    if (out.some((d) => d === 0 || d < -1)) ctx.fail("padding", "smaller than the output it crops", formatShape([...g.prePadding, ...g.postPadding]));
    const bias = p.bias ?? true;
    return {
      params: { ...g, outChannels, groups, bias, outputPadding },
      outputs: [{ dtype: input!.dtype, shape: [input!.shape[0]!, outChannels, ...out] }],
      weights: [
        { role: "kernel", input: p.weights?.kernel ?? `${ctx.layer}.weight`, shape: [channels, outChannels / groups, ...g.kernel],
          because: `the input has ${channels} channels and outChannels is ${outChannels}${groups > 1 ? ` in ${groups} groups` : ""}` },
        ...(bias ? [{ role: "bias", input: p.weights?.bias ?? `${ctx.layer}.bias`, shape: [outChannels], because: `outChannels is ${outChannels}` }] : []),
      ],
    };
  },
});
