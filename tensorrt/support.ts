import type { LayerIR, NetworkIR } from "../dsl/ir.js";
import type { LayerKind } from "../layers/kinds.js";
import { LoweringError } from "../native/addon.js";

/**
 * How the TensorRT lowering (native/src/tensorrt/lowering.h) takes each layer kind: "lowered" where it has a branch
 * for it, or the reason TensorRT cannot take it. A kind missing here does not compile; a test checks each "lowered"
 * kind against the lowering's branches.
 */
export const TENSORRT_LOWERING: { readonly [K in LayerKind]: "lowered" | { readonly refused: string } } = {
  activation: "lowered", batchNorm: "lowered", cast: "lowered", concatenation: "lowered", constant: "lowered",
  convolution: "lowered", deconvolution: "lowered", dequantize: "lowered", elementWise: "lowered", expand: "lowered", fullyConnected: "lowered",
  gather: "lowered", identity: "lowered", lrn: "lowered", matrixMultiply: "lowered", normalization: "lowered",
  padding: "lowered", parametricReLU: "lowered", pooling: "lowered", quantize: "lowered", reduce: "lowered",
  resize: "lowered", scale: "lowered", select: "lowered", shuffle: "lowered", slice: "lowered", softMax: "lowered",
  topK: "lowered", unary: "lowered",
};

type LimitCheck<K extends LayerKind> = (layer: LayerIR<K>, shapeOf: (tensor: string) => readonly number[]) => string | undefined;

/**
 * Limits TensorRT documents for layers the DSL takes more widely (quoted from NvInfer.h, 10.16): what breaks one is
 * refused before the lowering, with the reason.
 */
export const TENSORRT_LIMITS: { readonly [K in LayerKind]?: LimitCheck<K> } = {
  topK(layer, shapeOf) {
    const { k, axis } = layer.params, rank = shapeOf(layer.inputs[0]!).length;
    if (k > 3840) return `k = ${k}: "Currently only values of K up to 3840 are supported"`;
    if (axis < rank - 4) return `axis ${axis} of a rank-${rank} input: "it must be one of the last four dimensions"`;
    return undefined;
  },
  lrn(layer, shapeOf) {
    const rank = shapeOf(layer.inputs[0]!).length;
    return rank !== 4 ? `a rank-${rank} input: TensorRT's LRN runs across the channels of NCHW tensors` : undefined;
  },
  resize(layer, shapeOf) {
    const input = shapeOf(layer.inputs[0]!), output = shapeOf(layer.outputs[0]!);
    const first = input.findIndex((d, i) => d !== output[i]);
    const resized = first < 0 ? 0 : input.length - first;
    const most = { nearest: 8, linear: 3, cubic: 2 }[layer.params.mode];
    return resized > most ? `${layer.params.mode} resizing of the last ${resized} dimensions: TensorRT resizes at most ${most} that way` : undefined;
  },
};

/** The network's layers that TensorRT cannot take, refused before the lowering runs: a LoweringError naming each. */
export function checkLowerable(ir: NetworkIR): void {
  const shapes = new Map([...ir.inputs, ...ir.tensors].map((t) => [t.name, t.shape]));
  const shapeOf = (tensor: string) => shapes.get(tensor)!;
  const refused = ir.layers.flatMap((layer) => {
    const support = TENSORRT_LOWERING[layer.kind];
    const limit = (TENSORRT_LIMITS[layer.kind] as LimitCheck<typeof layer.kind> | undefined)?.(layer as never, shapeOf);
    const reason = support === "lowered" ? limit : support.refused;
    return reason === undefined ? [] : [`${layer.name} (${layer.kind}${layer.callSite ? `, ${layer.callSite}` : ""}): ${reason}`];
  });
  if (refused.length) throw new LoweringError(`the TensorRT backend cannot take ${refused.length} layer(s):\n  ${refused.join("\n  ")}`);
}
