// The TensorRT-semantics reference (tensorrt/reference/): its rules cover every method the lowering can call; it
// agrees with onnxruntime on every row of the layer table (so it can judge the lowering); and every row, through
// DSL → lowering → reference, matches the builtin engine. Tolerance: |a − b| ≤ 1e-5·max|b| + 1e-6, the oracle's.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEngine, LoweringError, Network } from "netdef";
import { LAYER_RULES, NETWORK_RULES, TensorRTReference, TensorRTRuleError } from "../../tensorrt/reference/reference.js";
import { values } from "../outputs.js";
import { defineCase, layerCases } from "../../selftest/layer-cases.js";
import { runOnnxruntime } from "../onnx/oracle.js";
import { toleranceRatio } from "./tolerance.js";

describe("the reference's rules", () => {
  // Every method of the recording stand-in (what the lowering can emit) has a reference rule, and no rule is for a
  // method the lowering cannot emit.
  const header = readFileSync(new URL("../../native/src/tensorrt/recording_api.h", import.meta.url), "utf8");
  const methodsOf = (cls: string) => {
    const body = header.slice(header.indexOf(`class ${cls} {`), header.indexOf("};", header.indexOf(`class ${cls} {`)));
    return [...body.matchAll(/^\s+(?:[\w:<>*&]+\s+)+\**(\w+)\(/gm)].map((m) => m[1]!).filter((m) => m !== cls && !["record", "layer", "refused", "followLayerName", "getName", "getOutput"].includes(m));
  };
  const setters = new Set(Object.values(LAYER_RULES).flatMap((r) => r.setters));

  it.each(methodsOf("INetworkDefinition"))("INetworkDefinition::%s", (method) => {
    expect(method in LAYER_RULES || method in NETWORK_RULES).toBe(true);
  });
  it.each([...methodsOf("ILayer"), ...methodsOf("ITensor")])("ILayer / ITensor::%s", (method) => {
    expect(setters.has(method) || method in NETWORK_RULES).toBe(true);
  });
  it("no rule for a method the lowering cannot call", () => {
    const all = new Set([...methodsOf("INetworkDefinition"), ...methodsOf("ILayer"), ...methodsOf("ITensor")]);
    expect([...Object.keys(LAYER_RULES), ...Object.keys(NETWORK_RULES), ...setters].filter((m) => !all.has(m))).toEqual([]);
  });
});

// Rows the lowering refuses, each with the reason it gives (TensorRT has no such layer or option).
const REFUSED: Record<string, RegExp> = {
  "quantize / dequantize per channel": /per-channel quantization of an activation/,
};

describe("reference vs onnxruntime, and the lowering on the reference vs the builtin engine", () => {
  it.each(Object.entries(layerCases))("%s", async (name, c) => {
    const { net, feeds, outputs, profiles } = defineCase(c);
    let reference: TensorRTReference;
    try {
      reference = TensorRTReference.of(net);
    } catch (error) {
      expect(error, `${name} is refused`).toBeInstanceOf(LoweringError);
      expect(REFUSED[name], `${name}: ${(error as Error).message}`).toBeDefined();
      expect((error as Error).message).toMatch(REFUSED[name]!);
      return;
    }
    expect(REFUSED[name], `${name} is lowered though listed as refused`).toBeUndefined();
    const run = reference.execute(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { data: v.data, shape: v.shape }])));
    const onnxruntime = await runOnnxruntime(net, feeds);
    const engine = await buildEngine(net, { profiles });
    const builtin = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { data: v.data, shape: v.shape }])));
    for (let i = 0; i < outputs; i++) {
      const mine = run.outputs[`out${i}`]!, theirs = onnxruntime[`out${i}`]!;
      expect(mine.shape, `out${i} shape vs onnxruntime`).toEqual([...theirs.dims]);
      expect(toleranceRatio(mine.data, Array.from(theirs.data as ArrayLike<number | bigint>, Number)), `out${i} vs onnxruntime`).toBeLessThanOrEqual(1);
      expect(toleranceRatio(values(builtin[`out${i}`]!), mine.data), `out${i}: builtin vs the lowering on the reference`).toBeLessThanOrEqual(1);
    }
  });
});

describe("what TensorRT would refuse", () => {
  it("a violated rule is a TensorRTRuleError naming the layer, the user's call site and the header text", () => {
    const net = new Network("bad");
    const x = net.addInput("x", "float32", [1, 3, 4, 4]);
    net.markOutput(x.addConvolution("conv", { outChannels: 2, kernel: 3, padding: 1, weights: { kernel: new Float32Array(54), bias: new Float32Array(2) } }));
    const reference = TensorRTReference.of(net);
    // A shape the profile would not allow: the input's declared dimensions are fixed.
    let error: unknown;
    try { reference.infer({ x: [1, 3, 5, 4] }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(TensorRTRuleError);
    expect((error as TensorRTRuleError).message).toMatch(/input 'x' of \[1,3,4,4\] given \[1,3,5,4\]/);
  });
});
