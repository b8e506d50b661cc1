import { Network, type Tensor, type WeightSource } from "netdef";

/**
 * An audio front end on [B, 1, 8000], as scripts/pytorch/bench_models.py's Conv1dStack: kernel 80 stride 16 → 32
 * channels, then two kernel-3 stages (32, 64), each with BatchNorm, ReLU and max pooling by 4 (`stages.N.0` … `.3`).
 */
export function defineConv1dStack(weights?: WeightSource, { samples = 8000 } = {}): Network {
  const net = new Network("conv1d_stack", { weights });
  let x: Tensor = net.addInput("input", "float32", [-1, 1, samples]);
  for (const [i, outChannels, kernel, stride] of [[0, 32, 80, 16], [1, 32, 3, 1], [2, 64, 3, 1]] as const) {
    x = x.addConvolution(`stages.${i}.0`, { outChannels, kernel, stride }).addBatchNorm(`stages.${i}.1`)
      .addActivation(`stages.${i}.2`, { type: "relu" }).addPooling(`stages.${i}.3`, { type: "max", window: 4 });
  }
  return net.markOutput(x, "output");
}
