import { defineLayer, resolvedAsGiven } from "./layer.js";

/**
 * TensorRT's 14 activation types, and PyTorch's SiLU (swish), Hardswish and Mish, which TensorRT lowers as x times a
 * gate of x; alpha/beta meanings in ACTIVATION_DEFAULTS.
 */
export type ActivationType =
  | "relu" | "sigmoid" | "tanh" | "leaky_relu" | "elu" | "selu" | "softsign" | "softplus" | "clip"
  | "hard_sigmoid" | "scaled_tanh" | "thresholded_relu" | "gelu_erf" | "gelu_tanh" | "silu" | "hardswish" | "mish";

/**
 * Default alpha/beta per type, PyTorch's defaults where PyTorch has the function:
 * leaky_relu α=0.01 slope; elu α=1; selu α=1.6732632, β=1.0507010; softplus α·log(1+e^(β·x)) with α=1, β=1;
 * clip to [α, β] (ReLU6: 0, 6); hard_sigmoid max(0, min(1, α·x + β)) with α=1/6, β=0.5 (PyTorch's Hardsigmoid);
 * scaled_tanh α·tanh(β·x) with α=β=1; thresholded_relu x if x > α else 0, α=1; silu x·sigmoid(x) (nn.SiLU);
 * hardswish x·relu6(x + 3)/6 (nn.Hardswish); mish x·tanh(softplus(x)) (nn.Mish). These three take no α or β.
 */
export const ACTIVATION_DEFAULTS: Readonly<Record<ActivationType, readonly [number, number]>> = {
  relu: [0, 0], sigmoid: [0, 0], tanh: [0, 0], leaky_relu: [0.01, 0], elu: [1, 0],
  selu: [1.6732632423543772, 1.0507009873554805], softsign: [0, 0], softplus: [1, 1], clip: [0, 6],
  hard_sigmoid: [1 / 6, 0.5], scaled_tanh: [1, 1], thresholded_relu: [1, 0], gelu_erf: [0, 0], gelu_tanh: [0, 0],
  silu: [0, 0], hardswish: [0, 0], mish: [0, 0],
};
export const ACTIVATION_TYPES = Object.keys(ACTIVATION_DEFAULTS) as ActivationType[];

export interface ActivationParams {
  type: ActivationType;
  /** See ACTIVATION_DEFAULTS for each type's meaning and default. */
  alpha?: number;
  beta?: number;
}

export interface ActivationResolved {
  readonly type: ActivationType;
  readonly alpha: number;
  readonly beta: number;
}

export const activation = defineLayer<"activation", ActivationParams, ActivationResolved>({
  kind: "activation",
  fromResolved: resolvedAsGiven,
  infer(ctx, [input], p) {
    const type = ctx.oneOf("type", p.type, ACTIVATION_TYPES);
    ctx.dtype(input!, ["float32", "float16", "bfloat16"]);
    const [alpha, beta] = ACTIVATION_DEFAULTS[type];
    for (const [name, v] of [["alpha", p.alpha], ["beta", p.beta]] as const) {
      if (v !== undefined && !Number.isFinite(v)) ctx.fail(name, "a finite number", String(v));
    }
    return { params: { type, alpha: p.alpha ?? alpha, beta: p.beta ?? beta }, outputs: [input!] };
  },
});
