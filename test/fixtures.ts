import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, type WeightStore } from "netdef";

/** The PyTorch fixtures shipped in the repository (copied from the team's shared fixtures). */
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");
export const fixturePath = (name: string) => path.join(fixturesDir, name);
export const loadFixtureWeights = (name: string): Promise<WeightStore> => loadWeights(fixturePath(name));

/** How many rows of `actual` have the same argmax as the reference (`classes` columns per row). */
export function sameClass(actual: ArrayLike<number>, reference: ArrayLike<number>, classes: number): number {
  let agree = 0;
  for (let r = 0; r < reference.length / classes; r++) {
    let a = 0, b = 0;
    for (let k = 1; k < classes; k++) {
      if (actual[r * classes + k]! > actual[r * classes + a]!) a = k;
      if (reference[r * classes + k]! > reference[r * classes + b]!) b = k;
    }
    if (a === b) agree++;
  }
  return agree;
}

/** `values` rounded onto per-row symmetric INT8 grids (q · amax/127, one row per output channel), as `quantize` leaves kernels. */
export function onInt8Grid(values: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(values.length), per = values.length / rows;
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * per, (r + 1) * per);
    const step = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127 || 1;
    for (let i = 0; i < per; i++) out[r * per + i] = Math.round(row[i]! / step) * step;
  }
  return out;
}
