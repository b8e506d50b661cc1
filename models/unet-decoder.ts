import { Network, type Tensor, type WeightSource } from "netdef";

/**
 * A U-Net decoder stage, as scripts/pytorch/bench_models.py's UNetDecoderStage: transposed convolution 64→32 (2×2,
 * stride 2) from 16×16, concatenation with a 32-channel skip, two 3×3 convolution + BatchNorm + ReLU (`conv.0` … `conv.5`),
 * bilinear ×2 (PyTorch's align_corners=False), a 1×1 to 2 classes.
 */
export function defineUNetDecoder(weights?: WeightSource): Network {
  const net = new Network("unet_decoder", { weights });
  const x = net.addInput("input", "float32", [-1, 64, 16, 16]);
  const skip = net.addInput("skip", "float32", [-1, 32, 32, 32]);
  const up = x.addDeconvolution("up", { outChannels: 32, kernel: 2, stride: 2 });
  let y: Tensor = net.addConcatenation("cat", [up, skip], { axis: 1 });
  for (const i of [0, 3]) {
    y = y.addConvolution(`conv.${i}`, { outChannels: 32, kernel: 3, padding: 1, bias: false })
      .addBatchNorm(`conv.${i + 1}`).addActivation(`conv.${i + 2}`, { type: "relu" });
  }
  const upsampled = y.addResize("upsample", { mode: "linear", scales: [1, 1, 2, 2] });
  return net.markOutput(upsampled.addConvolution("head", { outChannels: 2, kernel: 1 }), "output");
}
