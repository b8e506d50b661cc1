import { nearestNames, type WeightSource } from "../weights/source.js";
import { elementCount } from "../weights/tensor.js";
import type { NetworkIR } from "./ir.js";
import { formatShape } from "./shape.js";

export interface BindingProblem {
  readonly layer: string;
  readonly weight: string;
  readonly expectedShape: readonly number[];
}

/** How a network's weight names meet a weight source. */
export interface BindingReport {
  /** Stored weights no layer asked for. */
  readonly unused: readonly string[];
  /** Weights a layer asked for that the source lacks, with the nearest stored names. */
  readonly missing: readonly (BindingProblem & { readonly nearest: readonly string[] })[];
  /** Weights present with another shape (element count for shapeless formats). */
  readonly mismatched: readonly (BindingProblem & { readonly storedShape: readonly number[] })[];
  /** Values the network's code gives inline (gather indices, a scale): bound without the source. */
  readonly inline: readonly string[];
  readonly ok: boolean;
  toString(): string;
}

/** Which stored weights a network leaves unused, which it asks for in vain, and which have the wrong shape. */
export function bindingReport(network: { toJSON(): NetworkIR } | NetworkIR, source: WeightSource): BindingReport {
  const ir = "toJSON" in network ? network.toJSON() : network;
  const stored = source.names();
  const used = new Set<string>();
  const missing: (BindingProblem & { nearest: string[] })[] = [];
  const mismatched: (BindingProblem & { storedShape: readonly number[] })[] = [];
  const inline: string[] = [];
  for (const layer of ir.layers) {
    for (const binding of Object.values(layer.weights)) {
      if (binding.inline) { inline.push(binding.name); continue; }
      used.add(binding.name);
      const found = source.get(binding.name);
      const problem = { layer: layer.name, weight: binding.name, expectedShape: binding.shape };
      if (!found) missing.push({ ...problem, nearest: nearestNames(binding.name, stored) });
      else if (found.flat ? elementCount(found.shape) !== elementCount(binding.shape) : formatShape(found.shape) !== formatShape(binding.shape)) {
        mismatched.push({ ...problem, storedShape: found.shape });
      }
    }
  }
  const unused = stored.filter((n) => !used.has(n));
  const lines = [
    ...missing.map((m) => `missing: ${m.layer} needs '${m.weight}' ${formatShape(m.expectedShape)}; nearest stored: ${m.nearest.map((n) => `'${n}'`).join(", ") || "(none)"}`),
    ...mismatched.map((m) => `wrong shape: ${m.layer} needs '${m.weight}' ${formatShape(m.expectedShape)}, stored ${formatShape(m.storedShape)}`),
    ...unused.map((n) => `unused: '${n}'`),
  ];
  return {
    unused, missing, mismatched, inline, ok: missing.length === 0 && mismatched.length === 0,
    toString: () => (lines.length ? lines.join("\n") : `all ${used.size} weights bound, none unused${inline.length ? `; ${inline.length} given inline` : ""}`),
  };
}
