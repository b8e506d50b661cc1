import { Network, type WeightSource } from "netdef";
import { multiHeadSelfAttention } from "./attention.js";

/**
 * PyTorch's `nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0, activation="gelu",
 * batch_first=True)` in eval mode (post-norm): x = norm1(x + attention(x)), x = norm2(x + linear2(gelu(linear1(x)))).
 */
export function defineTransformerEncoder(weights?: WeightSource, { tokens = 16, model = 64, heads = 4, feedForward = 128 } = {}): Network {
  const net = new Network("transformer_encoder", { weights });
  const x = net.addInput("input", "float32", [-1, tokens, model]);
  const attention = multiHeadSelfAttention(net, x, "self_attn", heads);
  const x1 = x.addElementWise("residual1", attention, "sum").addNormalization("norm1", { type: "layer", normalizedShape: [model] });
  const hidden = x1.addLinear("linear1", { outFeatures: feedForward }).addActivation("gelu", { type: "gelu_erf" });
  const x2 = x1.addElementWise("residual2", hidden.addLinear("linear2", { outFeatures: model }), "sum");
  return net.markOutput(x2.addNormalization("norm2", { type: "layer", normalizedShape: [model] }), "output");
}
