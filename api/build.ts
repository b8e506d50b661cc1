import { buildPlan, type BuildOptions } from "../builder/build.js";
import { BuildCancelledError, BuildError } from "../builder/errors.js";
import type { NetworkIR } from "../dsl/ir.js";
import { Engine } from "../runtime/engine.js";
import { buildTensorRTPlan, type TensorRTBuildOptions } from "../tensorrt/build.js";
import type { WeightSource } from "../weights/source.js";

/** What `buildEngine` builds from: a Network, or anything with its IR and weights. */
export interface BuildableNetwork {
  toJSON(): NetworkIR;
  readonly weights: WeightSource;
}

/**
 * Builds an engine: weights bound, the graph optimised (BatchNorm folding, fusions), the plan compiled and loaded
 * (TensorRT's buildSerializedNetwork, then deserializeCudaEngine).
 * ```ts
 * const engine = await buildEngine(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [8, 1, 28, 28], max: [256, 1, 28, 28] } }] });
 * ```
 */
export function buildEngine(network: BuildableNetwork, options?: BuildOptions & { backend?: "builtin" }): Promise<Engine<"builtin">>;
/** With TensorRT: the same network lowered into an INetworkDefinition, built, and run on the GPU. */
export function buildEngine(network: BuildableNetwork, options: TensorRTBuildOptions & { backend: "tensorrt" }): Promise<Engine<"tensorrt">>;
export async function buildEngine(network: BuildableNetwork, options: (BuildOptions & { backend?: "builtin" }) | (TensorRTBuildOptions & { backend: "tensorrt" }) = {}): Promise<Engine> {
  if (options.backend === "tensorrt") return Engine.deserialize(await buildTensorRTPlan(network, options), { device: options.device });
  const { backend = "builtin", ...builtin } = options as BuildOptions & { backend?: string };
  if (backend !== "builtin") throw new BuildError(`unknown backend ${JSON.stringify(backend)}; use "builtin" or "tensorrt"`);
  let steps = 0;
  const plan = await buildPlan(network, { ...builtin, onProgress: (p) => { steps = p.steps; builtin.onProgress?.(p); } });
  const engine = await Engine.deserialize(plan, { ...builtin.engine, weights: builtin.weights ?? network.weights });
  if (builtin.signal?.aborted) {
    engine.dispose();
    throw new BuildCancelledError(`build of "${network.toJSON().name}" cancelled`);
  }
  builtin.onProgress?.({ phase: "done", step: steps, steps });
  return engine;
}
