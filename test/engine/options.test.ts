// Engine options: every runtime switch is an option of the load (or of buildEngine's `engine`), the environment
// variables only their defaults. Each option is checked by what it changes and by the outputs it must not change.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { buildEngine, Engine, Network, OptionError, reducedFloat } from "netdef";
import { gemmTileName, int8KernelName } from "netdef/diagnostics";
import { addon } from "../../native/addon.js";
import { onInt8Grid } from "../fixtures.js";
import { builtin, floats, values } from "../outputs.js";

const wave = (n: number, k = 1.3) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);

/** 1×1 expansion → depthwise 3×3 → 1×1 projection on 16 channels: channel-blocked tensors and a fused producer chain. */
function invertedResidual(): Network {
  const net = new Network("ir");
  const x = net.addInput("x", "float32", [2, 16, 14, 14]);
  const y = x.addConvolution("expand", { outChannels: 32, kernel: 1, weights: { kernel: wave(32 * 16), bias: wave(32) } }).addActivation("r1", { type: "relu" })
    .addConvolution("dw", { outChannels: 32, kernel: 3, padding: 1, groups: 32, weights: { kernel: wave(32 * 9, 0.7), bias: wave(32, 0.3) } }).addActivation("r2", { type: "relu" })
    .addConvolution("project", { outChannels: 16, kernel: 1, weights: { kernel: wave(16 * 32, 0.9), bias: wave(16, 0.2) } });
  net.markOutput(y);
  return net;
}
const input = { x: wave(2 * 16 * 14 * 14, 0.37) };

describe("engine options", () => {
  it("are resolved and shown on the engine; an option of the wrong kind is an OptionError naming it", async () => {
    const engine = await buildEngine(invertedResidual(), { engine: { threads: 1, channelBlocked: false } });
    expect(engine.options).toMatchObject({ threads: 1, channelBlocked: false, fuseProducers: true, halfStorage: true, wideTiles: true });
    const plan = engine.serialize();
    await expect(Engine.deserialize(plan, { threads: -1 })).rejects.toThrow(new OptionError("engine option threads must be an integer ≥ 1 (or 0: every core), received -1"));
    await expect(Engine.deserialize(plan, { channelBlocked: "no" as never })).rejects.toThrow(/engine option channelBlocked must be true or false, received "no"/);
    await expect(Engine.deserialize(plan, { int8Kernel: "sse" as never })).rejects.toThrow(OptionError);
  });

  it("channelBlocked and fuseProducers change the layouts and fusions, not the outputs", async () => {
    const plan = (await buildEngine(invertedResidual())).serialize();
    const run = async (options: { channelBlocked?: boolean; fuseProducers?: boolean }) => {
      const engine = builtin(await Engine.deserialize(plan, options));
      return { inspection: engine.inspect(), out: floats((await engine.createExecutionContext().execute(input)).project) };
    };
    const [all, planar, unfused] = await Promise.all([run({}), run({ channelBlocked: false }), run({ fuseProducers: false })]);
    expect(all.inspection.channelBlocked.tensors.length).toBeGreaterThan(0);
    expect(all.inspection.memory.unallocated.length).toBeGreaterThan(0);
    expect(planar.inspection.channelBlocked.tensors).toEqual([]);
    expect(unfused.inspection.channelBlocked.tensors).toEqual(all.inspection.channelBlocked.tensors);
    expect(unfused.inspection.memory.unallocated).toEqual([]);
    for (const other of [planar.out, unfused.out]) for (let i = 0; i < other.length; i++) expect(Math.abs(other[i]! - all.out[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(all.out[i]!)));
  });

  it("halfStorage: 16-bit storage of a bfloat16 network's tensors, or none, with the same outputs", async () => {
    const plan = (await buildEngine(reducedFloat(invertedResidual(), "bfloat16"), { engine: { bfloat16Products: "off" } })).serialize();
    const [half, full] = await Promise.all([{ bfloat16Products: "off" as const }, { bfloat16Products: "off" as const, halfStorage: false }].map(async (o) => builtin(await Engine.deserialize(plan, o))));
    expect(half!.inspect().halfStorage.bfloat16.length).toBeGreaterThan(0);
    expect(full!.inspect().halfStorage.bfloat16).toEqual([]);
    const [a, b] = await Promise.all([half!, full!].map(async (e) => values((await e.createExecutionContext().execute(input)).project)));
    expect(a).toEqual(b);
  });

  it("threads caps the threads of an execution's parallel loops (1: the calling thread alone)", async () => {
    const plan = (await buildEngine(invertedResidual())).serialize();
    // Executions until a worker joins a loop (at most `rounds`): on a loaded machine the calling thread may finish a
    // loop's items before a worker wakes, so one round proves nothing either way.
    const most = async (threads: number | undefined, rounds: number) => {
      const ctx = (await Engine.deserialize(plan, threads === undefined ? {} : { threads })).createExecutionContext();
      addon().takeMostLoopThreads();
      let most = 0;
      for (let i = 0; i < rounds && most < 2; i++) {
        await ctx.execute(input);
        most = Math.max(most, addon().takeMostLoopThreads());
      }
      return most;
    };
    expect(await most(1, 20)).toBe(1);
    if (availableParallelism() > 1 && !process.env.NETDEF_NUM_THREADS) expect(await most(undefined, 500)).toBeGreaterThan(1);
  });

  it("wideTiles and int8Kernel choose the kernel family, the same bits either way", async () => {
    expect(gemmTileName({ wideTiles: false })).toBe("6x16");
    expect(int8KernelName({ int8Kernel: "scalar" })).toBe("scalar");
    const net = new Network("int8");
    const x = net.addInput("x", "float32", [2, 12, 9, 9]);
    const scale = Float32Array.of(0.004);
    net.markOutput(x.addQuantize("q", { scale }).addDequantize("dq", { scale })
      .addConvolution("c", { outChannels: 20, kernel: 3, padding: 1, weights: { kernel: onInt8Grid(wave(20 * 12 * 9), 20), bias: wave(20) } }));
    net.markOutput(x.addConvolution("f", { outChannels: 24, kernel: 3, padding: 1, weights: { kernel: wave(24 * 12 * 9, 0.6), bias: wave(24) } }));
    // A dense layer of 40 rows and 264 outputs (16 whole panels and a half): the wide tiles take two B panels at a time.
    net.markOutput(net.addInput("rows", "float32", [40, 64]).addFullyConnected("d", { outFeatures: 264, weights: { kernel: wave(264 * 64, 0.45), bias: wave(264) } }));
    // One of 1,200 rows of 300 and 72 outputs + GELU (a large A against a small B: B panels outer, two at a time, and
    // a half one; the activation over each staged tile).
    net.markOutput(net.addInput("long", "float32", [1200, 300]).addFullyConnected("g", { outFeatures: 72, weights: { kernel: wave(72 * 300, 0.21), bias: wave(72) } })
      .addActivation("g.gelu", { type: "gelu_erf" }));
    // Seven rows (matrix-vector products: 4, 2 and 1 rows at a time; 16 lanes a step where wide) of 200 (a tail of 8)
    // into 37 outputs (a block of 32 and 5).
    net.markOutput(net.addInput("few", "float32", [7, 200]).addFullyConnected("h", { outFeatures: 37, weights: { kernel: wave(37 * 200, 0.17), bias: wave(37) } }));
    const plan = (await buildEngine(net)).serialize();
    const outputs = async (options: object) => {
      const out = await (await Engine.deserialize(plan, options)).createExecutionContext().execute({ x: wave(2 * 12 * 81, 0.37), rows: wave(40 * 64, 0.29), long: wave(1200 * 300, 0.13),
        few: wave(7 * 200, 0.31) });
      return [values(out.c), values(out.f), values(out.d), values(out["g.gelu"]), values(out.h)];
    };
    const best = await outputs({});
    expect(await outputs({ wideTiles: false, int8Kernel: "scalar" })).toEqual(best);
  });
});
