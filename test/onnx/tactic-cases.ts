// The convolution cases every tactic is run on, against onnxruntime (layers.test.ts) and with each GEMM tile.
import type { OracleCase } from "./oracle.js";

export const img = (c = 3, h = 7, w = 7) => ({ x: { shape: [2, c, h, w] } });

// Every implementation of a convolution on the same case (pinned with BuildOptions.tactics), so each tactic meets
// the oracle on its own, whatever the shape rules would pick: partial blocks of output channels and of pixels,
// stride, dilation, asymmetric and same_upper padding, groups, 1-d and 3-d, fused residual and activations, batch 2;
// for direct_c16 both its 16- and 8-channel tiles.
const gemm = ["implicit_gemm_k128", "implicit_gemm_k256", "implicit_gemm_k512", "direct_c16"];
const winograd = ["winograd_2x2_3x3", "winograd_4x4_3x3"];
export const tacticCases: Record<string, OracleCase & { tactics: string[] }> = {
  "3×3 16→24 pad 1 on 9×11": { tactics: [...gemm, ...winograd, "direct_rows"], inputs: img(16, 9, 11), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 24, kernel: 3, padding: 1, weights: { kernel: w(24, 16, 3, 3), bias: w(24) } }) },
  "5×5 20→50 on 12×12 (LeNet's conv2)": { tactics: [...gemm, "direct_rows"], inputs: img(20, 12, 12), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 50, kernel: 5, weights: { kernel: w(50, 20, 5, 5), bias: w(50) } }) },
  "3×3 stride 2 dilation 2, pre/post padding [2, 0]/[1, 3]": { tactics: [...gemm, "direct_rows"], inputs: img(12, 13, 14), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 19, kernel: 3, stride: 2, dilation: 2, prePadding: [2, 0], postPadding: [1, 3], weights: { kernel: w(19, 12, 3, 3), bias: w(19) } }) },
  "stem-like 3→8, 3×3 stride 2 pad 1 on 97×131 at batch 1 (padded rows shared between threads, split by phase)": { tactics: [...gemm, "direct_rows"], inputs: { x: { shape: [1, 3, 97, 131] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 8, kernel: 3, stride: 2, padding: 1, weights: { kernel: w(8, 3, 3, 3), bias: w(8) } }) },
  "5×5 stride 3 pad 2 on 19×23 (three column phases)": { tactics: [...gemm, "direct_rows"], inputs: img(4, 19, 23), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 7, kernel: 5, stride: 3, padding: 2, weights: { kernel: w(7, 4, 5, 5), bias: w(7) } }) },
  "4×3 stride [2, 1] same_upper": { tactics: [...gemm, "direct_rows"], inputs: img(9, 10, 7), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 16, kernel: [4, 3], stride: [2, 1], paddingMode: "same_upper", bias: false, weights: { kernel: w(16, 9, 4, 3) } }) },
  "groups 2, 9 filters each": { tactics: [...gemm, "direct_rows"], inputs: img(8, 9, 9), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 18, kernel: 3, groups: 2, padding: 1, weights: { kernel: w(18, 4, 3, 3), bias: w(18) } }) },
  "1-d, kernel 5": { tactics: [...gemm, "direct_rows"], inputs: { x: { shape: [2, 12, 40] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 17, kernel: 5, padding: 2, weights: { kernel: w(17, 12, 5), bias: w(17) } }) },
  "3-d, 3×3×3 pad 1": { tactics: [...gemm, "direct_rows"], inputs: { x: { shape: [1, 4, 4, 5, 6] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 4, 3, 3, 3), bias: w(16) } }) },
  "3×3 16→20 pad 1 on 37×30 (10 × 8 tiles of 4×4 in 5 panels, 19 × 15 of 2×2)": { tactics: ["direct_c16", ...winograd], inputs: img(16, 37, 30), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 20, kernel: 3, padding: 1, weights: { kernel: w(20, 16, 3, 3), bias: w(20) } }) },
  "3×3 16→16 no padding on 8×7": { tactics: [...winograd, "direct_c16", "direct_rows"], inputs: img(16, 8, 7), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 16, kernel: 3, bias: false, weights: { kernel: w(16, 16, 3, 3) } }) },
  "3×3 20→17 pre/post padding [0, 2]/[2, 1] on 6×5": { tactics: [...winograd, "direct_c16", "direct_rows"], inputs: img(20, 6, 5), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 17, kernel: 3, prePadding: [0, 2], postPadding: [2, 1], weights: { kernel: w(17, 20, 3, 3), bias: w(17) } }) },
  "3×3 16→16 same_lower on 6×6": { tactics: [...winograd, "direct_c16"], inputs: img(16, 6, 6), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 16, kernel: 3, paddingMode: "same_lower", weights: { kernel: w(16, 16, 3, 3), bias: w(16) } }) },
  "64→64 on 56×56 + residual, batch 5 (Winograd takes the images in groups: 4 + 1 of 4×4 tiles, 2 + 2 + 1 of 2×2)": { tactics: winograd, inputs: { x: { shape: [5, 64, 56, 56] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 64, kernel: 3, padding: 1, weights: { kernel: w(64, 64, 3, 3), bias: w(64) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "256→32 on 7×7 (long sums)": { tactics: [...gemm, ...winograd, "direct_rows"], inputs: { x: { shape: [1, 256, 7, 7] } }, define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 32, kernel: 3, padding: 1, weights: { kernel: w(32, 256, 3, 3), bias: w(32) } }) },
  "+ residual + relu (fused)": { tactics: [...gemm, ...winograd, "direct_rows"], inputs: img(16, 10, 10), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 16, kernel: 3, padding: 1, weights: { kernel: w(16, 16, 3, 3), bias: w(16) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "20 channels + residual + relu (fused; a last block of 4)": { tactics: [...gemm, "direct_rows"], inputs: img(20, 9, 7), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 20, kernel: 3, padding: 1, weights: { kernel: w(20, 20, 3, 3), bias: w(20) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "+ sigmoid (fused)": { tactics: [...gemm, "direct_rows"], inputs: img(10, 8, 9), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 12, kernel: 3, stride: 2, weights: { kernel: w(12, 10, 3, 3), bias: w(12) } }).addActivation("s", { type: "sigmoid" }) },
  "+ clip [−0.1, 0.2] (fused)": { tactics: [...gemm, "direct_rows"], inputs: img(10, 8, 9), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 12, kernel: 3, padding: 1, weights: { kernel: w(12, 10, 3, 3), bias: w(12) } }).addActivation("clip", { type: "clip", alpha: -0.1, beta: 0.2 }) },
  "1×1 24→24 + residual + relu on 8×8 (whole 6 × 16 tiles)": { tactics: ["pointwise_gemm", "direct_c16"], inputs: img(24, 8, 8), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 24, kernel: 1, weights: { kernel: w(24, 24, 1, 1), bias: w(24) } }).addElementWise("add", x!, "sum").addActivation("relu", { type: "relu" }) },
  "1×1 32→20 on 7×9": { tactics: ["pointwise_gemm", "implicit_gemm_k256", "direct_c16"], inputs: img(32, 7, 9), define: (_, { x }, w) => x!.addConvolution("c", { outChannels: 20, kernel: 1, weights: { kernel: w(20, 32, 1, 1), bias: w(20) } }) },
};

