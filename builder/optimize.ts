import { foldConstants } from "./fold-constants.js";
import type { BuildGraph } from "./graph.js";
import { PASSES, type Pass } from "./passes.js";

/** The passes a build runs: all of them, or with `optimize: false` only the required ones. */
export const passesFor = (optimize: boolean): readonly Pass[] => PASSES.filter((p) => optimize || p.required);

/**
 * Runs `passes` in the builder's order, shared by builds and refits so both give the same structure: the passes
 * before constant folding, the folding itself (when `fold`), then the rest. Returns the layers folded.
 */
export async function runPasses(graph: BuildGraph, passes: readonly Pass[], fold: boolean, onStep?: (phase: string) => void): Promise<string[]> {
  for (const pass of passes.filter((p) => !p.afterConstantFolding)) {
    onStep?.(pass.description);
    pass.run(graph);
  }
  const folded: string[] = [];
  if (fold) {
    onStep?.("fold constants");
    folded.push(...await foldConstants(graph));
  }
  for (const pass of passes.filter((p) => p.afterConstantFolding)) {
    onStep?.(pass.description);
    pass.run(graph);
  }
  return folded;
}
