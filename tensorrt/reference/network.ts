import { addon } from "../../native/addon.js";

/** TensorRT's DataType names, as the lowering passes them. */
export type TensorRTType = "kFLOAT" | "kHALF" | "kBF16" | "kINT8" | "kINT32" | "kINT64" | "kBOOL" | "kUINT8" | "kFP8" | "kINT4" | "kFP4";

/** One argument of an add* call or one setter's value, as the reference network (native) kept it. */
export type DefinedValue = number | boolean | string | number[] | { tensor: number; index?: number } | { tensors: number[] } | { weights: number };

export interface DefinedLayer {
  /** The INetworkDefinition method that made it: "addConvolutionNd", … */
  method: string;
  name: string;
  /** The add* call's arguments under their header names. */
  args: Record<string, DefinedValue>;
  /** The setters called on the layer, in call order. */
  calls: { method: string; value: DefinedValue }[];
  outputs: number[];
}

export interface DefinedWeights {
  type: TensorRTType;
  count: number;
  bytes: Uint8Array;
  /** The names setWeightsName gave them: what IRefitter would see. */
  names: string[];
}

/** What the lowering defined on the reference's INetworkDefinition (native/src/tensorrt/reference_network.h). */
export interface DefinedNetwork {
  /** Tensor names by id. */
  tensors: string[];
  inputs: { tensor: number; type: TensorRTType; dimensions: number[]; nbDims: number }[];
  layers: DefinedLayer[];
  outputs: number[];
  weights: DefinedWeights[];
}

/** The network the TensorRT lowering defines for a plan's graph, on the reference's INetworkDefinition. */
export function defineReferenceNetwork(plan: Uint8Array): DefinedNetwork {
  return addon().referenceTensorRTLowering(plan) as DefinedNetwork;
}
