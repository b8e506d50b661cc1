// One plan schema for the TypeScript writer and the C++ reader: the header the reader is compiled with is generated
// from plan/schema.ts, and the plan's format string derives from it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEngine, Engine, PlanError } from "netdef";
import { PASSES } from "../../builder/passes.js";
import { defineLeNet } from "../../models/lenet.js";
import { addon } from "../../native/addon.js";
import { encodePlan, fnv1a64, PLAN_LAYOUT } from "../../plan/encode.js";
import { nativePlanSchemaHeader } from "../../plan/native-schema.js";
import { CONVOLUTION_TACTICS, PASS_IDS, PLAN_FORMAT, PLAN_KINDS, PLAN_PARAMS, type PlanParams } from "../../plan/schema.js";
import { loadFixtureWeights } from "../fixtures.js";

const reseal = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  new DataView(out.buffer).setBigUint64(body.length, fnv1a64(body), true);
  return out;
};

describe("the plan schema", () => {
  it("native/src/plan_schema.h is generated from plan/schema.ts as it is now (else: npm run generate:plan-schema)", () => {
    expect(readFileSync(new URL("../../native/src/plan_schema.h", import.meta.url), "utf8")).toBe(nativePlanSchemaHeader());
  });

  it("the addon was compiled with that schema: every kind, field, type and allowed value, the tactics, the format", () => {
    const native = addon().planSchema();
    expect(native.format).toBe(PLAN_FORMAT);
    expect(native.tactics).toEqual([...CONVOLUTION_TACTICS]);
    expect(Object.keys(native.kinds).sort()).toEqual([...PLAN_KINDS].sort());
    for (const kind of PLAN_KINDS) {
      const expected = Object.entries(PLAN_PARAMS[kind] as Record<string, { type: string; optional?: boolean; values?: readonly string[] }>)
        .map(([name, f]) => ({ name, type: f.type, optional: f.optional ?? false, ...(f.values ? { values: [...f.values] } : {}) }));
      expect(native.kinds[kind]).toEqual(expected);
    }
  });

  it("the format string derives from netdef's version and a hash of the schema, tactics and pass ids", () => {
    const version = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version as string;
    expect(PLAN_FORMAT).toMatch(new RegExp(`^${version.replaceAll(".", "\\.")}\\+[0-9a-f]{12}$`));
  });

  it("the builder has one pass for each stable pass id, and plans list passes by id", async () => {
    expect(PASSES.map((p) => p.id)).toEqual([...PASS_IDS]);
    const engine = await buildEngine(defineLeNet(await loadFixtureWeights("lenet.safetensors")), { profiles: [{ data: { min: [1, 1, 28, 28], opt: [1, 1, 28, 28], max: [1, 1, 28, 28] } }] });
    expect(engine.inspect().passes).toContain("fuse-activation");
    expect(engine.inspect().passes.every((p) => (PASS_IDS as readonly string[]).includes(p))).toBe(true);
  });
});

describe("plans of another format or with parameters off the schema are PlanErrors", () => {
  const plan = (params: Record<string, unknown>, kind = "softMax") => encodePlan({
    name: "p", inputs: [{ name: "x", dtype: "float32", shape: [2, 3] }],
    tensors: new Map([["x", { dtype: "float32", shape: [2, 3] }], ["y", { dtype: "float32", shape: [2, 3] }]]),
    ops: [{ kind: kind as "softMax", name: "s", inputs: ["x"], outputs: ["y"], params: params as unknown as PlanParams["softMax"], weights: {}, weightNames: {} }],
    outputs: [{ name: "y", tensor: "y" }],
  }, {}, { unchecked: true });

  it("loads the plan the schema describes (the native engine alone: the plan has no header)", async () => {
    const engine = await addon().Engine.deserialize(plan({ axis: 1 }));
    const { outputs } = await engine.createContext().execute([{ name: "x", data: Float32Array.of(0, 0, 0, 1, 1, 1), shape: [2, 3] }], false);
    expect(Array.from(outputs[0]!.data as Float32Array)).toEqual(Array(6).fill(Math.fround(1 / 3)));
    engine.dispose();
  });

  it("a plan of another format, naming both", async () => {
    const good = plan({ axis: 1 });
    const body = good.subarray(0, good.length - 8);
    const other = PLAN_FORMAT.replace(/\+.*/, "+000000000000");
    const bytes = new TextEncoder();
    const at = 8 + 4 + 4;  // magic, layout, the format's length
    expect(new TextDecoder().decode(body.subarray(at, at + PLAN_FORMAT.length))).toBe(PLAN_FORMAT);
    const forged = Uint8Array.from(body);
    forged.set(bytes.encode(other), at);
    const error = await Engine.deserialize(reseal(forged)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanError);
    expect((error as Error).message).toContain(`plan format ${other} is not this netdef's (${PLAN_FORMAT})`);
    const layout = Uint8Array.from(body);
    new DataView(layout.buffer).setUint32(8, PLAN_LAYOUT - 1, true);
    await expect(Engine.deserialize(reseal(layout))).rejects.toThrow(`plan layout version ${PLAN_LAYOUT - 1} is not supported by this netdef (it reads layout ${PLAN_LAYOUT}, plan format ${PLAN_FORMAT})`);
  });

  it.each([
    ["a parameter its kind does not have", { axis: 1, window: 2 }, "softMax", /layer 's' \(softMax\) has parameter 'window', which its kind does not have/],
    ["a required parameter missing", {}, "softMax", /layer 's' \(softMax\) lacks parameter 'axis'/],
    ["a fractional integer", { axis: 0.5 }, "softMax", /parameter 'axis' should hold integers/],
    ["a list where one value belongs", { axis: [1, 1] }, "softMax", /parameter 'axis' should be one value, not 2/],
    ["a string not allowed", { type: "swish", alpha: 0, beta: 0 }, "activation", /parameter 'type' is 'swish', not a value its kind allows/],
    ["a number where a string belongs", { type: 3, alpha: 0, beta: 0 }, "activation", /parameter 'type' should be a string/],
    ["an unknown kind", { axis: 1 }, "softmax", /layer kind 'softmax' is not known/],
  ])("%s", async (_, params, kind, message) => {
    await expect(Engine.deserialize(plan(params, kind))).rejects.toThrow(message);
  });

  it("a name holding a NUL (an error message cut short to nothing once read N-API's success)", async () => {
    const named = (name: string) => encodePlan({
      name: "p", inputs: [{ name: "x", dtype: "float32", shape: [2, 3] }],
      tensors: new Map([["x", { dtype: "float32", shape: [2, 3] }], ["y", { dtype: "float32", shape: [2, 3] }]]),
      ops: [{ kind: "softmax" as "softMax", name, inputs: ["x"], outputs: ["y"], params: { axis: 1 }, weights: {}, weightNames: {} }],
      outputs: [{ name: "y", tensor: "y" }],
    }, {}, { unchecked: true });
    await expect(Engine.deserialize(named("\0s"))).rejects.toThrow(/layer name at byte \d+ holds a NUL character/);
  });

  it("the writer refuses what the schema does not allow, naming the op", () => {
    expect(() => encodePlan({
      name: "p", inputs: [], tensors: new Map([["y", { dtype: "float32", shape: [1] }]]),
      ops: [{ kind: "constant", name: "c", inputs: [], outputs: ["y"], params: { shape: [1], extra: 1 } as unknown as PlanParams["constant"], weights: { values: Float32Array.of(1) }, weightNames: {} }],
      outputs: [{ name: "y", tensor: "y" }],
    }, {})).toThrow(`plan writer: op "c" (constant): parameter 'extra' is not one of this kind's`);
  });
});
