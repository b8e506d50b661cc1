import { Network, type Tensor, type WeightSource } from "netdef";

/** Conv (no bias) → BatchNorm, named `<prefix>.<i>` and `<prefix>.<i + 1>` as torchvision's Sequential does. */
function convBn(x: Tensor, prefix: string, i: number, outChannels: number, kernel: number, stride = 1, groups = 1): Tensor {
  return x.addConvolution(`${prefix}.${i}`, { outChannels, kernel, stride, padding: (kernel - 1) >> 1, groups, bias: false }).addBatchNorm(`${prefix}.${i + 1}`);
}
const relu = (x: Tensor, name: string) => x.addActivation(name, { type: "relu" });

/** torchvision's channel_shuffle with 2 groups: view [B, 2, C/2, H, W], swap the two channel axes, view back. */
function channelShuffle(x: Tensor, name: string): Tensor {
  const [, c, h, w] = x.shape as number[];
  return x.addShuffle(`${name}.transpose`, { reshape: [0, 2, c! / 2, h!, w!], secondTranspose: [0, 2, 1, 3, 4] }).addShuffle(name, { reshape: [0, c!, h!, w!] });
}

/** torchvision's InvertedResidual of ShuffleNetV2. */
function unit(net: Network, x: Tensor, name: string, outChannels: number, stride: number): Tensor {
  const half = outChannels / 2;
  const branch2 = (y: Tensor) => {
    const a = relu(convBn(y, `${name}.branch2`, 0, half, 1), `${name}.branch2.2`);
    const b = convBn(a, `${name}.branch2`, 3, half, 3, stride, half);
    return relu(convBn(b, `${name}.branch2`, 5, half, 1), `${name}.branch2.7`);
  };
  let out: Tensor;
  if (stride === 1) {
    const [x1, x2] = x.addChunk(`${name}.chunk`, { chunks: 2, axis: 1 });  // x.chunk(2, dim=1)
    out = net.addConcatenation(`${name}.cat`, [x1!, branch2(x2!)], { axis: 1 });
  } else {
    const inChannels = x.shape[1]!;
    const branch1 = relu(convBn(convBn(x, `${name}.branch1`, 0, inChannels, 3, stride, inChannels), `${name}.branch1`, 2, half, 1), `${name}.branch1.4`);
    out = net.addConcatenation(`${name}.cat`, [branch1, branch2(x)], { axis: 1 });
  }
  return channelShuffle(out, `${name}.shuffle`);
}

/** torchvision's shufflenet_v2_x0_5 in eval mode, weights by its state_dict names (`stage2.0.branch1.0.weight`, …). */
export function defineShuffleNetV2(weights?: WeightSource): Network {
  const net = new Network("shufflenet_v2_x0_5", { weights });
  let x = relu(convBn(net.addInput("input", "float32", [-1, 3, 224, 224]), "conv1", 0, 24, 3, 2), "conv1.2")
    .addPooling("maxpool", { type: "max", window: 3, stride: 2, padding: 1 });
  [[2, 4, 48], [3, 8, 96], [4, 4, 192]].forEach(([stage, repeats, out]) => {
    for (let i = 0; i < repeats!; i++) x = unit(net, x, `stage${stage}.${i}`, out!, i === 0 ? 2 : 1);
  });
  x = relu(convBn(x, "conv5", 0, 1024, 1), "conv5.2").addReduce("mean", { op: "avg", axes: [2, 3] });
  return net.markOutput(x.addFullyConnected("fc", { outFeatures: 1000 }), "output");
}
