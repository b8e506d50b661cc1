import type { Network, Tensor } from "netdef";

/**
 * q, k or v: `in_proj_weight`'s rows [from, from + out) (it stacks the three) as an `nn.Linear` on [B, T, in]: a
 * product with the rows transposed (a [1, out, in] constant: TensorRT multiplies equal ranks) plus the bias's rows.
 */
function projection(net: Network, x: Tensor, module: string, name: string, out: number, from: number): Tensor {
  const inFeatures = x.shape.at(-1)!;
  const w = net.addConstant(`${name}.w`, { shape: [3 * out, inFeatures], weights: `${module}.in_proj_weight` })
    .addSlice(`${name}.w_rows`, { start: [from, 0], size: [out, inFeatures] });
  const b = net.addConstant(`${name}.b`, { shape: [3 * out], weights: `${module}.in_proj_bias` }).addSlice(`${name}.b_rows`, { start: [from], size: [out] });
  const product = x.addMatrixMultiply(`${name}.matmul`, w.addShuffle(`${name}.w3`, { reshape: [1, out, inFeatures] }), { opB: "transpose" });
  return product.addElementWise(name, b.addShuffle(`${name}.b3`, { reshape: [1, 1, out] }), "sum");
}

/**
 * PyTorch's `nn.MultiheadAttention` (batch_first) of `x` [B, T, D] with itself, weights by the state_dict names under
 * `module` (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`); layers are named after it too:
 * q, k, v from in_proj_weight's rows split into heads, softmax(q kᵀ / √head) v, heads concatenated, out_proj.
 */
export function multiHeadSelfAttention(net: Network, x: Tensor, module: string, heads: number): Tensor {
  const [tokens, model] = [x.shape.at(-2)!, x.shape.at(-1)!];
  const head = model / heads;
  const project = (i: number, name: string) => projection(net, x, module, `${module}.${name}`, model, i * model)
    .addShuffle(`${module}.${name}_heads`, { reshape: [0, tokens, heads, head], secondTranspose: [0, 2, 1, 3] });
  const [q, k, v] = ["q", "k", "v"].map((name, i) => project(i, name));
  const scale = net.addConstant(`${module}.scale`, { shape: [1, 1, 1, 1], weights: Float32Array.of(1 / Math.sqrt(head)) });
  const scores = q!.addMatrixMultiply(`${module}.scores`, k!, { opB: "transpose" }).addElementWise(`${module}.scaled`, scale, "prod");
  const attended = scores.addSoftMax(`${module}.softmax`, { axis: -1 }).addMatrixMultiply(`${module}.attend`, v!)
    .addShuffle(`${module}.concat_heads`, { firstTranspose: [0, 2, 1, 3], reshape: [0, tokens, model] });
  return attended.addLinear(`${module}.out_proj`, { outFeatures: model });
}
