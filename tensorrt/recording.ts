import type { NetworkIR } from "../dsl/ir.js";
import { buildGraph } from "../builder/graph.js";
import type { WeightSource } from "../weights/source.js";
import { addon, callSitesOf, typedNativeError } from "../native/addon.js";
import { encodePlan } from "../plan/encode.js";
import { checkLowerable } from "./support.js";

/** One call the TensorRT lowering made on the network: the layer or tensor it concerns, the method, its arguments. */
export interface LoweringCall {
  target: string;
  method: string;
  args: string;
}

/**
 * The calls the TensorRT lowering makes for a network, recorded by a stand-in INetworkDefinition (the same C++
 * lowering, instantiated over a recorder instead of nvinfer1). Works without TensorRT; `weights` lists the values
 * each Weights argument carried, in call order.
 */
export function recordTensorRTLowering(network: { toJSON(): NetworkIR; weights: WeightSource }): { calls: LoweringCall[]; weights: { owner: string; values: Float32Array }[] } {
  // The raw graph, without the builtin engine's fusions: TensorRT's builder does its own.
  const ir = network.toJSON();
  checkLowerable(ir);
  const plan = encodePlan(buildGraph(ir, network.weights), {});
  try {
    return addon().recordTensorRTLowering(plan);
  } catch (error) {
    throw typedNativeError(error, callSitesOf(ir.layers));
  }
}
