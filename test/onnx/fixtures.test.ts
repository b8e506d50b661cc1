// The PyTorch fixtures exported to ONNX and run by onnxruntime (CPU): within 1e-4 of PyTorch's float64 output.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { exportOnnx, type Network, type WeightStore } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { defineMobileNetV2 } from "../../models/mobilenet-v2.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";

describe("ONNX export of the fixtures, run by onnxruntime", () => {
  it.each([
    ["lenet", defineLeNet, "data", "prob"],
    ["yolo_block", defineYoloBlock, "input", "output"],
    ["mobilenet_v2", defineMobileNetV2, "input", "output"],
  ] as [string, (w: WeightStore) => Network, string, string][])("%s", async (model, define, inputName, outputName) => {
    const io = await loadFixtureWeights(`${model}_io.safetensors`);
    const session = await ort.InferenceSession.create(await exportOnnx(define(await loadFixtureWeights(`${model}.safetensors`))));
    const input = io.get("input")!;
    const result = await session.run({ [inputName]: new ort.Tensor("float32", io.float32("input"), [...input.shape]) });
    const actual = result[outputName]!.data as Float32Array;
    const expected = io.get("output_fp64")!.data as Float64Array;
    expect(result[outputName]!.dims).toEqual(io.get("output_fp64")!.shape);
    let maxAbs = 0;
    for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - expected[i]!));
    expect(maxAbs).toBeLessThan(1e-4);
  });

  it("keeps names: inputs, outputs, layers as nodes, weights as initializers under PyTorch names, dynamic dims symbolic", async () => {
    const { onnx } = (await import("onnx-proto")).default;
    const model = onnx.ModelProto.toObject(onnx.ModelProto.decode(await exportOnnx(defineLeNet(await loadFixtureWeights("lenet.safetensors")))), { longs: Number });
    const graph = model.graph as { input: { name: string; type: { tensorType: { shape: { dim: { dimParam?: string }[] } } } }[]; output: { name: string }[]; initializer: { name: string }[]; node: { name: string }[] };
    expect(model.opsetImport).toEqual([{ domain: "", version: 17 }]);
    expect(graph.input.map((i) => i.name)).toEqual(["data"]);
    expect(graph.input[0]!.type.tensorType.shape.dim[0]!.dimParam).toBe("data_dim0");
    expect(graph.output.map((o) => o.name)).toEqual(["prob"]);
    expect(graph.initializer.map((i) => i.name).sort()).toEqual(["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
    expect(graph.node.map((n) => n.name)).toEqual(expect.arrayContaining(["conv1", "pool1", "conv2", "pool2", "fc1", "relu1", "fc2", "softmax", "log_softmax"]));
    // Every intermediate tensor's shape, as the DSL inferred it, for Netron: conv1 28 − 5 + 1 = 24, pool1 24 / 2 = 12.
    const shapes = Object.fromEntries((model.graph as { valueInfo: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[] }).valueInfo
      .map((v) => [v.name, [v.type.tensorType.elemType, ...v.type.tensorType.shape.dim.map((d) => d.dimValue ?? d.dimParam)]]));
    expect(shapes.conv1).toEqual([1, "conv1_dim0", 20, 24, 24]);
    expect(shapes.pool1).toEqual([1, "pool1_dim0", 20, 12, 12]);
    expect(shapes.fc1).toEqual([1, "fc1_dim0", 500]);
  });
});
