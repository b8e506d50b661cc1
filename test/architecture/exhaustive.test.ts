// Every consumer of the IR keys a table by every layer kind. The @ts-expect-error lines are the fixture: a table
// missing one kind, or a parameter schema missing or mistyping one parameter, must not compile (`npm test` runs tsc
// over this file first; an @ts-expect-error that stops being an error fails it).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAYER_KINDS, LAYERS, type ResolvedParams } from "../../layers/kinds.js";
import { LAYER_PARAMS, type ParamSchema } from "../../layers/param-schema.js";
import { ONNX_EXPORTERS } from "../../onnx/export.js";
import { PLAN_KINDS, PLAN_PARAMS } from "../../plan/schema.js";
import { INT8_QUANTIZATION } from "../../precision/quantize.js";
import { REDUCED_FLOAT_STORAGE } from "../../precision/reduced-float.js";
import { TENSORRT_LOWERING } from "../../tensorrt/support.js";

const tables = {
  "shape inference (LAYERS)": LAYERS, "IR parameter schema": LAYER_PARAMS, "ONNX export": ONNX_EXPORTERS, "TensorRT lowering": TENSORRT_LOWERING,
  "INT8 quantization": INT8_QUANTIZATION, "reduced precision": REDUCED_FLOAT_STORAGE,
};

describe("every consumer handles every layer kind", () => {
  it.each(Object.entries(tables))("%s has an entry for each kind and no other", (_, table) => {
    expect(Object.keys(table).sort()).toEqual([...LAYER_KINDS].sort());
  });

  it("the plan schema covers every layer kind and the builder's own (pointwiseChain, logSoftMax)", () => {
    expect(PLAN_KINDS.filter((k) => !(LAYER_KINDS as readonly string[]).includes(k)).sort()).toEqual(["logSoftMax", "pointwiseChain"]);
    expect(LAYER_KINDS.every((k) => PLAN_KINDS.includes(k))).toBe(true);
  });

  it("each kind the TensorRT table calls lowered has a branch in the C++ lowering", () => {
    const lowering = readFileSync(new URL("../../native/src/tensorrt/lowering.h", import.meta.url), "utf8");
    const branches = new Set([...lowering.matchAll(/k == "(\w+)"/g)].map((m) => m[1]));
    expect(LAYER_KINDS.filter((k) => TENSORRT_LOWERING[k] === "lowered" && !branches.has(k))).toEqual([]);
    expect([...branches].filter((k) => !(LAYER_KINDS as readonly string[]).includes(k!))).toEqual([]);
  });

  it("a table missing a kind does not compile", () => {
    const { lrn: _lrn, ...exporters } = ONNX_EXPORTERS;
    // @ts-expect-error the ONNX export without a kind
    const onnx: typeof ONNX_EXPORTERS = exporters;
    const { topK: _topK, ...lowering } = TENSORRT_LOWERING;
    // @ts-expect-error the TensorRT lowering without a kind
    const tensorrt: typeof TENSORRT_LOWERING = lowering;
    const { gather: _gather, ...int8 } = INT8_QUANTIZATION;
    // @ts-expect-error INT8 quantization without a kind
    const quantization: typeof INT8_QUANTIZATION = int8;
    const { select: _select, ...storage } = REDUCED_FLOAT_STORAGE;
    // @ts-expect-error reduced precision without a kind
    const reduced: typeof REDUCED_FLOAT_STORAGE = storage;
    const { pointwiseChain: _chain, ...plan } = PLAN_PARAMS;
    // @ts-expect-error the plan schema without one of the builder's kinds
    const planSchema: typeof PLAN_PARAMS = plan;
    expect([onnx, tensorrt, quantization, reduced, planSchema].every((t) => Object.keys(t).length > 0)).toBe(true);
  });

  it("a parameter schema missing or mistyping a parameter does not compile", () => {
    const { blendFactor: _blend, ...pooling } = LAYER_PARAMS.pooling;
    // @ts-expect-error pooling's schema without blendFactor
    const missing: ParamSchema<ResolvedParams<"pooling">> = pooling;
    // @ts-expect-error blendFactor as a string
    const mistyped: ParamSchema<ResolvedParams<"pooling">> = { ...LAYER_PARAMS.pooling, blendFactor: { type: "string", values: ["x"] } };
    // @ts-expect-error an optional field for a parameter that is always present
    const optional: ParamSchema<ResolvedParams<"softMax">> = { axis: { type: "integer", optional: true } };
    expect([missing, mistyped, optional].length).toBe(3);
  });
});
