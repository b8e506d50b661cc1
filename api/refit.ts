import { refitPlan } from "../builder/refit.js";
import type { Engine } from "../runtime/engine.js";
import { TensorRTEngine } from "../runtime/tensorrt-engine.js";
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
export async function refit(engine: Engine, weights: WeightSource): Promise<void> {
  const backend = engine.implementation;
  if (backend instanceof TensorRTEngine) return backend.refit(weights);
  const refitted = await refitPlan(backend.header, weights, backend.boundWeights);
  await backend.replacePlan(refitted.plan, refitted.weights);
}
