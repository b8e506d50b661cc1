import { Network, type WeightSource } from "netdef";

/**
 * The MNIST network of TensorRT's developer guide, as PyTorch defines it: two 5×5 convolutions with 2×2 max
 * pooling, two dense layers, log-softmax. Weights bind by state_dict name (`conv1.weight`, …).
 */
export function defineLeNet(weights?: WeightSource): Network {
  const net = new Network("lenet", { weights });
  const logProbabilities = net.addInput("data", "float32", [-1, 1, 28, 28])
    .addConvolution("conv1", { outChannels: 20, kernel: 5 })
    .addPooling("pool1", { type: "max", window: 2 })
    .addConvolution("conv2", { outChannels: 50, kernel: 5 })
    .addPooling("pool2", { type: "max", window: 2 })
    .addFullyConnected("fc1", { outFeatures: 500 })
    .addActivation("relu1", { type: "relu" })
    .addFullyConnected("fc2", { outFeatures: 10 })
    .addSoftMax("softmax", { axis: 1 })
    .addUnary("log_softmax", "log");
  return net.markOutput(logProbabilities, "prob");
}
