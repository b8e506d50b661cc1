import type { LayerContext, TensorDesc } from "./layer.js";

/**
 * A size known only at run time: dimension `axis` of the layer's input `input` (PyTorch's `x.shape[axis]`). The DSL
 * gives it as `tensor.dim(axis)` and files the tensor among the layer's inputs.
 */
export interface InputDim {
  readonly input: number;
  readonly axis: number;
}

/** A size given as a number, or another input's dimension. */
export type SizeSpec = number | InputDim;

/** The resolved size of an entry taken from `dimsFrom`: sizes lists hold it where an input's dimension goes. */
export const FROM_INPUT = -2;

/**
 * Sizes where some are inputs' dimensions: a static one becomes its number; a dynamic one becomes FROM_INPUT in
 * `sizes`, its (input, axis) pair appended to `dimsFrom` (null where there is none), resolved by the kernels at run
 * time. `known` gives each entry as inferred now (-1 where dynamic).
 */
export function resolveSizes(ctx: LayerContext, argument: string, specs: readonly SizeSpec[], inputs: readonly TensorDesc[]): { sizes: number[]; dimsFrom: number[] | null; known: number[] } {
  const sizes: number[] = [], dimsFrom: number[] = [], known: number[] = [];
  specs.forEach((spec, i) => {
    if (typeof spec === "number") {
      if (!Number.isInteger(spec) || spec < -1) ctx.fail(argument, "integers ≥ -1 or tensor dimensions (tensor.dim(axis))", `${spec} at position ${i}`);
      sizes.push(spec);
      known.push(spec);
      return;
    }
    const source = inputs[spec.input];
    if (!source || !Number.isInteger(spec.input) || spec.input < 0) ctx.fail(argument, `dimensions of the layer's inputs (0–${inputs.length - 1})`, `input ${spec.input} at position ${i}`);
    const axis = ctx.axis(`${argument}[${i}]`, spec.axis, source.shape.length);
    const extent = source.shape[axis]!;
    if (extent >= 0) {
      sizes.push(extent);
    } else {
      sizes.push(FROM_INPUT);
      dimsFrom.push(spec.input, axis);
    }
    known.push(extent);
  });
  const unused = inputs.findIndex((_, k) => k > 0 && !specs.some((s) => typeof s !== "number" && s.input === k));
  if (unused > 0) ctx.fail("inputs", `only tensors whose dimensions ${argument} takes`, `input ${unused}, which no size refers to`);
  return { sizes, dimsFrom: dimsFrom.length ? dimsFrom : null, known };
}

/** The inverse of resolveSizes, for `fromResolved`: FROM_INPUT entries as the pairs they stand for. */
export function sizeSpecs(sizes: readonly number[], dimsFrom: readonly number[] | null): SizeSpec[] {
  let next = 0;
  return sizes.map((s) => {
    if (s !== FROM_INPUT) return s;
    const spec = { input: dimsFrom?.[next] ?? -1, axis: dimsFrom?.[next + 1] ?? -1 };
    next += 2;
    return spec;
  });
}
