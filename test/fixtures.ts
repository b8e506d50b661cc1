import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, type WeightStore } from "netdef";

/** The PyTorch fixtures shipped in the repository (copied from the team's shared fixtures). */
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");
export const fixturePath = (name: string) => path.join(fixturesDir, name);
export const loadFixtureWeights = (name: string): Promise<WeightStore> => loadWeights(fixturePath(name));
