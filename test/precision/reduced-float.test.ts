import { describe, expect, it } from "vitest";
import { reducedFloat, roundToBfloat16, roundToFloat16 } from "netdef";
import { defineLeNet } from "../../examples/lenet/network.js";
import { loadFixtureWeights, sameClass } from "../fixtures.js";

describe("rounding", () => {
  it("bfloat16: 8 significant bits, ties to even", () => {
    expect(roundToBfloat16(1 + 2 ** -8)).toBe(1); // halfway between 1 and 1 + 2^-7: to even (1)
    expect(roundToBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(roundToBfloat16(Math.PI)).toBe(3.140625);
  });
  it("float16: 11 significant bits, subnormals, overflow", () => {
    expect(roundToFloat16(1 + 2 ** -11)).toBe(1);
    expect(roundToFloat16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundToFloat16(2 ** -25 * 3)).toBe(2 ** -23); // 1.5 steps of 2^-24 → 2 steps (ties to even)
    expect(roundToFloat16(70000)).toBe(Infinity);
  });
});

describe("LeNet in reduced precision", () => {
  it.each([["bfloat16", 0.995], ["float16", 0.995]] as const)("%s: ≥ %d of the 2,000 digits classified as PyTorch does", async (dtype, bound) => {
    const io = await loadFixtureWeights("lenet_io.safetensors");
    const net = reducedFloat(defineLeNet(await loadFixtureWeights("lenet.safetensors")), dtype, { keepFloat: ["softmax", "log_softmax"] });
    expect(net.toJSON().layers.filter((l) => l.kind === "cast").length).toBe(2 * 7);
    const engine = await net.build({ profiles: [{ data: { min: [1, 1, 28, 28], opt: [2000, 1, 28, 28], max: [2000, 1, 28, 28] } }] });
    const { prob } = await engine.createExecutionContext().execute({ data: { data: io.float32("input"), shape: [2000, 1, 28, 28] } });
    const agree = sameClass(prob!.data, io.get("output_fp64")!.data as Float64Array, 10);
    expect(agree / 2000).toBeGreaterThanOrEqual(bound);
  }, 60_000);
});
