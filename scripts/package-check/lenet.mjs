// LeNet as a consumer's JavaScript network file: `netdef build lenet.mjs --weights lenet.safetensors`.
import { Network } from "netdef";

export default function defineLeNet(weights) {
  const net = new Network("lenet", { weights });
  const prob = net.addInput("data", "float32", [-1, 1, 28, 28])
    .addConvolution("conv1", { outChannels: 20, kernel: 5 }).addPooling("pool1", { type: "max", window: 2 })
    .addConvolution("conv2", { outChannels: 50, kernel: 5 }).addPooling("pool2", { type: "max", window: 2 })
    .addFullyConnected("fc1", { outFeatures: 500 }).addActivation("relu1", { type: "relu" })
    .addFullyConnected("fc2", { outFeatures: 10 }).addSoftMax("prob", { axis: 1 });
  return net.markOutput(prob);
}
