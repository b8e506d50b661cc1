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

export { onInt8Grid } from "../selftest/layer-cases.js";
