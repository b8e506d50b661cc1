import { readFile, writeFile } from "node:fs/promises";
import { checkProfiles, type OptimizationProfile } from "../builder/build.js";
import { BuildCancelledError } from "../builder/errors.js";
import { buildGraph } from "../builder/graph.js";
import type { NetworkIR } from "../dsl/ir.js";
import { callSitesOf, typedNativeError } from "../native/addon.js";
import { packageVersion } from "../dsl/package-root.js";
import { requireTensorRT } from "../native/tensorrt.js";
import { encodePlan } from "../plan/encode.js";
import { encodeTensorRTContainer, type TensorRTHeader } from "../plan/tensorrt-container.js";
import type { WeightSource } from "../weights/source.js";
import { checkLowerable } from "./support.js";

export interface TensorRTBuildOptions {
  profiles?: readonly OptimizationProfile[];
  onProgress?: (progress: { phase: string; step: number; steps: number }) => void;
  signal?: AbortSignal;
  weights?: WeightSource;
  /** TensorRT's workspace memory pool limit. Default 1 GiB. */
  workspaceBytes?: number;
  /** Builder optimization level 0…5 (TensorRT's default 3): higher searches longer for faster kernels. */
  optimizationLevel?: number;
  /** A timing cache file: read when present, written after the build, so that later builds skip measured tactics. */
  timingCacheFile?: string;
  /**
   * Let float32 layers multiply in TF32 (10-bit mantissas, on Ampere and later): TensorRT's default, off here so
   * that float32 means float32.
   */
  allowTF32?: boolean;
  /** The CUDA device to build for and run on. Default 0. */
  device?: number;
  /** "all": any weight refittable by name; "identical": same values only (with stripPlan, a weightless plan). */
  refit?: "none" | "all" | "identical";
  stripPlan?: boolean;
}

/** What a refit by PyTorch names needs to know of the network: its weights' names and the BatchNorms the lowering folds. */
export function refitRecord(ir: NetworkIR): Pick<TensorRTHeader, "weights" | "foldedBatchNorms"> {
  return {
    weights: [...new Set(ir.layers.flatMap((l) => Object.values(l.weights).filter((w) => !w.inline).map((w) => w.name)))],  // inline values are the code's
    foldedBatchNorms: ir.layers.flatMap((l) => l.kind !== "batchNorm" ? [] : [{
      layer: l.name, epsilon: l.params.epsilon, weight: l.weights.weight!.name, bias: l.weights.bias!.name, mean: l.weights.mean!.name, variance: l.weights.variance!.name,
    }]),
  };
}

/**
 * Builds `network` with TensorRT (the IR lowered into an INetworkDefinition by the addon) and returns the plan file:
 * our header and TensorRT's serialized engine. Needs an addon built with TensorRT.
 */
export async function buildTensorRTPlan(network: { toJSON(): NetworkIR; weights: WeightSource }, options: TensorRTBuildOptions): Promise<Uint8Array> {
  const native = requireTensorRT();
  const ir = network.toJSON();
  const inputs = checkProfiles(ir, options.profiles ?? []);
  checkLowerable(ir);
  // The raw graph, without the builtin engine's fusions: TensorRT's builder does its own.
  const plan = encodePlan(buildGraph(ir, options.weights ?? network.weights), {});
  const timingCache = options.timingCacheFile ? await readFile(options.timingCacheFile).then((b) => new Uint8Array(b), () => undefined) : undefined;
  const { signal, onProgress, weights: _weights, ...config } = options;
  const handle = native.tensorrtBuild(plan, { ...config, timingCache }, (phase, step, steps) => onProgress?.({ phase, step, steps }));
  const abort = () => handle.cancel();
  signal?.addEventListener("abort", abort);
  try {
    const built = await handle.promise.catch((error: unknown) => {
      if (signal?.aborted) throw new BuildCancelledError(`TensorRT build of "${ir.name}" cancelled`);
      throw typedNativeError(error, callSitesOf(ir.layers));
    });
    for (const warning of built.warnings) process.emitWarning(`TensorRT build of "${ir.name}": ${warning}`, "TensorRTWarning");
    if (options.timingCacheFile && built.timingCache.length) await writeFile(options.timingCacheFile, built.timingCache);
    const header: TensorRTHeader = {
      netdef: packageVersion, network: ir.name, backend: "tensorrt", target: built.target, config: { ...config }, inputs,
      outputs: ir.outputs.map((o) => { const t = ir.tensors.find((x) => x.name === o.tensor) ?? ir.inputs.find((x) => x.name === o.tensor)!; return { name: o.name, dtype: t.dtype, shape: [...t.shape] }; }),
      ...refitRecord(ir),
    };
    return encodeTensorRTContainer(header, built.engine);
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}
