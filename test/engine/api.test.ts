import { mkdtemp } from "node:fs/promises";
import { execFile } from "node:child_process";
import { cpus, tmpdir } from "node:os";
import { promisify } from "node:util";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BuildCancelledError, buildEngine, BuildError, type BuildProgress, DisposedError, Engine, ExecutionError, Network, OptionError, PlanError } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { loadFixtureWeights } from "../fixtures.js";
import { values } from "../outputs.js";

const run = promisify(execFile);
const profile = { data: { min: [1, 1, 28, 28], opt: [4, 1, 28, 28], max: [64, 1, 28, 28] } };
const lenet = async () => buildEngine(defineLeNet(await loadFixtureWeights("lenet.safetensors")), { profiles: [profile] });
const digits = async (count: number) => (await loadFixtureWeights("lenet_io.safetensors")).float32("input").subarray(0, count * 784);
/** y = concat(a, b) along rows, both inputs dynamic: other dimensions that disagree pass the TypeScript checks and fail in the kernel. */
const concatenationContext = async () => {
  const net = new Network("cat");
  const a = net.addInput("a", "float32", [-1, -1]);
  const b = net.addInput("b", "float32", [-1, -1]);
  net.markOutput(net.addConcatenation("cat", [a, b], { axis: 0 }), "y");
  const range = { min: [1, 1], opt: [1, 2], max: [4, 4] };
  return (await buildEngine(net, { profiles: [{ a: range, b: range }] })).createExecutionContext();
};

describe("building", () => {
  it("refuses a dynamic input without a profile, naming the input and what to add", async () => {
    await expect(buildEngine(defineLeNet(await loadFixtureWeights("lenet.safetensors")))).rejects.toThrow(
      /input 'data' has dynamic shape \[-1,1,28,28\]; build with profiles: \[\{ data: \{ min: \[\.\.\.\], opt: \[\.\.\.\], max: \[\.\.\.\] \} \}\]/);
  });

  it("refuses a profile with min > max", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    await expect(buildEngine(net, { profiles: [{ data: { min: [8, 1, 28, 28], opt: [4, 1, 28, 28], max: [2, 1, 28, 28] } }] })).rejects.toThrow(BuildError);
  });

  it("lists every missing weight when the network was defined without a source", async () => {
    const error = (await buildEngine(defineLeNet(), { profiles: [profile] }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("8 weight problem(s)");
    expect(error.message).toContain("conv1: weight 'conv1.weight' is missing");
  });

  it("reports progress and can be cancelled", async () => {
    const phases: BuildProgress[] = [];
    await buildEngine(defineLeNet(await loadFixtureWeights("lenet.safetensors")), { profiles: [profile], onProgress: (p) => phases.push(p) });
    expect(phases[0]).toMatchObject({ step: 0, phase: "checking optimization profiles" });
    expect(phases.at(-1)).toMatchObject({ phase: "done" });
    const controller = new AbortController();
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    const build = buildEngine(net, { profiles: [profile], signal: controller.signal, onProgress: (p) => { if (p.step === 2) controller.abort(); } });
    await expect(build).rejects.toBeInstanceOf(BuildCancelledError);
  });

  it("the TensorRT backend, absent from this build, says how to get it", async () => {
    await expect(buildEngine(defineLeNet(), { backend: "tensorrt" })).rejects.toThrow(/built without TensorRT.*NETDEF_WITH_TENSORRT=ON/);
  });
});

describe("engines and contexts", () => {
  it("describes its inputs and outputs, with profile ranges", async () => {
    const engine = await lenet();
    expect(engine.inputs).toEqual([{ name: "data", dtype: "float32", shape: [-1, 1, 28, 28], profiles: [profile.data] }]);
    expect(engine.outputs).toEqual([{ name: "prob", dtype: "float32", shape: [-1, 10] }]);
  });

  it("serializes to a plan that deserializes, also through a file, to the same results", async () => {
    const engine = await lenet();
    const x = { data: { data: await digits(3), shape: [3, 1, 28, 28] } };
    const expected = await engine.createExecutionContext().execute(x);
    const copy = await Engine.deserialize(engine.serialize());
    expect(await copy.createExecutionContext().execute(x)).toEqual(expected);
    const file = path.join(await mkdtemp(path.join(tmpdir(), "netdef-plan-")), "lenet.plan");
    await engine.save(file);
    expect(await (await Engine.load(file)).createExecutionContext().execute(x)).toEqual(expected);
    expect(copy.header).toMatchObject({ network: "lenet", backend: "builtin", weights: ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] });
  });

  it("short executions run on the calling thread: results and native errors arrive as from the worker thread", async () => {
    // The first execution always runs off the JS thread; later ones predicted under 0.5 ms run inline.
    const ctx = await concatenationContext();
    const feeds = (rows: number) => ({ a: { data: new Float32Array(2 * rows).fill(1), shape: [rows, 2] }, b: { data: new Float32Array(4).fill(2), shape: [2, 2] } });
    for (let i = 0; i < 3; i++) expect(values((await ctx.execute(feeds(1))).y)).toEqual([1, 1, 2, 2, 2, 2]);
    let sync = true;
    const pending = ctx.execute(feeds(1)).then(() => { sync = false; });
    expect(sync).toBe(true);  // settled only through the promise, never synchronously
    await pending;
    const wide = { a: { data: new Float32Array(3), shape: [1, 3] } };
    const error = await ctx.execute({ ...feeds(1), ...wide }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionError);
    expect((error as Error).message).toMatch(/cat \(concatenation\)/);  // from the kernel, not the TypeScript checks
  });

  it("executeSync runs on the calling thread with execute's results and typed errors, one execution at a time", async () => {
    const engine = await lenet();
    const ctx = engine.createExecutionContext();
    const x = { data: { data: await digits(3), shape: [3, 1, 28, 28] } };
    const expected = await ctx.execute(x);
    expect(ctx.executeSync(x)).toEqual(expected);
    const profiled = ctx.executeSync(x, { profile: true });
    expect(profiled.profile.map((p) => p.layer)).toEqual(engine.inspect().layers.map((l) => l.name));
    expect(() => ctx.executeSync({})).toThrow(ExecutionError);
    // An execute still in flight: the context refuses, then serves once it has settled.
    const pending = ctx.execute(x);
    expect(() => ctx.executeSync(x)).toThrow(/an execute\(\) of this context is still running/);
    await pending;
    expect(ctx.executeSync(x)).toEqual(expected);
    // A failure inside the kernel arrives typed, as from execute.
    const cat = await concatenationContext();
    expect(() => cat.executeSync({ a: { data: new Float32Array(3), shape: [1, 3] }, b: { data: new Float32Array(4), shape: [2, 2] } })).toThrow(/cat \(concatenation\)/);
    ctx.dispose();
    expect(() => ctx.executeSync(x)).toThrow(DisposedError);
  });

  it("each context runs its executions on a thread of its own; NETDEF_NUM_THREADS caps the pool (1: no workers at all)", async () => {
    // A child process counts its threads before and after parallel executions (the pool starts on first use), after
    // a pause and after one more execution, then exits with a context's thread waiting and no context disposed.
    const script = `
      const { buildEngine, Network } = await import("netdef");
      const { readdirSync } = await import("node:fs");
      const net = new Network("t");
      const x = net.addInput("x", "float32", [1, 64, 64, 64]);
      net.markOutput(x.addConvolution("c", { outChannels: 64, kernel: 3, padding: 1, bias: false, weights: { kernel: new Float32Array(64 * 64 * 9) } }));
      const ctx = (await buildEngine(net)).createExecutionContext();
      const before = readdirSync("/proc/self/task").length;
      for (let i = 0; i < 3; i++) await ctx.execute({ x: new Float32Array(64 * 64 * 64) });
      const one = readdirSync("/proc/self/task").length - before;
      const other = (await buildEngine(net)).createExecutionContext();
      await Promise.all([ctx.execute({ x: new Float32Array(64 * 64 * 64) }), other.execute({ x: new Float32Array(64 * 64 * 64) })]);
      const two = readdirSync("/proc/self/task").length - before;
      await new Promise((resolve) => setTimeout(resolve, 2000));  // idle for over a second: the contexts' threads end
      const idle = readdirSync("/proc/self/task").length - before;
      await ctx.execute({ x: new Float32Array(64 * 64 * 64) });  // and start again
      console.log(one, two, idle, readdirSync("/proc/self/task").length - before);`;
    const added = async (env: Record<string, string>) => {
      const { stdout } = await run(process.execPath, ["--conditions", "netdef-source", "--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env } });
      return stdout.trim().split(" ").map(Number);
    };
    expect(await added({ NETDEF_NUM_THREADS: "1" })).toEqual([1, 2, 0, 1]);  // the contexts' threads
    const workers = cpus().length - 1;  // and one worker per core besides the caller
    expect(await added({})).toEqual([workers + 1, workers + 2, workers, workers + 1]);
  }, 30_000);

  it("refuses a plan that needs CPU features this machine lacks, naming them", async () => {
    const net = defineLeNet(await loadFixtureWeights("lenet.safetensors"));
    await expect(buildEngine(net, { profiles: [profile], requiredCpuFeatures: ["avx2", "imaginary-isa"] })).rejects.toThrow(/needs CPU features this machine lacks: imaginary-isa/);
  });

  it("runs several contexts of one engine concurrently with the results of one-at-a-time runs", async () => {
    const engine = await lenet();
    const all = await digits(32);
    const batches = [0, 1, 2, 3].map((i) => ({ data: { data: all.subarray(i * 8 * 784, (i + 1) * 8 * 784), shape: [8, 1, 28, 28] } }));
    const sequential = [];
    const ctx = engine.createExecutionContext();
    for (const b of batches) sequential.push(await ctx.execute(b));
    const contexts = batches.map(() => engine.createExecutionContext());
    const concurrent = await Promise.all(batches.map((b, i) => contexts[i]!.execute(b)));
    expect(concurrent).toEqual(sequential);
  });

  it.each([
    ["an unknown input name", { image: new Float32Array(784) }, /unknown input\(s\) 'image'; the engine's inputs are 'data'/],
    ["a missing input", {}, /missing input 'data' \(float32 \[-1,1,28,28\]\)/],
    ["a dynamic input without its shape", { data: new Float32Array(784) }, /pass \{ data, shape \} with the actual shape/],
    ["a shape outside the profile", { data: { data: new Float32Array(65 * 784), shape: [65, 1, 28, 28] } }, /shape \[65,1,28,28\] is outside the optimization profile\(s\): \[1,1,28,28\]…\[64,1,28,28\]/],
    ["a wrong static dimension", { data: { data: new Float32Array(2 * 900), shape: [2, 1, 30, 30] } }, /shape \[2,1,30,30\], expected \[-1,1,28,28\]/],
    ["a buffer of the wrong length", { data: { data: new Float32Array(783), shape: [1, 1, 28, 28] } }, /holds 783 values but shape \[1,1,28,28\] needs 784/],
    ["a non-array", { data: { data: [1, 2, 3] as unknown as Float32Array, shape: [1, 1, 28, 28] } }, /input 'data' is float32: pass its values in a Float32Array, received Array/],
  ])("rejects %s with an ExecutionError", async (_, inputs, message) => {
    const ctx = (await lenet()).createExecutionContext();
    const error = await ctx.execute(inputs as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionError);
    expect((error as Error).message).toMatch(message);
  });

  it("a context disposed while an execution runs on its thread: the execution finishes and its promise resolves", async () => {
    const engine = await lenet();
    const x = { data: { data: await digits(64), shape: [64, 1, 28, 28] } };
    const expected = await engine.createExecutionContext().execute(x);
    const ctx = engine.createExecutionContext();
    const pending = ctx.execute(x);  // a context's first execution always runs on its thread
    await Promise.resolve();  // the execution has been handed to the thread
    ctx.dispose();
    expect(await pending).toEqual(expected);
    expect(() => ctx.executeSync(x)).toThrow(DisposedError);
  });

  it("disposed engines and contexts give DisposedErrors", async () => {
    const engine = await lenet();
    const ctx = engine.createExecutionContext();
    ctx.dispose();
    await expect(ctx.execute({ data: { data: await digits(1), shape: [1, 1, 28, 28] } })).rejects.toBeInstanceOf(DisposedError);
    engine.dispose();
    expect(() => engine.createExecutionContext()).toThrow(DisposedError);
  });

  it("takes each input in its type's array and gives each output in its type's array", async () => {
    const net = new Network("argmax");
    const x = net.addInput("x", "int32", [2, 3]);
    net.markOutput(x.addTopK("top", { op: "max", k: 1, axis: 1 }).indices, "index");
    const ctx = (await buildEngine(net)).createExecutionContext();
    const { index } = await ctx.execute({ x: Int32Array.from([1, 5, 2, 9, 0, 3]) });
    expect(index).toEqual({ data: Int32Array.from([1, 0]), shape: [2, 1], dtype: "int32" });
    await expect(ctx.execute({ x: Float32Array.from([1, 5, 2, 9, 0, 3]) })).rejects.toThrow(new ExecutionError("input 'x' is int32: pass its values in an Int32Array, received Float32Array"));
  });

  it("a context of one optimization profile takes that profile's shapes only (TensorRT: one profile per context)", async () => {
    const net = new Network("profiles");
    net.markOutput(net.addInput("x", "float32", [-1, 2]).addActivation("r", { type: "relu" }), "y");
    const engine = await buildEngine(net, { profiles: [{ x: { min: [1, 2], opt: [2, 2], max: [4, 2] } }, { x: { min: [8, 2], opt: [8, 2], max: [16, 2] } }] });
    const x = (n: number) => ({ x: { data: new Float32Array(2 * n).fill(-1), shape: [n, 2] } });
    expect((await engine.createExecutionContext().execute(x(2))).y!.shape).toEqual([2, 2]);  // any profile's shapes
    expect((await engine.createExecutionContext().execute(x(8))).y!.shape).toEqual([8, 2]);
    const second = engine.createExecutionContext({ profile: 1 });
    expect((await second.execute(x(16))).y!.shape).toEqual([16, 2]);
    await expect(second.execute(x(2))).rejects.toThrow(new ExecutionError("input 'x' shape [2,2] is outside optimization profile 1 (this context's): [8,2]…[16,2]"));
    expect(() => engine.createExecutionContext({ profile: 2 })).toThrow(new OptionError("createExecutionContext: profile must be an integer from 0 to 1 (the engine has 2), received 2"));
  });

  it("device memory, CUDA streams and devices are the TensorRT backend's: a builtin engine refuses them with typed errors", async () => {
    const net = new Network("cpu");
    net.markOutput(net.addInput("x", "float32", [1, 2]).addActivation("r", { type: "relu" }), "y");
    const engine = await buildEngine(net);
    await expect(engine.createExecutionContext().enqueue({ x: { address: 0x1000n, shape: [1, 2] }, y: { address: 0x2000n } }))
      .rejects.toThrow(new ExecutionError("enqueue: device memory is the TensorRT backend's; use execute on the builtin one"));
    expect(() => engine.createExecutionContext({ stream: 1n })).toThrow(OptionError);
    await expect(Engine.deserialize(engine.serialize(), { device: 1 })).rejects.toBeInstanceOf(OptionError);
  });

  it("takes the inputs at the call: refilling the array right after execute() (before awaiting) changes nothing, idle or queued", async () => {
    const net = new Network("copy");
    net.markOutput(net.addInput("x", "float32", [4]).addActivation("r", { type: "relu" }), "y");
    const ctx = (await buildEngine(net)).createExecutionContext();
    const x = Float32Array.of(1, 2, 3, 4);
    const first = ctx.execute({ x });
    x.fill(-1);
    const second = ctx.execute({ x });  // queued behind the first
    x.fill(5);
    expect((await first).y!.data).toEqual(Float32Array.of(1, 2, 3, 4));
    expect((await second).y!.data).toEqual(Float32Array.of(0, 0, 0, 0));
  });

  it("execute's bad arguments are typed errors: a shape that is no array, options null", async () => {
    const net = new Network("args");
    net.markOutput(net.addInput("x", "float32", [-1, 2]).addActivation("r", { type: "relu" }), "y");
    const ctx = (await buildEngine(net, { profiles: [{ x: { min: [1, 2], opt: [1, 2], max: [4, 2] } }] })).createExecutionContext();
    await expect(ctx.execute({ x: { data: new Float32Array(2), shape: "1,2" as never } })).rejects.toThrow(new ExecutionError("input 'x': shape must be an array of dimensions, received String"));
    expect((await ctx.execute({ x: { data: new Float32Array(2), shape: [1, 2] } }, null as never)).y!.shape).toEqual([1, 2]);
  });

  it("float16 and bfloat16 travel as their 16-bit patterns, int8 and bool in their own byte arrays", async () => {
    const net = new Network("types");
    for (const dtype of ["float16", "bfloat16", "int8", "bool"] as const) {
      const x = net.addInput(dtype, dtype, [4]);
      net.markOutput(x.addIdentity(`${dtype}.same`), `${dtype}_same`);
      net.markOutput(x.addCast(`${dtype}.wide`, { to: "float32" }), `${dtype}_wide`);
    }
    const half = Uint16Array.of(0x3e00, 0x7bff, 0x0001, 0xc000), brain = Uint16Array.of(0x3fc0, 0x7f7f, 0x0001, 0xc000);
    const out = await (await buildEngine(net)).createExecutionContext().execute({ float16: half, bfloat16: brain, int8: Int8Array.of(-128, 127, 0, -1), bool: Uint8Array.of(1, 0, 1, 1) });
    expect(out.float16_same).toEqual({ data: half, shape: [4], dtype: "float16" });
    expect(out.float16_wide!.data).toEqual(Float32Array.of(1.5, 65504, 2 ** -24, -2));
    expect(out.bfloat16_same).toEqual({ data: brain, shape: [4], dtype: "bfloat16" });
    expect(out.bfloat16_wide!.data).toEqual(Float32Array.of(1.5, 3.3895313892515355e38, 2 ** -133, -2));
    expect(out.int8_same).toEqual({ data: Int8Array.of(-128, 127, 0, -1), shape: [4], dtype: "int8" });
    expect(out.bool_same).toEqual({ data: Uint8Array.of(1, 0, 1, 1), shape: [4], dtype: "bool" });
    expect(out.bool_wide!.data).toEqual(Float32Array.of(1, 0, 1, 1));
  });

  it("hands output buffers back for reuse, yet each execution's outputs are its own: a tensor marked twice, an input marked as an output", async () => {
    const net = new Network("reuse");
    const x = net.addInput("x", "float32", [1, 4]);
    const r = x.addActivation("r", { type: "relu" });
    net.markOutput(r, "a");
    net.markOutput(r, "b");
    net.markOutput(x, "same");
    const ctx = (await buildEngine(net)).createExecutionContext();
    const results: Awaited<ReturnType<typeof ctx.execute>>[] = [];  // checked after the last: earlier outputs must stay intact
    for (const k of [1, -2, 3]) results.push(await ctx.execute({ x: Float32Array.of(k, -k, 2 * k, 0) }));
    [1, -2, 3].forEach((k, i) => {
      const relu = [k, -k, 2 * k, 0].map((v) => Math.max(v, 0));
      expect(values(results[i]!.a)).toEqual(relu);
      expect(values(results[i]!.b)).toEqual(relu);
      expect(values(results[i]!.same)).toEqual([k, -k, 2 * k, 0]);
    });
  });

  // Page faults an execution: the quietest of three rounds of ten (a garbage collection growing V8's heap meanwhile
  // faults pages of its own). Not under AddressSanitizer, whose allocator maps fresh memory for what it holds in
  // quarantine.
  const pageFaultsPerExecution = async (execute: () => Promise<unknown>) => {
    const perRun: number[] = [];
    for (let round = 0; round < 3; round++) {
      const before = process.resourceUsage().minorPageFault;
      for (let i = 0; i < 10; i++) await execute();
      perRun.push((process.resourceUsage().minorPageFault - before) / 10);
    }
    return Math.min(...perRun);
  };

  it.skipIf(process.env.ASAN_OPTIONS !== undefined)("execute's outputs reuse the memory of collected ones: a 4 MB output costs no fresh pages each time, and held outputs stay intact", async () => {
    // A fresh 4 MB array per execution faulted its 1,024 pages in at every copy of the output. (Executions long
    // enough to run on the context's thread: those run on the JS thread return arrays of V8's own memory.)
    const net = new Network("large-output");
    const kernel = new Float32Array(4 * 4 * 9).map((_, i) => (i % 5 === 0 ? 0.2 : 0));
    net.markOutput(net.addInput("x", "float32", [1, 4, 512, 512]).addConvolution("c", { outChannels: 4, kernel: 3, padding: 1, bias: false, weights: { kernel } }), "y");
    const ctx = (await buildEngine(net)).createExecutionContext();
    const input = (k: number) => ({ x: new Float32Array(4 * 512 * 512).fill(k) });
    const held = [await ctx.execute(input(1)), await ctx.execute(input(2))], three = input(3);
    for (let i = 0; i < 40; i++) await ctx.execute(three);
    expect(await pageFaultsPerExecution(() => ctx.execute(three))).toBeLessThan(200);
    // Away from the borders, each output is 0.2 × the input times the taps of its row of the kernel that are 0.2.
    const [first, second] = [values(held[0]!.y), values(held[1]!.y)];
    const centre = 2 * 512 * 512 + 256 * 512 + 256;
    expect(second[centre]).toBeCloseTo(2 * first[centre]!, 5);
    expect(first[centre]).toBeGreaterThan(0);
  });

  it.skipIf(process.env.ASAN_OPTIONS !== undefined)("keeps its buffers mapped between executions: MobileNetV2's 600 KB input and 52 activations cost no fresh pages each time", async () => {
    // Input buffers newly allocated per execution (and pooled buffers evicted for them) faulted ~150 pages a run in.
    const { defineMobileNetV2 } = await import("../../models/mobilenet-v2.js");
    const net = defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors"));
    const ctx = (await buildEngine(net, { profiles: [{ input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }] })).createExecutionContext();
    const input = { input: { data: new Float32Array(3 * 224 * 224).fill(0.5), shape: [1, 3, 224, 224] } };
    for (let i = 0; i < 3; i++) await ctx.execute(input);
    expect(await pageFaultsPerExecution(() => ctx.execute(input))).toBeLessThan(40);
  });

  it("profiles each layer when asked", async () => {
    const out = await (await lenet()).createExecutionContext().execute({ data: { data: await digits(1), shape: [1, 1, 28, 28] } }, { profile: true });
    expect(out.profile.map((p) => p.layer)).toEqual(["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "softmax"]);
    expect(out.profile.every((p) => p.milliseconds >= 0)).toBe(true);
  });

  it("a plan from another program is a PlanError", async () => {
    await expect(Engine.deserialize(new TextEncoder().encode("not a plan at all, just text"))).rejects.toBeInstanceOf(PlanError);
  });
});
