import type { WeightTensor } from "./tensor.js";

/** Where a network finds its weights by PyTorch `state_dict` name. */
export interface WeightSource {
  get(name: string): WeightTensor | undefined;
  names(): readonly string[];
}

/** Edit distance counting a swap of neighbours as one edit ("bais" for "bias"), for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Up to `count` stored names closest to `name`, nearest first; none farther than `maxDistance` edits. */
export function nearestNames(name: string, candidates: readonly string[], count = 3, maxDistance = Infinity): string[] {
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter((x) => x.distance <= maxDistance)
    .sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate))
    .slice(0, count)
    .map((x) => x.candidate);
}

/** `<label>'a', 'b', 'c'` with the nearest stored names, or "" when there are none: the tail of a "not found" message. */
export function nearestSuffix(name: string, candidates: readonly string[], label: string): string {
  const nearest = nearestNames(name, candidates);
  return nearest.length ? `${label}${nearest.map((n) => `'${n}'`).join(", ")}` : "";
}
