import { Network, type Tensor, type WeightSource } from "netdef";

/**
 * q, k or v: `in_proj_weight`'s rows [from, from + out) (it stacks the three) as an `nn.Linear` on [B, T, in]: a
 * product with the rows transposed (a [1, out, in] constant: TensorRT multiplies equal ranks) plus the bias's rows.
 */
function projection(net: Network, x: Tensor, name: string, out: number, from: number): Tensor {
  const inFeatures = x.shape.at(-1)!;
  const w = net.addConstant(`${name}.w`, { shape: [3 * out, inFeatures], weights: "self_attn.in_proj_weight" })
    .addSlice(`${name}.w_rows`, { start: [from, 0], size: [out, inFeatures] });
  const b = net.addConstant(`${name}.b`, { shape: [3 * out], weights: "self_attn.in_proj_bias" }).addSlice(`${name}.b_rows`, { start: [from], size: [out] });
  const product = x.addMatrixMultiply(`${name}.matmul`, w.addShuffle(`${name}.w3`, { reshape: [1, out, inFeatures] }), { opB: "transpose" });
  return product.addElementWise(name, b.addShuffle(`${name}.b3`, { reshape: [1, 1, out] }), "sum");
}

/**
 * PyTorch's `nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0, activation="gelu",
 * batch_first=True)` in eval mode (post-norm): x = norm1(x + attention(x)), x = norm2(x + linear2(gelu(linear1(x)))).
 */
export function defineTransformerEncoder(weights?: WeightSource, { tokens = 16, model = 64, heads = 4, feedForward = 128 } = {}): Network {
  const net = new Network("transformer_encoder", { weights });
  const x = net.addInput("input", "float32", [-1, tokens, model]);
  const head = model / heads;
  // q, k, v as [B, heads, T, head]: their rows of in_proj_weight, split into heads.
  const project = (i: number, name: string) => projection(net, x, `self_attn.${name}`, model, i * model)
    .addShuffle(`self_attn.${name}_heads`, { reshape: [0, tokens, heads, head], secondTranspose: [0, 2, 1, 3] });
  const [q, k, v] = ["q", "k", "v"].map((name, i) => project(i, name));
  const scale = net.addConstant("self_attn.scale", { shape: [1, 1, 1, 1], weights: Float32Array.of(1 / Math.sqrt(head)) });
  const scores = q!.addMatrixMultiply("self_attn.scores", k!, { opB: "transpose" }).addElementWise("self_attn.scaled", scale, "prod");
  const attended = scores.addSoftMax("self_attn.softmax", { axis: -1 }).addMatrixMultiply("self_attn.attend", v!)
    .addShuffle("self_attn.concat_heads", { firstTranspose: [0, 2, 1, 3], reshape: [0, tokens, model] });
  const attention = attended.addLinear("self_attn.out_proj", { outFeatures: model });
  const x1 = x.addElementWise("residual1", attention, "sum").addNormalization("norm1", { type: "layer", normalizedShape: [model] });
  const hidden = x1.addLinear("linear1", { outFeatures: feedForward }).addActivation("gelu", { type: "gelu_erf" });
  const x2 = x1.addElementWise("residual2", hidden.addLinear("linear2", { outFeatures: model }), "sum");
  return net.markOutput(x2.addNormalization("norm2", { type: "layer", normalizedShape: [model] }), "output");
}
