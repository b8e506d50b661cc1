import { describe, expect, it } from "vitest";
import { buildEngine, compareLayers, Engine, Network, refit, RefitError, type WeightSource, WeightStore } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { TensorRTReference } from "../../tensorrt/reference/reference.js";
import { defineTransformerEncoder } from "../../models/transformer-encoder.js";
import { loadFixtureWeights } from "../fixtures.js";

/** A second weight set of the same names and shapes: each value perturbed deterministically. */
function perturbed(weights: WeightStore): WeightStore {
  return new WeightStore([...weights.entries()].map(([name, t], k) => {
    const data = Float32Array.from(weights.float32(name), (v, i) => (name.endsWith("running_var") ? v * 1.5 + 0.1 : v * 0.9 + 0.01 * Math.sin(i + k)));
    return [name, { dtype: "float32", shape: t.shape, data }];
  }));
}

async function maxDifference(a: Engine, b: Engine, inputs: Record<string, { data: Float32Array; shape: number[] }>) {
  const [x, y] = await Promise.all([a.createExecutionContext().execute(inputs), b.createExecutionContext().execute(inputs)]);
  let max = 0;
  for (const name of Object.keys(x)) {
    const p = x[name]!.data, q = y[name]!.data;
    for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(Number(p[i]) - Number(q[i])));
  }
  return max;
}

describe("refit by name (builtin engine)", () => {
  it.each([
    ["LeNet", defineLeNet, "lenet", "data"],
    ["yolo_block (BatchNorms folded into convolutions are re-folded)", defineYoloBlock, "yolo_block", "input"],
  ] as [string, (w: WeightSource) => Network, string, string][])("%s: a refit engine matches a fresh build from the new weights within 1e-6", async (_, define, model, input) => {
    const original = await loadFixtureWeights(`${model}.safetensors`);
    const io = await loadFixtureWeights(`${model}_io.safetensors`);
    const shape = [...io.get("input")!.shape];
    shape[0] = Math.min(shape[0]!, 4);
    const inputs = { [input]: { data: io.float32("input").subarray(0, shape.reduce((a, b) => a * b, 1)), shape } };
    const profiles = [{ [input]: { min: shape, opt: shape, max: shape } }];
    const second = perturbed(original);
    const engine = await buildEngine(define(original), { profiles });
    const ctx = engine.createExecutionContext();
    const before = await ctx.execute(inputs);
    await refit(engine, second);
    const fresh = await buildEngine(define(second), { profiles });
    expect(await maxDifference(engine, fresh, inputs)).toBeLessThanOrEqual(1e-6);
    // The context made before the refit runs the new weights too.
    const after = await ctx.execute(inputs);
    expect(after).not.toEqual(before);
    expect(await maxDifference(fresh, engine, inputs)).toBeLessThanOrEqual(1e-6);
  });

  it("lists every unknown, missing and misshapen weight in one error and leaves the engine unchanged", async () => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const profiles = [{ data: { min: [1, 1, 28, 28], opt: [1, 1, 28, 28], max: [1, 1, 28, 28] } }];
    const engine = await Engine.deserialize((await buildEngine(defineLeNet(weights), { profiles })).serialize()); // a plan: needs every weight
    const inputs = { data: { data: (await loadFixtureWeights("lenet_io.safetensors")).float32("input").subarray(0, 784), shape: [1, 1, 28, 28] } };
    const before = await engine.createExecutionContext().execute(inputs);
    const bad = new WeightStore([...weights.entries()].filter(([n]) => n !== "fc2.bias"));
    bad.set("fc1.weight", { dtype: "float32", shape: [500, 801], data: new Float32Array(500 * 801) });
    bad.set("fc3.weight", { dtype: "float32", shape: [1], data: new Float32Array(1) });
    bad.set("conv1.bias", { dtype: "float32", shape: [20], data: new Float32Array(3) });  // was a PlanError
    const error = await refit(engine, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefitError);
    expect((error as RefitError).problems).toEqual([
      "'fc3.weight' is not a weight of this engine; nearest: 'fc1.weight', 'fc2.weight', 'conv1.weight'",
      "'conv1.bias' holds 3 values for its shape [20] (20) (conv1, models/lenet.ts:10:6)",
      "'fc1.weight' has shape [500,801], the engine expects [500,800] (fc1, models/lenet.ts:14:6)",
      "'fc2.bias' is missing (an engine loaded from a plan needs every weight) (fc2, models/lenet.ts:16:6)",
    ]);
    expect(await engine.createExecutionContext().execute(inputs)).toEqual(before);
  });

  it("a refit during executions lets running ones finish on consistent weights", async () => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const profiles = [{ data: { min: [1, 1, 28, 28], opt: [64, 1, 28, 28], max: [64, 1, 28, 28] } }];
    const engine = await buildEngine(defineLeNet(weights), { profiles });
    const second = perturbed(weights);
    const fresh = [await buildEngine(defineLeNet(weights), { profiles }), await buildEngine(defineLeNet(second), { profiles })];
    const inputs = { data: { data: (await loadFixtureWeights("lenet_io.safetensors")).float32("input").subarray(0, 64 * 784), shape: [64, 1, 28, 28] } };
    const expected = await Promise.all(fresh.map((e) => e.createExecutionContext().execute(inputs)));
    const contexts = [0, 1, 2, 3].map(() => engine.createExecutionContext());
    const running = contexts.map((c) => c.execute(inputs));
    await refit(engine, second);
    for (const result of await Promise.all(running)) expect([expected[0], expected[1]]).toContainEqual(result);
  });
});

describe("layer-by-layer comparison", () => {
  it("agrees with PyTorch's own activations at every layer, and finds the one layer of a copy with a padding bug", async () => {
    const weights = await loadFixtureWeights("yolo_block.safetensors");
    const io = await loadFixtureWeights("yolo_block_io.safetensors");
    const inputs = { input: { data: io.float32("input"), shape: [1, 3, 64, 64] } };
    // Every intermediate activation as PyTorch computed it (scripts/pytorch/yolo_block_activations.py), by layer name.
    const pytorch = await loadFixtureWeights("yolo_block_activations.safetensors");
    const correct = defineYoloBlock(weights);
    const report = await compareLayers(correct, inputs, pytorch);
    expect(report.rows).toHaveLength(23);
    expect(report.unmatched).toEqual([]);
    expect(report.firstDivergent).toBeUndefined();
    expect(Math.max(...report.rows.map((r) => r.maxAbs))).toBeLessThan(1e-4);

    // The buggy copy: the 9×9 SPP pool padded by 3 instead of 4 and cropped back to size, so every shape still fits.
    const buggy = Network.fromJSON(JSON.parse(JSON.stringify(correct.toJSON()).replace('"name":"spp.pool9","inputs":["down.mish"],"outputs":["spp.pool9"],"params":{"kernel":[9,9],"stride":[1,1],"dilation":[1,1],"prePadding":[4,4],"postPadding":[4,4]',
      '"name":"spp.pool9","inputs":["down.mish"],"outputs":["spp.pool9"],"params":{"kernel":[9,9],"stride":[1,1],"dilation":[1,1],"prePadding":[3,3],"postPadding":[5,5]')), { weights });
    const buggyReport = await compareLayers(buggy, inputs, pytorch);
    expect(buggyReport.firstDivergent).toBe("spp.pool9");
    expect(buggyReport.rows.find((r) => r.layer === "down.mish")!.ok).toBe(true);
    expect(buggyReport.toString()).toContain("first divergent layer: spp.pool9");
  });

  // The defaults depend on the tensor's type and magnitude (COMPARE_TOLERANCES): a port that wrote gelu_tanh where
  // PyTorch computes gelu_erf is found at that layer (the old 1e-4 + 1e-3·max passed it). Reference activations: the
  // TensorRT reference running the right network, an implementation independent of the builtin engine.
  it("finds a gelu_tanh written where gelu_erf was meant, with the default tolerances", async () => {
    const weights = await loadFixtureWeights("encoder.safetensors");
    const io = await loadFixtureWeights("encoder_io.safetensors");
    const inputs = { input: { data: io.float32("input"), shape: [2, 16, 64] } };
    const right = defineTransformerEncoder(weights);
    const run = TensorRTReference.of(right).execute(inputs);
    const activations = Object.fromEntries(right.toJSON().layers.flatMap((l) => {
      const t = run.layerOutputs.get(l.name)?.[0];
      return t && t.type === "kFLOAT" ? [[l.name, Float32Array.from(t.data)]] : [];
    }));
    expect((await compareLayers(right, inputs, activations)).firstDivergent).toBeUndefined();
    const swapped = Network.fromJSON(JSON.parse(JSON.stringify(right.toJSON()).replace('"type":"gelu_erf"', '"type":"gelu_tanh"')), { weights: right.weights });
    const report = await compareLayers(swapped, inputs, activations);
    expect(report.firstDivergent).toBe("gelu");
    expect(report.rows.find((r) => r.layer === "linear1")!.ok).toBe(true);
  });
});
