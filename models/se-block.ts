import { Network, type Tensor, type WeightSource } from "netdef";

/** Convolution (no bias) → BatchNorm → optional activation, named as an `nn.Sequential` (`<name>.0`, `.1`, `.2`). */
function convBn(x: Tensor, name: string, outChannels: number, kernel: number, { groups = 1, silu = true } = {}): Tensor {
  const y = x.addConvolution(`${name}.0`, { outChannels, kernel, padding: (kernel - 1) / 2, groups, bias: false }).addBatchNorm(`${name}.1`);
  return silu ? y.addActivation(`${name}.2`, { type: "silu" }) : y;
}

/**
 * EfficientNet-B0's stage-2 inverted residual at 56×56 with squeeze-excitation, as scripts/pytorch/bench_models.py's
 * SqueezeExcitationBlock: expand 1×1 24→144, depthwise 3×3, squeeze-excitation (torchvision's SqueezeExcitation:
 * mean, 1×1 to 6 + SiLU, 1×1 to 144 + sigmoid, scale), project 1×1 144→24, residual.
 */
export function defineSqueezeExcitationBlock(weights?: WeightSource, { channels = 24, expanded = 144, squeezed = 6, size = 56 } = {}): Network {
  const net = new Network("se_block", { weights });
  const x = net.addInput("input", "float32", [-1, channels, size, size]);
  const features = convBn(convBn(x, "expand", expanded, 1), "depthwise", expanded, 3, { groups: expanded });
  const gate = features.addReduce("se.avgpool", { op: "avg", axes: [2, 3], keepDims: true })
    .addConvolution("se.fc1", { outChannels: squeezed, kernel: 1 }).addActivation("se.activation", { type: "silu" })
    .addConvolution("se.fc2", { outChannels: expanded, kernel: 1 }).addActivation("se.scale_activation", { type: "sigmoid" });
  const projected = convBn(features.addElementWise("se", gate, "prod"), "project", channels, 1, { silu: false });
  return net.markOutput(x.addElementWise("residual", projected, "sum"), "output");
}
