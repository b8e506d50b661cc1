import { Network, type Tensor, type WeightSource } from "netdef";

const relu = (x: Tensor, name: string) => x.addActivation(name, { type: "relu" });

/** torchvision's Fire module: a 1×1 squeeze, then 1×1 and 3×3 expansions concatenated on channels, each with ReLU. */
function fire(net: Network, x: Tensor, name: string, squeeze: number, expand: number): Tensor {
  const s = relu(x.addConvolution(`${name}.squeeze`, { outChannels: squeeze, kernel: 1 }), `${name}.squeeze_activation`);
  const e1 = relu(s.addConvolution(`${name}.expand1x1`, { outChannels: expand, kernel: 1 }), `${name}.expand1x1_activation`);
  const e3 = relu(s.addConvolution(`${name}.expand3x3`, { outChannels: expand, kernel: 3, padding: 1 }), `${name}.expand3x3_activation`);
  return net.addConcatenation(`${name}.cat`, [e1, e3], { axis: 1 });
}

/** torchvision's squeezenet1_1 in eval mode, weights by its state_dict names (`features.3.squeeze.weight`, …). */
export function defineSqueezeNet(weights?: WeightSource): Network {
  const net = new Network("squeezenet1_1", { weights });
  const pool = (x: Tensor, name: string) => x.addPooling(name, { type: "max", window: 3, stride: 2, ceilMode: true });
  let x = relu(net.addInput("input", "float32", [-1, 3, 224, 224]).addConvolution("features.0", { outChannels: 64, kernel: 3, stride: 2 }), "features.1");
  x = pool(x, "features.2");
  x = fire(net, fire(net, x, "features.3", 16, 64), "features.4", 16, 64);
  x = pool(x, "features.5");
  x = fire(net, fire(net, x, "features.6", 32, 128), "features.7", 32, 128);
  x = pool(x, "features.8");
  for (const [i, squeeze, expand] of [[9, 48, 192], [10, 48, 192], [11, 64, 256], [12, 64, 256]] as const) x = fire(net, x, `features.${i}`, squeeze, expand);
  const logits = relu(x.addConvolution("classifier.1", { outChannels: 1000, kernel: 1 }), "classifier.2")
    .addReduce("classifier.3", { op: "avg", axes: [2, 3] });
  return net.markOutput(logits, "output");
}
