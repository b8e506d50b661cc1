// The kernels that walk their inputs as rows (kernels/broadcast.h), builtin engine vs onnxruntime. Broadcasting:
// random pairs (and triples, for select) of shapes of rank 1 to 5 whose dimensions are each full, 1 or missing in
// every input — rows that run, rows held at one value, mixtures walked as strided rows — for the arithmetic the
// kernel vectorises and the rest. Transposes: random permutations of random shapes, rows copied or gathered.
import { describe, expect, it } from "vitest";
import { agreement, runBoth } from "./oracle.js";
import type { LayerCase } from "../../selftest/layer-cases.js";

/** A seeded generator of shapes that broadcast together: each input keeps, collapses to 1 or drops each dimension. */
function broadcastShapes(seed: number, inputs: number): number[][] {
  let state = seed;
  const next = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31) >> 8) % n;
  const out = Array.from({ length: 1 + next(5) }, () => 1 + next(5));
  return Array.from({ length: inputs }, () => {
    const drop = next(out.length);  // leading dimensions this input leaves out
    return out.slice(drop).map((d) => (next(3) === 0 ? 1 : d));
  });
}

const ops = ["sum", "prod", "sub", "div", "max", "min", "pow"] as const;

describe("broadcasting in every pattern vs onnxruntime", () => {
  it.each(Array.from({ length: 60 }, (_, i) => i))("element-wise, shapes of seed %i", async (seed) => {
    const [a, b] = broadcastShapes(seed + 1, 2);
    const op = ops[seed % ops.length]!;
    // pow's base and div's divisor kept in [0.5, 1.5], away from NaN and from dividing by nearly 0.
    const positive = (s: number[]) => Array.from({ length: s.reduce((x, y) => x * y, 1) }, (_, i) => 0.5 + ((i * 7) % 11) / 10);
    const c: LayerCase = {
      inputs: { a: { shape: a!, values: op === "pow" ? positive(a!) : undefined }, b: { shape: b!, values: op === "div" ? positive(b!) : undefined } },
      define: (_, t) => t.a!.addElementWise("e", t.b!, op),
    };
    for (const { builtin, onnxruntime } of await runBoth(c, seed)) {
      const { ratio, sameShape } = agreement(builtin, onnxruntime);
      expect({ a, b, op, sameShape }).toEqual({ a, b, op, sameShape: true });
      expect(ratio).toBeLessThanOrEqual(1);
    }
  });

  it.each(Array.from({ length: 20 }, (_, i) => i))("select, shapes of seed %i", async (seed) => {
    const [condition, a, b] = broadcastShapes(seed + 100, 3);
    const c: LayerCase = {
      inputs: { c: { shape: condition!, dtype: "bool" }, a: { shape: a! }, b: { shape: b! } },
      define: (net, t) => net.addSelect("s", t.c!, t.a!, t.b!),
    };
    for (const { builtin, onnxruntime } of await runBoth(c, seed)) {
      const { ratio, sameShape } = agreement(builtin, onnxruntime);
      expect({ condition, a, b, sameShape }).toEqual({ condition, a, b, sameShape: true });
      expect(ratio).toBe(0);
    }
  });

  it.each(Array.from({ length: 30 }, (_, i) => i))("a transpose, shape and permutation of seed %i", async (seed) => {
    let state = seed + 7;
    const next = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31) >> 8) % n;
    const shape = Array.from({ length: 2 + next(4) }, () => 1 + next(6));
    const perm = shape.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) { const j = next(i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
    const c: LayerCase = { inputs: { x: { shape } }, define: (_, t) => t.x!.addShuffle("t", { secondTranspose: perm }) };
    for (const { builtin, onnxruntime } of await runBoth(c, seed)) {
      expect({ shape, perm, sameShape: agreement(builtin, onnxruntime).sameShape }).toEqual({ shape, perm, sameShape: true });
      expect(agreement(builtin, onnxruntime).ratio).toBe(0);
    }
  });
});
