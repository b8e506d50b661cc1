import { ACTIVATION_TYPES, type ActivationType } from "../layers/activation.js";
import { LAYER_ARITY, type LayerKind, type ResolvedParams } from "../layers/kinds.js";
import { contentHash, LAYER_PARAMS, values, type Field, type ParamSchema } from "../layers/param-schema.js";
import { IR_VERSION } from "../dsl/ir.js";
import { packageVersion } from "../dsl/package-root.js";
import type { SoftMaxResolved } from "../layers/softmax.js";

/** The float convolution tactics of the builtin engine (what BuildOptions.tactics and excludeTactics name). */
export type ConvolutionTactic =
  | "implicit_gemm_k128" | "implicit_gemm_k256" | "implicit_gemm_k512" | "direct_c16" | "direct_rows"
  | "winograd_2x2_3x3" | "winograd_4x4_3x3" | "pointwise_gemm" | "depthwise_direct";
export const CONVOLUTION_TACTICS = values<ConvolutionTactic>({
  implicit_gemm_k128: 1, implicit_gemm_k256: 1, implicit_gemm_k512: 1, direct_c16: 1, direct_rows: 1,
  winograd_2x2_3x3: 1, winograd_4x4_3x3: 1, pointwise_gemm: 1, depthwise_direct: 1,
});

export type RoundingType = "float16" | "bfloat16";

/** What the builder fuses into a convolution's or dense layer's epilogue. */
export interface Epilogue {
  /** An activation fused after the layer, with its alpha and beta. */
  readonly activation?: ActivationType;
  readonly activationAlpha?: number;
  readonly activationBeta?: number;
  /** The output rounded to a 16-bit type (a reduced-precision network's storage). */
  readonly roundTo?: RoundingType;
  /** The float input quantized per tensor by this scale, the products computed in INT8 (a fused Q/DQ pair). */
  readonly inputScale?: number;
  /** The output rounded to the INT8 grid of this scale (a quantize → dequantize pair after an INT8 layer, fused in). */
  readonly outputScale?: number;
}

/**
 * Every op kind a plan holds, with its parameters: the layer kinds as the DSL resolves them, what the builder adds
 * to them (epilogues, tactics, a residual input), and the builder's own kinds.
 */
export type PlanParams = Omit<{ [K in LayerKind]: ResolvedParams<K> }, "convolution" | "fullyConnected" | "activation" | "matrixMultiply"> & {
  readonly convolution: ResolvedParams<"convolution"> & Epilogue & {
    /** A second input added before the activation (a residual sum fused in). */
    readonly residual?: boolean;
    readonly tactic?: ConvolutionTactic | "int8_implicit_gemm";
  };
  readonly fullyConnected: ResolvedParams<"fullyConnected"> & Epilogue & { readonly tactic?: "int8_gemm" };
  readonly activation: ResolvedParams<"activation">;
  readonly matrixMultiply: ResolvedParams<"matrixMultiply"> & {
    /** Each product scaled by this value (a product with a constant scalar fused in). */
    readonly alpha?: number;
    /** The softmax of each row of the (scaled) products: a softMax over the last axis fused in. */
    readonly softMax?: boolean;
  };
  /** Element-wise layers run as one pass: `steps` "activation:<type>|unary:<op>|cast:<dtype>|…", one alpha and beta a step. */
  readonly pointwiseChain: { readonly steps: string; readonly alpha: readonly number[]; readonly beta: readonly number[] };
  /** softMax → log, computed as one log-softmax. */
  readonly logSoftMax: SoftMaxResolved;
};
export type PlanKind = keyof PlanParams;

const optionalNumber = { type: "number", optional: true } as const;
const epilogue: ParamSchema<Epilogue> = {
  activation: { type: "string", values: ACTIVATION_TYPES, optional: true },
  activationAlpha: optionalNumber,
  activationBeta: optionalNumber,
  roundTo: { type: "string", values: values<RoundingType>({ float16: 1, bfloat16: 1 }), optional: true },
  inputScale: optionalNumber,
  outputScale: optionalNumber,
};

/**
 * The plan's parameter schema, one per op kind: what the plan writer checks and encodes and the native plan reader
 * checks again (native/src/plan_schema.h is generated from it by `npm run generate:plan-schema`).
 */
export const PLAN_PARAMS: { readonly [K in PlanKind]: ParamSchema<PlanParams[K]> } = {
  ...LAYER_PARAMS,
  convolution: {
    ...LAYER_PARAMS.convolution, ...epilogue,
    residual: { type: "boolean", optional: true },
    tactic: { type: "string", values: [...CONVOLUTION_TACTICS, "int8_implicit_gemm"], optional: true },
  },
  fullyConnected: { ...LAYER_PARAMS.fullyConnected, ...epilogue, tactic: { type: "string", values: ["int8_gemm"], optional: true } },
  activation: LAYER_PARAMS.activation,
  matrixMultiply: { ...LAYER_PARAMS.matrixMultiply, alpha: optionalNumber, softMax: { type: "boolean", optional: true } },
  pointwiseChain: { steps: { type: "string" }, alpha: { type: "numbers" }, beta: { type: "numbers" } },
  logSoftMax: LAYER_PARAMS.softMax,
};

/**
 * The builder's passes by stable id: a plan's header lists those that built it, and refit runs them again by id
 * (builder/passes.ts holds one pass for each, with its description).
 */
export const PASS_IDS = [
  "remove-dead-layers", "remove-no-ops", "drop-round-trips-in-fusions", "drop-redundant-round-trips", "fold-affine",
  "lower-batchnorm", "fuse-int8-inputs", "fuse-mish", "fuse-silu", "fuse-residual-add", "fuse-log-softmax", "fuse-activation",
  "fuse-rounding", "fuse-int8-output-rounding", "round-folded-weights", "fuse-scaled-softmax", "fuse-pointwise-chains",
] as const;
export type PassId = (typeof PASS_IDS)[number];

/** How many inputs (least, most) and outputs an op of each kind has: the native reader refuses a plan whose ops differ. */
export const PLAN_ARITY: { readonly [K in PlanKind]: { readonly inputs: readonly [number, number]; readonly outputs: number } } = {
  ...LAYER_ARITY,
  convolution: { inputs: [1, 2], outputs: 1 },  // the second: a fused residual
  pointwiseChain: { inputs: [1, 65535], outputs: 1 },  // the running value, then one operand per binary step
  logSoftMax: { inputs: [1, 1], outputs: 1 },
};

/**
 * The plan format's version, derived from all a plan's meaning depends on: the netdef version, the IR version (what
 * each layer's parameters mean), every op kind's parameter schema and arity, the tactics and the pass ids. A plan of
 * another format is refused, naming both; the native reader holds the same string (native/src/plan_schema.h,
 * generated: a test fails until it is regenerated).
 */
export const PLAN_FORMAT = `${packageVersion}+${contentHash({ params: PLAN_PARAMS, arity: PLAN_ARITY, tactics: CONVOLUTION_TACTICS, passes: PASS_IDS, ir: IR_VERSION })}`;

/** The schema of `kind` as plain records (for the writer, the generated header and the tests). */
export const planSchemaOf = (kind: PlanKind): Readonly<Record<string, Field>> => PLAN_PARAMS[kind];
export const PLAN_KINDS = Object.keys(PLAN_PARAMS) as PlanKind[];
