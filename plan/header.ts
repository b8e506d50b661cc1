import type { DataType } from "../dsl/dtype.js";
import type { NetworkIR } from "../dsl/ir.js";
import type { Liveness } from "./memory.js";
import type { PassId } from "./schema.js";

/** min/opt/max shapes of one dynamic input. */
export interface ShapeRange {
  min: readonly number[];
  opt: readonly number[];
  max: readonly number[];
}

/** An input or output of an engine. */
export interface IOTensor {
  name: string;
  dtype: DataType;
  /** -1 where the dimension is chosen at run time. */
  shape: number[];
  /** For dynamic inputs: the range each optimization profile allows. */
  profiles?: ShapeRange[];
}

/** How hard the builder searches for the fastest implementation of each heavy layer. */
export type TuningLevel = "off" | "fast" | "thorough";

/** How the plan was built: the passes run (by id), the layers constant folding computed, the tuning and its choices. */
export interface PlanConfig {
  passes: PassId[];
  foldedConstants: string[];
  tuning: TuningLevel;
  tactics: TacticChoice[];
}

/** What the plan's header records about how and for what it was built. */
export interface PlanHeader {
  netdef: string;
  network: string;
  backend: "builtin";
  requiredCpuFeatures: string[];
  builtOn: { cpuFeatures: string[]; platform: string };
  config: PlanConfig;
  inputs: IOTensor[];
  outputs: IOTensor[];
  weights: string[];
  /**
   * The plan's layers in execution order, each with the network layers it computes (more than one where the builder
   * fused them) and `tactic`, the implementation chosen (by tuning or shape rules).
   */
  layers: { name: string; kind: string; fusedFrom: string[]; tactic?: string }[];
  /** Each tensor's lifetime at the profiles' opt shapes: the activation memory once storage is known. */
  memory: Liveness;
  /** The network as defined (weights by name only): what refit rebuilds from and `netdef inspect` shows. */
  ir: NetworkIR;
}

/** One tuned layer: the tactic chosen and what each candidate measured (fastest ms). */
export interface TacticChoice {
  layer: string;
  tactic: string;
  milliseconds: Record<string, number>;
  cached: boolean;
}

