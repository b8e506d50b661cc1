// The TensorRT runtime's TypeScript half, which needs no GPU: inputs handed over as their types' bytes, outputs read
// back into their types' arrays. (The native half compiles against TensorRT's headers: npm run check:tensorrt:versions.)
import { describe, expect, it } from "vitest";
import { compareLayers, Network, TensorRTUnavailableError } from "netdef";
import { recordTensorRTLowering } from "netdef/diagnostics";
import { defineLeNet } from "../../models/lenet.js";
import { inputBytes, outputFromBytes } from "../../runtime/io.js";
import { loadFixtureWeights } from "../fixtures.js";

describe("TensorRT's bytes and the typed arrays", () => {
  it.each([
    ["float32", Float32Array.of(1.5, -2)],
    ["float16", Uint16Array.of(0x3e00, 0xc000)],
    ["bfloat16", Uint16Array.of(0x3fc0, 0xc000)],
    ["int8", Int8Array.of(-128, 127)],
    ["uint8", Uint8Array.of(0, 255)],
    ["bool", Uint8Array.of(1, 0)],
    ["int32", Int32Array.of(2 ** 31 - 1, -(2 ** 31))],
    ["int64", BigInt64Array.of(2n ** 53n + 1n, -(2n ** 63n))],
  ] as const)("%s: an input's bytes come back as the same values", (dtype, data) => {
    const bytes = inputBytes({ name: "x", dtype, data, shape: [2] });
    expect(bytes.byteLength).toBe(data.byteLength);
    // As TensorRT hands bytes back: a Uint8Array at any offset of a larger buffer.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(outputFromBytes(dtype, shifted.subarray(3), [2])).toEqual({ data, shape: [2], dtype });
  });
});

describe("layer-by-layer comparison on the TensorRT backend", () => {
  it("marks each compared tensor a network output of the TensorRT build (here, without TensorRT, the build says so)", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    const debug = Network.fromJSON(net.toJSON(), { weights: net.weights });
    debug.markDebug(debug.tensor("conv1")!);
    expect(recordTensorRTLowering(debug).calls.filter((c) => c.method === "markOutput").map((c) => c.args)).toEqual(["prob", "conv1"]);
    const input = { data: { data: new Float32Array(784), shape: [1, 1, 28, 28] } };
    await expect(compareLayers(net, input, { conv1: new Float32Array(20 * 24 * 24) }, { backend: "tensorrt" })).rejects.toBeInstanceOf(TensorRTUnavailableError);
  });
});
