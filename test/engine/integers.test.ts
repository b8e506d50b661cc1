// Integers are computed as integers: int32 exact beyond float32's 2^24, int64 beyond float64's 2^53. Each case runs on
// the builtin engine and on onnxruntime (CPU) from the network's ONNX export, and the two must be equal, bit for bit.
import { describe, expect, it } from "vitest";
import { buildEngine, ExecutionError, Network, PlanError, type OutputValue } from "netdef";
import { addon, typedNativeError } from "../../native/addon.js";
import { encodePlan } from "../../plan/encode.js";
import type * as ort from "onnxruntime-node";
import { runBoth } from "../onnx/oracle.js";
import type { LayerCase } from "../../selftest/layer-cases.js";

const K32 = 2 ** 24 + 1;   // the first int32 float32 cannot hold
const K64 = 2n ** 53n + 1n;  // the first int64 float64 cannot hold

/** The values as exact decimal strings, whatever array holds them. */
const exact = (data: ArrayLike<number | bigint>) => Array.from(data, (v) => BigInt(v).toString());

const int32 = (values: number[], shape = [values.length]) => ({ shape, dtype: "int32" as const, values });
const int64 = (values: bigint[], shape = [values.length]) => ({ shape, dtype: "int64" as const, values });

const a32 = int32([K32, -K32, 7, -9, 100, 0]), b32 = int32([1, 2, -3, 4, -7, 5]);
const a64 = int64([K64, -K64, 7n, -9n, 2n ** 62n, 0n]), b64 = int64([1n, 2n, -3n, 4n, -1n, 5n]);

const cases: Record<string, LayerCase> = {};
for (const [type, a, b] of [["int32", a32, b32], ["int64", a64, b64]] as const) {
  for (const op of ["sum", "sub", "prod", "max", "min", "div", "floor_div", "equal", "greater", "less"] as const) {
    cases[`${type} element-wise ${op}`] = { inputs: { a, b }, define: (_, t) => t.a!.addElementWise("e", t.b!, op) };
  }
  cases[`${type} element-wise sum, broadcast`] = { inputs: { a: { ...a, shape: [2, 3] }, b: { ...b, shape: [3, 1, 1], values: b.values.slice(0, 3) } }, define: (_, t) => t.a!.addElementWise("e", t.b!, "sum") };
  for (const op of ["abs", "neg", "sign"] as const) cases[`${type} unary ${op}`] = { inputs: { a }, define: (_, t) => t.a!.addUnary("u", op) };
  for (const op of ["sum", "max", "min"] as const) {
    cases[`${type} reduce ${op}`] = { inputs: { a: { ...a, shape: [2, 3] } }, define: (_, t) => t.a!.addReduce("r", { op, axes: [1], keepDims: true }) };
  }
  cases[`${type} cast to float32`] = { inputs: { a }, define: (_, t) => t.a!.addCast("c", { to: "float32" }) };
  cases[`${type} concatenation, slice, transpose`] = {
    inputs: { a: { ...a, shape: [2, 3] }, b: { ...b, shape: [2, 3] } },
    define: (net, t) => net.addConcatenation("cat", [t.a!, t.b!], { axis: 0 }).addSlice("s", { start: [1, 0], size: [3, 2], stride: [1, 2] }).addShuffle("t", { firstTranspose: [1, 0] }),
  };
  cases[`${type} gather by int64 indices`] = {
    inputs: { a: { ...a, shape: [2, 3] }, i: int64([2n, -1n, 0n, 2n]) },
    define: (_, t) => t.a!.addGather("g", t.i!, { axis: 1 }),
  };
  cases[`${type} select`] = { inputs: { c: { shape: [6], dtype: "bool", values: [1, 0, 0, 1, 1, 0] }, a, b }, define: (net, t) => net.addSelect("s", t.c!, t.a!, t.b!) };
  cases[`${type} padding`] = { inputs: { a: { ...a, shape: [1, 2, 3] } }, define: (_, t) => t.a!.addPadding("p", { pre: [1, 0], post: [0, 2] }) };
}
cases["int64 reduce prod"] = { inputs: { a: int64([3n, 2n ** 40n, -5n, 7n]) }, define: (_, t) => t.a!.addReduce("r", { op: "prod", axes: [0] }) };
cases["int32 pow"] = { inputs: { a: int32([3, -2, 4097, 1, 0]), b: int32([19, 7, 2, 9, 3]) }, define: (_, t) => t.a!.addElementWise("e", t.b!, "pow") };
cases["int64 pow"] = { inputs: { a: int64([3n, -2n, 4097n, 94906265n]), b: int64([33n, 51n, 4n, 2n]) }, define: (_, t) => t.a!.addElementWise("e", t.b!, "pow") };  // below 2^53: onnxruntime's own pow goes through float64
cases["int64 → int32 cast wraps"] = { inputs: { a: int64([K64, -K64, 2n ** 31n, 2n ** 32n + 5n]) }, define: (_, t) => t.a!.addCast("c", { to: "int32" }) };
cases["int32 → int64 cast"] = { inputs: { a: int32([K32, -K32, 2 ** 31 - 1, -(2 ** 31)]) }, define: (_, t) => t.a!.addCast("c", { to: "int64" }) };
cases["float32 → int32 cast truncates"] = { inputs: { a: { shape: [5], values: [K32 + 1, -2.75, 2.75, 1e9, -0.5] } }, define: (_, t) => t.a!.addCast("c", { to: "int32" }) };
cases["int64 constant + input"] = {
  inputs: { a: int64([1n, -1n, 2n]) },
  define: (net, t) => t.a!.addElementWise("e", net.addConstant("k", { shape: [3], weights: { dtype: "int64", shape: [3], data: BigInt64Array.of(K64, -K64, 2n ** 62n) }, dtype: "int64" }), "sum"),
};
cases["int32 top-k"] = { inputs: { a: int32([K32, K32 - 1, -K32, K32 + 2, 0, 5], [2, 3]) }, define: (_, t) => { const top = t.a!.addTopK("k", { op: "max", k: 2, axis: 1 }); return [top.values, top.indices]; } };

const ortType = (t: ort.Tensor) => t.type;

// Where onnxruntime is not exact, BigInt arithmetic is the oracle: onnxruntime 1.31 sums int64 through float64, so
// −9 + 2^62 + 0 comes back as 2^62.
const exactly: Record<string, string[]> = {
  "int64 reduce sum": [[0, 1, 2], [3, 4, 5]].map((row) => String(row.reduce((sum, i) => sum + a64.values[i]!, 0n))),
};

describe("integers computed as integers, against onnxruntime", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      for (const { builtin, onnxruntime } of await runBoth(c)) {
        expect(builtin.dtype === "bool" ? "bool" : builtin.dtype).toBe(ortType(onnxruntime) === "bool" ? "bool" : ortType(onnxruntime));
        expect(builtin.shape).toEqual([...onnxruntime.dims]);
        const ours = builtin.dtype === "float32" ? Array.from(builtin.data) : exact(builtin.data as ArrayLike<number | bigint>);
        const theirs = exactly[name] ?? (builtin.dtype === "float32" ? Array.from(onnxruntime.data as Float32Array) : exact(onnxruntime.data as ArrayLike<number | bigint>));
        expect(ours).toEqual(theirs);
      }
    });
  }
});

describe("integer semantics onnxruntime leaves undefined", () => {
  const run = async (dtype: "int32" | "int64", op: "sum" | "prod" | "div" | "floor_div", a: readonly (number | bigint)[], b: readonly (number | bigint)[]): Promise<OutputValue> => {
    const net = new Network("wrap");
    const x = net.addInput("a", dtype, [a.length]), y = net.addInput("b", dtype, [b.length]);
    net.markOutput(x.addElementWise("e", y, op), "out");
    const array = (v: readonly (number | bigint)[]) => (dtype === "int32" ? Int32Array.from(v, Number) : BigInt64Array.from(v, (n) => BigInt(n)));
    return (await (await buildEngine(net)).createExecutionContext().execute({ a: array(a), b: array(b) })).out!;
  };

  it("int32 and int64 arithmetic wraps around, as C++ and PyTorch", async () => {
    expect((await run("int32", "sum", [2 ** 31 - 1, -(2 ** 31)], [1, -1])).data).toEqual(Int32Array.of(-(2 ** 31), 2 ** 31 - 1));
    expect((await run("int32", "prod", [65536], [65536])).data).toEqual(Int32Array.of(0));
    expect((await run("int64", "sum", [2n ** 63n - 1n], [1n])).data).toEqual(BigInt64Array.of(-(2n ** 63n)));
    expect((await run("int64", "prod", [2n ** 32n + 1n], [2n ** 32n + 1n])).data).toEqual(BigInt64Array.of(2n ** 33n + 1n));  // 2^64 + 2^33 + 1 mod 2^64
  });

  it("a division by zero gives 0 instead of stopping the process; the most negative value over -1 wraps", async () => {
    expect((await run("int32", "div", [7, -(2 ** 31)], [0, -1])).data).toEqual(Int32Array.of(0, -(2 ** 31)));
    expect((await run("int64", "floor_div", [7n, -7n, -(2n ** 63n)], [0n, 2n, -1n])).data).toEqual(BigInt64Array.of(0n, -4n, -(2n ** 63n)));
  });

  it("an int32 input holding a value int32 cannot is an ExecutionError, not a silent wrap", async () => {
    const net = new Network("narrow");
    net.markOutput(net.addInput("a", "int32", [1]).addUnary("u", "neg"), "out");
    const ctx = (await buildEngine(net)).createExecutionContext();
    await expect(ctx.execute({ a: BigInt64Array.of(2n ** 40n) as never })).rejects.toBeInstanceOf(ExecutionError);
  });

  it("a plan giving integer tensors to a layer the builtin engine computes in floating point only is a PlanError at load", async () => {
    const plan = encodePlan({
      name: "p", inputs: [{ name: "x", dtype: "int32", shape: [2, 3] }],
      tensors: new Map([["x", { dtype: "int32", shape: [2, 3] }], ["y", { dtype: "int32", shape: [2, 3] }]]),
      ops: [{ kind: "softMax", name: "soft", inputs: ["x"], outputs: ["y"], params: { axis: 1 }, weights: {}, weightNames: {} }],
      outputs: [{ name: "y", tensor: "y" }],
    }, {});
    const error = await addon().Engine.deserialize(plan).catch((e: unknown) => typedNativeError(e));
    expect(error).toBeInstanceOf(PlanError);
    expect((error as Error).message).toMatch(/soft \(softMax\): tensor 'x' is int32, but the builtin engine computes this layer kind in floating point only/);
  });

  it("padding an integer tensor with a fraction is a NetworkError, not a silent truncation", () => {
    const net = new Network("pad");
    expect(() => net.addInput("a", "int32", [1, 2]).addPadding("p", { pre: [1], post: [1], value: 0.5 })).toThrow(/p \(padding\): value must be an integer to fill a int32 tensor, but received 0.5/);
  });

  it("constants folded at build time keep their integers exact", async () => {
    const net = new Network("fold");
    const k = (name: string, value: bigint) => net.addConstant(name, { shape: [1], weights: { dtype: "int64", shape: [1], data: BigInt64Array.of(value) }, dtype: "int64" });
    net.markOutput(net.addInput("a", "int64", [1]).addElementWise("e", k("k", K64).addElementWise("kk", k("one", 2n), "prod"), "sum"), "out");
    const engine = await buildEngine(net);
    expect(engine.header.config.foldedConstants).toEqual(["kk"]);
    expect((await engine.createExecutionContext().execute({ a: BigInt64Array.of(1n) })).out!.data).toEqual(BigInt64Array.of(2n * K64 + 1n));
  });

  it("int64 powers beyond 2^53 are exact (onnxruntime computes them through float64)", async () => {
    const net = new Network("pow");
    net.markOutput(net.addInput("a", "int64", [3]).addElementWise("e", net.addInput("b", "int64", [3]), "pow"), "out");
    const out = await (await buildEngine(net)).createExecutionContext().execute({ a: BigInt64Array.of(3n, -3n, 2n), b: BigInt64Array.of(39n, 39n, 62n) });
    expect(out.out!.data).toEqual(BigInt64Array.of(3n ** 39n, -(3n ** 39n), 2n ** 62n));
  });
});
