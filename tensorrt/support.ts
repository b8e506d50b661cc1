import type { NetworkIR } from "../dsl/ir.js";
import type { LayerKind } from "../layers/kinds.js";
import { LoweringError } from "../native/addon.js";

/**
 * How the TensorRT lowering (native/src/tensorrt/lowering.h) takes each layer kind: "lowered" where it has a branch
 * for it, or the reason TensorRT cannot take it. A kind missing here does not compile; a test checks each "lowered"
 * kind against the lowering's branches.
 */
export const TENSORRT_LOWERING: { readonly [K in LayerKind]: "lowered" | { readonly refused: string } } = {
  activation: "lowered", batchNorm: "lowered", cast: "lowered", concatenation: "lowered", constant: "lowered",
  convolution: "lowered", deconvolution: "lowered", dequantize: "lowered", elementWise: "lowered", fullyConnected: "lowered",
  gather: "lowered", identity: "lowered", lrn: "lowered", matrixMultiply: "lowered", normalization: "lowered",
  padding: "lowered", parametricReLU: "lowered", pooling: "lowered", quantize: "lowered", reduce: "lowered",
  resize: "lowered", scale: "lowered", select: "lowered", shuffle: "lowered", slice: "lowered", softMax: "lowered",
  topK: "lowered", unary: "lowered",
};

/** The network's layers that TensorRT cannot take, refused before the lowering runs: a LoweringError naming each. */
export function checkLowerable(ir: NetworkIR): void {
  const refused = ir.layers.flatMap((layer) => {
    const support = TENSORRT_LOWERING[layer.kind];
    return support === "lowered" ? [] : [`${layer.name} (${layer.kind}${layer.callSite ? `, ${layer.callSite}` : ""}): ${support.refused}`];
  });
  if (refused.length) throw new LoweringError(`the TensorRT backend cannot take ${refused.length} layer(s):\n  ${refused.join("\n  ")}`);
}
