// Softmax, log-softmax and layer normalisation over rows of every length and stride, builtin engine vs onnxruntime:
// the vectorised kernels take 8 values (or 8 rows side by side) a step, so each axis of shapes whose extents are off
// multiples of 8 reaches their whole steps and their tails, at transformer sizes too.
import { describe, expect, it } from "vitest";
import { agreement, runBoth } from "./oracle.js";
import type { LayerCase } from "../../selftest/layer-cases.js";

const shapes = [[3, 5, 13, 17], [2, 4, 9, 64], [2, 3, 200]];
const softmaxes = shapes.flatMap((shape) => shape.map((_, axis) => [shape, axis] as const));

describe("rows of every length and stride vs onnxruntime", () => {
  it.each(softmaxes.flatMap(([shape, axis]) => [false, true].map((log) => [`${shape.join("×")} axis ${axis}${log ? ", log" : ""}`, shape, axis, log] as const)))(
    "softmax %s", async (_, shape, axis, log) => {
      const c: LayerCase = {
        inputs: { x: { shape: [...shape], values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) * 6) } },
        define: (_, t) => { const s = t.x!.addSoftMax("s", { axis }); return log ? s.addUnary("l", "log") : s; },
      };
      for (const { builtin, onnxruntime } of await runBoth(c)) {
        expect(agreement(builtin, onnxruntime).sameShape).toBe(true);
        expect(agreement(builtin, onnxruntime).ratio).toBeLessThanOrEqual(1);
      }
    });

  it.each([[[4, 7], 7], [[2, 16, 64], 64], [[2, 3, 197, 192], 192], [[2, 5, 13], 13]] as const)("layer norm over the last axis of %j", async (shape, n) => {
    const c: LayerCase = {
      inputs: { x: { shape: [...shape], values: Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, (_, i) => Math.cos(i * 0.71) * 3 + 1) } },
      define: (_, t, w) => t.x!.addNormalization("n", { type: "layer", normalizedShape: [n], epsilon: 1e-6, weights: { scale: w(n), bias: w(n) } }),
    };
    for (const { builtin, onnxruntime } of await runBoth(c)) {
      expect(agreement(builtin, onnxruntime).sameShape).toBe(true);
      expect(agreement(builtin, onnxruntime).ratio).toBeLessThanOrEqual(1);
    }
  });
});
