import { refitPlan } from "../builder/refit.js";
import { Engine } from "../runtime/engine.js";
import type { TensorRTEngine } from "../runtime/tensorrt-engine.js";
import type { WeightSource } from "../weights/source.js";

/**
 * New weights by PyTorch name, without a rebuild (TensorRT's IRefitter): BatchNorms folded into convolutions are
 * re-folded from the new statistics. Engines built in this process accept any subset (the rest keep their values);
 * deserialized ones need every weight. Unknown or missing names and wrong shapes are one RefitError listing all, and
 * the engine is unchanged. Contexts see the new weights from their next execution; one already running finishes on
 * the old.
 * ```ts
 * await refit(engine, await loadWeights("finetuned.safetensors"));
 * ```
 */
export async function refit(engine: Engine | TensorRTEngine, weights: WeightSource): Promise<void> {
  if (!(engine instanceof Engine)) return engine.refit(weights);
  const refitted = await refitPlan(engine.header, weights, engine.boundWeights);
  await engine.replacePlan(refitted.plan, refitted.weights);
}
