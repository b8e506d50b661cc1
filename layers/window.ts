import { formatShape } from "../dsl/shape.js";
import type { LayerContext, TensorDesc } from "./layer.js";

/** How a sliding window (convolution, deconvolution, pooling) pads: TensorRT's PaddingMode. */
export type PaddingMode = "explicit_round_down" | "explicit_round_up" | "same_upper" | "same_lower";
export const PADDING_MODES: readonly PaddingMode[] = ["explicit_round_down", "explicit_round_up", "same_upper", "same_lower"];

/** The window arguments shared by convolution, deconvolution and pooling. */
export interface WindowParams {
  /** Step between windows per spatial dimension. */
  stride?: number | readonly number[];
  /** Symmetric zero padding per spatial dimension (PyTorch's `padding`). Default 0. */
  padding?: number | readonly number[];
  /** Padding before each spatial dimension; overrides `padding` there (TensorRT's setPrePadding). */
  prePadding?: readonly number[];
  /** Padding after each spatial dimension; overrides `padding` there (TensorRT's setPostPadding). */
  postPadding?: readonly number[];
  /**
   * TensorRT's PaddingMode, with TensorRT's meaning. Default "explicit_round_down" (floor, PyTorch's default).
   * "explicit_round_up": O = ceil((I + pre + post − D·(K−1) − 1) / S) + 1, every window kept — not PyTorch's
   * `ceil_mode=True`, which drops a last window starting in the trailing padding (that is `ceilMode`).
   * "same_upper"/"same_lower" give ceil(I/S) outputs and ignore explicit padding, the odd pad after/before.
   */
  paddingMode?: PaddingMode;
  /**
   * PyTorch's `ceil_mode=True` (convolution and pooling): outputs rounded up, but a last window that would start in
   * the trailing padding dropped. With the explicit modes only. Default false.
   */
  ceilMode?: boolean;
  /** Spacing of kernel taps per spatial dimension. Default 1. */
  dilation?: number | readonly number[];
}

/** Every window argument resolved to one value per spatial dimension. */
export interface WindowGeometry {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly prePadding: readonly number[];
  readonly postPadding: readonly number[];
  readonly paddingMode: PaddingMode;
  readonly ceilMode: boolean;
}

export function resolveWindow(ctx: LayerContext, kernelArgument: string, kernel: number | readonly number[], p: WindowParams,
  spatial: number, defaultStride: readonly number[] | number = 1): WindowGeometry {
  const k = ctx.ints(kernelArgument, kernel, spatial, 1);
  const padding = ctx.ints("padding", p.padding ?? 0, spatial, 0);
  const window: WindowGeometry = {
    kernel: k,
    stride: ctx.ints("stride", p.stride ?? defaultStride, spatial, 1),
    dilation: ctx.ints("dilation", p.dilation ?? 1, spatial, 1),
    prePadding: p.prePadding ? ctx.ints("prePadding", p.prePadding, spatial, 0) : padding,
    postPadding: p.postPadding ? ctx.ints("postPadding", p.postPadding, spatial, 0) : padding,
    paddingMode: ctx.oneOf("paddingMode", p.paddingMode ?? "explicit_round_down", PADDING_MODES),
    ceilMode: p.ceilMode ?? false,
  };
  if (typeof window.ceilMode !== "boolean") ctx.fail("ceilMode", "true or false", String(p.ceilMode));
  if (window.ceilMode && window.paddingMode !== "explicit_round_down") ctx.fail("ceilMode", `no paddingMode beside it (it rounds up itself)`, `paddingMode "${window.paddingMode}"`);
  return window;
}

/**
 * Output extent of spatial dimension i. SAME modes: ceil(I/S). Explicit modes: (I + pre + post − D·(K−1) − 1)/S + 1,
 * floored or ceiled (TensorRT's rules); ceilMode ceils with PyTorch's rule that the last window must start inside the
 * input or its leading padding.
 */
export function windowOutput(size: number, g: WindowGeometry, i: number): number {
  if (size < 0) return -1;
  const s = g.stride[i]!;
  const k = g.dilation[i]! * (g.kernel[i]! - 1) + 1;
  if (g.paddingMode === "same_upper" || g.paddingMode === "same_lower") return Math.ceil(size / s);
  const span = size + g.prePadding[i]! + g.postPadding[i]! - k;
  if (span < 0) return 0;
  if (g.paddingMode === "explicit_round_up") return Math.ceil(span / s) + 1;
  if (!g.ceilMode) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= size + g.prePadding[i]!) out--;
  return out;
}

/** Pre/post padding a SAME mode implies for a known extent (same_upper puts the odd one after, as TensorRT). */
export function samePadding(size: number, g: WindowGeometry, i: number): [number, number] {
  const out = Math.ceil(size / g.stride[i]!);
  const k = g.dilation[i]! * (g.kernel[i]! - 1) + 1;
  const total = Math.max(0, (out - 1) * g.stride[i]! + k - size);
  const small = Math.floor(total / 2);
  return g.paddingMode === "same_upper" ? [small, total - small] : [total - small, small];
}

/** Output spatial extents, failing when a window does not fit (output extent 0). */
export function windowOutputs(ctx: LayerContext, input: TensorDesc, g: WindowGeometry): number[] {
  const spatial = input.shape.slice(2);
  const out = spatial.map((size, i) => windowOutput(size, g, i));
  if (out.some((d) => d === 0)) {
    ctx.fail("input", `spatial extents that fit the window ${formatShape(g.kernel)} (dilation ${formatShape(g.dilation)}, padding ${formatShape(g.prePadding)}+${formatShape(g.postPadding)})`,
      `shape ${formatShape(input.shape)}, which gives an empty output`, "shape_mismatch");
  }
  return out;
}
