import { Network, type Tensor, type WeightSource } from "netdef";

/** mish(x) = x · tanh(softplus(x)), assembled as a TensorRT port must: two activations and a product. */
function mish(x: Tensor, name: string): Tensor {
  const t = x.addActivation(`${name}.softplus`, { type: "softplus" }).addActivation(`${name}.tanh`, { type: "tanh" });
  return x.addElementWise(`${name}.mish`, t, "prod");
}

/** Conv (no bias) → BatchNorm → Mish, the module `<name>` with children `conv` and `bn`. */
function convBnMish(x: Tensor, name: string, outChannels: number, kernel: number, stride = 1): Tensor {
  const y = x
    .addConvolution(`${name}.conv`, { outChannels, kernel, stride, padding: (kernel - 1) / 2, bias: false })
    .addBatchNorm(`${name}.bn`);
  return mish(y, name);
}

/** A detector-style block: Conv-BN-Mish, SPP max pools, nearest ×2 upsample, concatenations, sigmoid head. */
export function defineYoloBlock(weights?: WeightSource): Network {
  const net = new Network("yolo_block", { weights });
  const input = net.addInput("input", "float32", [-1, 3, 64, 64]);
  const stem = convBnMish(input, "stem", 16, 3);
  const down = convBnMish(stem, "down", 32, 3, 2);
  const pools = [5, 9, 13].map((k) => down.addPooling(`spp.pool${k}`, { type: "max", window: k, stride: 1, padding: (k - 1) / 2 }));
  const spp = net.addConcatenation("spp", [down, ...pools], { axis: 1 });
  const reduce = convBnMish(spp, "reduce", 32, 1);
  const up = reduce.addResize("up", { mode: "nearest", scales: [1, 1, 2, 2] });
  const head = net.addConcatenation("head.cat", [up, stem], { axis: 1 })
    .addConvolution("head", { outChannels: 18, kernel: 1 })
    .addActivation("head.sigmoid", { type: "sigmoid" });
  return net.markOutput(head, "output");
}
