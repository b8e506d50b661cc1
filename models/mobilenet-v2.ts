import { Network, type Tensor, type WeightSource } from "netdef";

/** torchvision's Conv2dNormActivation: conv `<name>.0` (no bias) → BatchNorm `<name>.1` → ReLU6 unless linear. */
function convBn(x: Tensor, name: string, outChannels: number, kernel: number, stride: number, groups: number, relu6: boolean): Tensor {
  const y = x
    .addConvolution(`${name}.0`, { outChannels, kernel, stride, padding: (kernel - 1) / 2, groups, bias: false })
    .addBatchNorm(`${name}.1`);
  return relu6 ? y.addActivation(`${name}.relu6`, { type: "clip", alpha: 0, beta: 6 }) : y;
}

/** torchvision's InvertedResidual: expand 1×1, depthwise 3×3, project 1×1, with the residual add when shapes allow. */
function invertedResidual(x: Tensor, name: string, outChannels: number, stride: number, expandRatio: number): Tensor {
  const inChannels = x.shape[1]!;
  const hidden = inChannels * expandRatio;
  let y = x;
  let index = 0;
  if (expandRatio !== 1) y = convBn(y, `${name}.conv.${index++}`, hidden, 1, 1, 1, true);
  y = convBn(y, `${name}.conv.${index++}`, hidden, 3, stride, hidden, true);
  y = y.addConvolution(`${name}.conv.${index++}`, { outChannels, kernel: 1, bias: false }).addBatchNorm(`${name}.conv.${index}`);
  return stride === 1 && inChannels === outChannels ? x.addElementWise(`${name}.add`, y, "sum") : y;
}

/** torchvision's mobilenet_v2 in eval mode, weights by its state_dict names (`features.0.0.weight`, …). */
export function defineMobileNetV2(weights?: WeightSource): Network {
  const net = new Network("mobilenet_v2", { weights });
  let x = convBn(net.addInput("input", "float32", [-1, 3, 224, 224]), "features.0", 32, 3, 2, 1, true);
  // (expansion t, output channels c, repeats n, first stride s), as torchvision lists them.
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const;
  let feature = 1;
  for (const [t, c, n, s] of settings) {
    for (let i = 0; i < n; i++) x = invertedResidual(x, `features.${feature++}`, c, i === 0 ? s : 1, t);
  }
  x = convBn(x, `features.${feature}`, 1280, 1, 1, 1, true);
  const logits = x
    .addReduce("pool", { op: "avg", axes: [2, 3] })
    .addFullyConnected("classifier.1", { outFeatures: 1000 });
  return net.markOutput(logits, "output");
}
