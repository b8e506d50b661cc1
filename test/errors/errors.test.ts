// One error family: every error netdef throws is a NetdefError with a code, and errors about a layer carry the
// user's call site from the IR at every stage (definition, build, refit, ONNX export, TensorRT lowering, execution).
import { readFileSync } from "node:fs";
import { typedNativeError } from "../../native/addon.js";
import { describe, expect, it } from "vitest";
import {
  BuildCancelledError, buildEngine, BuildError, DisposedError, ExecutionError, exportOnnx, LoweringError, NetdefError, Network, NetworkError,
  OnnxExportError, PlanError, RefitError, TensorRTError, TensorRTUnavailableError, WeightFileError,
} from "netdef";
import { recordTensorRTLowering } from "netdef/diagnostics";

const caught = async (work: () => unknown): Promise<NetdefError> => {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(NetdefError);
    return error as NetdefError;
  }
  throw new Error("expected an error");
};
// The call site of the line marked `// site: <name>` in this file.
const source = readFileSync(new URL(import.meta.url), "utf8").split("\n");
const here = (name: string) => `test/errors/errors.test.ts:${source.findIndex((l) => l.endsWith(`// site: ${name}`)) + 1}:`;

describe("one error family", () => {
  it("every error class is a NetdefError with its own code", () => {
    const errors: [NetdefError, string][] = [
      [new NetworkError([]), "network"], [new WeightFileError("f", "p"), "weight_file"], [new BuildError("b"), "build"],
      [new BuildCancelledError("c"), "build_cancelled"], [new RefitError([]), "refit"], [new PlanError("p"), "plan"],
      [new ExecutionError("e"), "execution"], [new DisposedError("d"), "disposed"], [new LoweringError("l"), "lowering"],
      [new TensorRTUnavailableError("t"), "tensorrt_unavailable"], [new OnnxExportError("o"), "onnx_export"], [new TensorRTError("r"), "tensorrt"],
    ];
    for (const [error, code] of errors) {
      expect(error).toBeInstanceOf(NetdefError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
    }
  });

  it("TensorRT's own messages become a TensorRTError with the call site of the first layer they name", () => {
    const sites = new Map([["conv1", "model.ts:3:5"], ["conv10", "model.ts:9:5"], ["fc", "model.ts:12:5"]]);
    const native = (message: string) => Object.assign(new Error(message), { code: "ERR_TENSORRT" });
    const error = typedNativeError(native("buildSerializedNetwork failed: [network.cpp::validate] conv10: kernel weights has count 500 but 250 was expected; fc: …"), sites);
    expect(error).toBeInstanceOf(TensorRTError);
    expect(error).toMatchObject({ code: "tensorrt", layer: "conv10", callSite: "model.ts:9:5" });
    expect(typedNativeError(native("enqueueV3 failed"), sites)).toMatchObject({ code: "tensorrt", layer: undefined });
    // What else fails in a native call (out of memory, a library error) was a plain Error.
    expect(typedNativeError(Object.assign(new Error("out of memory while executing"), { code: "ERR_NATIVE" }))).toBeInstanceOf(ExecutionError);
  });

  it("build: a pinned tactic the layer cannot use", async () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [1, 2, 6, 6]);
    net.markOutput(x.addConvolution("c", { outChannels: 2, kernel: 3, weights: { kernel: new Float32Array(36), bias: new Float32Array(2) } })); // site: build
    const error = await caught(() => buildEngine(net, { tactics: { c: "depthwise_direct" } }));
    expect(error).toMatchObject({ code: "build", layer: "c" });
    expect(error.callSite).toContain(here("build"));
    expect(error.message).toContain(`(${error.callSite})`);
  });

  it("ONNX export: a layer with no ONNX form", async () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [1, 2, 6, 6]);
    net.markOutput(x.addPooling("p", { type: "max_average_blend", window: 2, blendFactor: 0.5 })); // site: export
    const error = await caught(() => exportOnnx(net));
    expect(error).toMatchObject({ code: "onnx_export", layer: "p" });
    expect(error.callSite).toContain(here("export"));
  });

  it("TensorRT lowering: a layer the lowering refuses", async () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [-1, 3, -1, 4]);
    net.markOutput(x.addPadding("p", { pre: [1], post: [1], value: 2 })); // site: lowering
    const error = await caught(() => recordTensorRTLowering(net));
    expect(error).toMatchObject({ code: "lowering", layer: "p" });
    expect(error.callSite).toContain(here("lowering"));
  });

  it("execution: a layer that cannot run the shapes it is given", async () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [1, 2, -1, -1]);
    net.markOutput(x.addConvolution("c", { outChannels: 2, kernel: 5, weights: { kernel: new Float32Array(100), bias: new Float32Array(2) } })); // site: execution
    const engine = await buildEngine(net, { profiles: [{ x: { min: [1, 2, 2, 2], opt: [1, 2, 8, 8], max: [1, 2, 8, 8] } }] });
    const error = await caught(() => engine.createExecutionContext().execute({ x: { data: new Float32Array(8), shape: [1, 2, 2, 2] } }));
    expect(error).toMatchObject({ code: "execution", layer: "c" });
    expect(error.callSite).toContain(here("execution"));
    expect(error.message).toMatch(/^c \(convolution\): input \[1,2,2,2\] is smaller than the window \(test\/errors\/errors\.test\.ts:\d+:\d+\)$/);
    expect(error.message.endsWith(`(${error.callSite})`)).toBe(true);
  });
});
