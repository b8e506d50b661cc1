import type { IOTensor } from "./header.js";
import { fnv1a64 } from "./encode.js";
import type { TensorRTTarget } from "../native/tensorrt.js";

/** The file of a TensorRT plan: magic, our JSON header, TensorRT's serialized engine, a checksum over both. */
export const TENSORRT_MAGIC = "NETDEFTR";

export interface TensorRTHeader {
  netdef: string;
  network: string;
  backend: "tensorrt";
  target: TensorRTTarget;
  /** The build options that shaped the engine (workspace, optimization level, refit, …). */
  config: Record<string, unknown>;
  inputs: IOTensor[];
  outputs: IOTensor[];
  /** The state_dict names of the weights the engine was built from. */
  weights: string[];
  /**
   * BatchNorms the lowering folded into channel scales (`<layer>.scale`, `<layer>.shift`), with the state_dict names
   * of their weight, bias, running mean and variance: a refit by those names folds them again.
   */
  foldedBatchNorms: { layer: string; epsilon: number; weight: string; bias: string; mean: string; variance: string }[];
}

/** A TensorRT version as the header holds it (major·10000 + minor·100 + patch), written major.minor.patch. */
export const tensorrtVersionText = (v: number): string => `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;

/** Our header and TensorRT's engine in one file. */
export function encodeTensorRTContainer(header: TensorRTHeader, engine: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + 4 + json.length + engine.length + 8);
  out.set(new TextEncoder().encode(TENSORRT_MAGIC));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(engine, 12 + json.length);
  new DataView(out.buffer).setBigUint64(out.length - 8, fnv1a64(out.subarray(0, out.length - 8)), true);
  return out;
}
