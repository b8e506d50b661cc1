import { Network, type WeightSource } from "netdef";
import { multiHeadSelfAttention } from "./attention.js";

/**
 * A pre-norm vision-transformer encoder block on [B, tokens, model] (the tokens count the class token), as
 * scripts/pytorch/bench_models.py's PreNormTransformerBlock: x + attention(norm1(x)), then x + mlp(norm2(x)), the MLP
 * Linear → GELU (erf) → Linear, layer norms with ε 1e-6.
 */
export function defineViTBlock(weights: WeightSource | undefined, { tokens, model, heads, mlpRatio }: { tokens: number; model: number; heads: number; mlpRatio: number }): Network {
  const net = new Network(`vit_block_${model}`, { weights });
  const x = net.addInput("input", "float32", [-1, tokens, model]);
  const norm = { type: "layer", normalizedShape: [model], epsilon: 1e-6 } as const;
  const attention = multiHeadSelfAttention(net, x.addNormalization("norm1", norm), "attn", heads);
  const x1 = x.addElementWise("residual1", attention, "sum");
  const mlp = x1.addNormalization("norm2", norm).addLinear("mlp.0", { outFeatures: model * mlpRatio })
    .addActivation("mlp.1", { type: "gelu_erf" }).addLinear("mlp.2", { outFeatures: model });
  return net.markOutput(x1.addElementWise("residual2", mlp, "sum"), "output");
}
