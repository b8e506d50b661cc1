// trtexec's shape flags: --shapes for one set of concrete shapes, --minShapes/--optShapes/--maxShapes for profiles.
import type { IOTensor, OptimizationProfile } from "netdef";
import { UsageError, type Options } from "./command-line.js";

const MAX_DIM = 2 ** 31 - 1;

/** `data:1x1x28x28,mask:1x28` as shapes by input name. */
export function parseShapes(spec: string, flag: string): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const part of spec.split(",")) {
    const at = part.lastIndexOf(":");
    const [name, dims] = [part.slice(0, at), part.slice(at + 1)];
    if (at < 1 || !/^\d+(x\d+)*$/.test(dims)) throw new UsageError(`--${flag} ${spec}: expected input:dims[,input:dims…] with x-separated dims, e.g. data:1x1x28x28`);
    if (name in shapes) throw new UsageError(`--${flag} ${spec}: input '${name}' is given twice`);
    shapes[name] = dims.split("x").map((d) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n < 1 || n > MAX_DIM) throw new UsageError(`--${flag} ${spec}: dimension ${d} is not an integer from 1 to ${MAX_DIM}`);
      return n;
    });
  }
  return shapes;
}

/**
 * The optimization profiles the flags give: the i-th --minShapes, --optShapes and --maxShapes form profile i (each
 * naming the same inputs); --shapes alone is one profile of that shape.
 */
export function profilesFrom(options: Options): OptimizationProfile[] {
  const [min, opt, max] = [options.minShapes ?? [], options.optShapes ?? [], options.maxShapes ?? []];
  if (options.shapes !== undefined) {
    if (min.length || opt.length || max.length) throw new UsageError("--shapes is one profile of one shape: give it or --minShapes/--optShapes/--maxShapes, not both");
    return [Object.fromEntries(Object.entries(parseShapes(options.shapes, "shapes")).map(([name, s]) => [name, { min: s, opt: s, max: s }]))];
  }
  if (min.length !== opt.length || opt.length !== max.length) {
    throw new UsageError(`each profile needs --minShapes, --optShapes and --maxShapes, but they were given ${min.length}, ${opt.length} and ${max.length} times`);
  }
  return min.map((m, i) => {
    const [lo, mid, hi] = [parseShapes(m, "minShapes"), parseShapes(opt[i]!, "optShapes"), parseShapes(max[i]!, "maxShapes")];
    const names = Object.keys(lo).sort().join();
    if (Object.keys(mid).sort().join() !== names || Object.keys(hi).sort().join() !== names) throw new UsageError(`profile ${i}: --minShapes, --optShapes and --maxShapes must name the same inputs (${m} / ${opt[i]} / ${max[i]})`);
    return Object.fromEntries(Object.keys(lo).map((name) => [name, { min: lo[name]!, opt: mid[name]!, max: hi[name]! }]));
  });
}

/** Each input's shape for a run: --shapes where given, else its static shape or its first profile's opt shape. */
export function runShapes(inputs: readonly { name: string; shape: readonly number[]; profiles?: IOTensor["profiles"] }[], spec: string | undefined): Record<string, number[]> {
  const given = spec === undefined ? {} : parseShapes(spec, "shapes");
  const unknown = Object.keys(given).filter((n) => !inputs.some((t) => t.name === n));
  if (unknown.length) throw new UsageError(`--shapes names ${unknown.map((n) => `'${n}'`).join(", ")}, which the plan has no input of (its inputs: ${inputs.map((t) => t.name).join(", ")})`);
  return Object.fromEntries(inputs.map((t) => {
    const shape = given[t.name] ?? (t.shape.includes(-1) ? t.profiles?.[0]?.opt : t.shape);
    if (!shape) throw new UsageError(`input '${t.name}' has dynamic shape [${t.shape.join(",")}]: give --shapes ${t.name}:<dims>`);
    return [t.name, [...shape]];
  }));
}
