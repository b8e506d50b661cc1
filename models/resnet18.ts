import { Network, WeightStore, type Tensor, type WeightSource } from "netdef";

/** Conv (no bias) → BatchNorm, the pair torchvision names `<conv>` and `<bn>`. */
function convBn(x: Tensor, conv: string, bn: string, outChannels: number, kernel: number, stride: number): Tensor {
  return x.addConvolution(conv, { outChannels, kernel, stride, padding: (kernel - 1) >> 1, bias: false }).addBatchNorm(bn);
}

/** torchvision's BasicBlock: two 3×3 convolutions, the shortcut downsampled when the shape changes. */
function basicBlock(x: Tensor, name: string, outChannels: number, stride: number): Tensor {
  const y = convBn(x, `${name}.conv1`, `${name}.bn1`, outChannels, 3, stride).addActivation(`${name}.relu1`, { type: "relu" });
  const z = convBn(y, `${name}.conv2`, `${name}.bn2`, outChannels, 3, 1);
  const shortcut = stride !== 1 || x.shape[1] !== outChannels ? convBn(x, `${name}.downsample.0`, `${name}.downsample.1`, outChannels, 1, stride) : x;
  return z.addElementWise(`${name}.add`, shortcut, "sum").addActivation(`${name}.relu2`, { type: "relu" });
}

/** torchvision's resnet18 in eval mode, weights by its state_dict names (`layer1.0.conv1.weight`, …). */
export function defineResNet18(weights?: WeightSource): Network {
  const net = new Network("resnet18", { weights });
  let x = convBn(net.addInput("input", "float32", [-1, 3, 224, 224]), "conv1", "bn1", 64, 7, 2)
    .addActivation("relu", { type: "relu" })
    .addPooling("maxpool", { type: "max", window: 3, stride: 2, padding: 1 });
  [64, 128, 256, 512].forEach((channels, i) => {
    for (let b = 0; b < 2; b++) x = basicBlock(x, `layer${i + 1}.${b}`, channels, i > 0 && b === 0 ? 2 : 1);
  });
  const logits = x.addReduce("avgpool", { op: "avg", axes: [2, 3] }).addFullyConnected("fc", { outFeatures: 1000 });
  return net.markOutput(logits, "output");
}

/** Seeded random weights of the right shapes for every name `network` binds (He-scaled; positive variances). */
export function randomWeights(network: Network, seed = 18): WeightStore {
  let state = seed >>> 0;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const store = new WeightStore();
  for (const layer of network.toJSON().layers) {
    for (const [role, binding] of Object.entries(layer.weights)) {
      const count = binding.shape.reduce((a, b) => a * b, 1);
      const fanIn = count / binding.shape[0]!;
      const data = new Float32Array(count).map(() => {
        if (role === "variance") return 0.5 + uniform();
        if (role === "weight" && layer.kind === "batchNorm") return 0.5 + uniform() * 0.5;
        return (uniform() * 2 - 1) * Math.sqrt(3 / Math.max(fanIn, 1)) * (role === "bias" || role === "mean" ? 0.1 : 1);
      });
      store.set(binding.name, { dtype: "float32", shape: binding.shape, data });
    }
  }
  return store;
}
