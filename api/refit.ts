import { RefitError } from "../builder/errors.js";
import { refitPlan } from "../builder/refit.js";
import type { TensorRTHeader } from "../plan/tensorrt-container.js";
import type { Engine } from "../runtime/engine.js";
import { TensorRTEngine } from "../runtime/tensorrt-engine.js";
import type { WeightSource } from "../weights/source.js";
import { toFloat32 } from "../weights/tensor.js";

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
  if (backend instanceof TensorRTEngine) {
    const { values, ignored } = refitValues(backend.header, weights);
    if (ignored.length) process.emitWarning(`refit of "${backend.header.network}": ${ignored.length} weight(s) the engine was not built from, ignored: ${ignored.join(", ")}`, "RefitWarning");
    return backend.refit(values);
  }
  const refitted = await refitPlan(backend.header, weights, backend.boundWeights);
  await backend.replacePlan(refitted.plan, refitted.weights);
}

/**
 * @internal What a refit hands TensorRT, by the names the engine holds: each weight as given, but a folded BatchNorm's four as
 * its scale γ/√(var + ε) and shift β − mean·scale (in float64, as the lowering folds them); the names the engine was
 * not built from, apart. A BatchNorm given in part is a RefitError: its four fold together.
 */
export function refitValues(header: Pick<TensorRTHeader, "weights" | "foldedBatchNorms">, weights: WeightSource): { values: Record<string, Float32Array>; ignored: string[] } {
  const given = new Set(weights.names()), known = new Set(header.weights);
  const values: Record<string, Float32Array> = {};
  const folded = new Set<string>(), partial: string[] = [];
  for (const bn of header.foldedBatchNorms) {
    const names = [bn.weight, bn.bias, bn.mean, bn.variance];
    names.forEach((n) => folded.add(n));
    const present = names.filter((n) => given.has(n));
    if (present.length === 0) continue;
    if (present.length < 4) { partial.push(`${bn.layer}: ${names.filter((n) => !given.has(n)).join(", ")} missing (a BatchNorm's four weights fold together)`); continue; }
    const [gamma, beta, mean, variance] = names.map((n) => toFloat32(weights.get(n)!));
    const scale = new Float32Array(gamma!.length), shift = new Float32Array(gamma!.length);
    for (let c = 0; c < gamma!.length; c++) {
      const s = gamma![c]! / Math.sqrt(variance![c]! + bn.epsilon);
      scale[c] = s;
      shift[c] = beta![c]! - mean![c]! * s;
    }
    values[`${bn.layer}.scale`] = scale;
    values[`${bn.layer}.shift`] = shift;
  }
  if (partial.length) throw new RefitError(partial);
  for (const name of given) if (known.has(name) && !folded.has(name)) values[name] = toFloat32(weights.get(name)!);
  return { values, ignored: [...given].filter((n) => !known.has(n)) };
}

