// Kernel auto-tuning: candidates timed on the layer's shape, the winner recorded, a timing cache reused.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { buildEngine } from "netdef";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { loadFixtureWeights } from "../fixtures.js";
import { TUNING_SEARCH } from "../../builder/autotune.js";

it("tunes every convolution of yolo_block, reuses the timing cache, and computes what the untuned engine does", async () => {
  const weights = await loadFixtureWeights("yolo_block.safetensors");
  const io = await loadFixtureWeights("yolo_block_io.safetensors");
  // Planar tensors throughout: the tuner times the layers that run planar (the channel-blocked ones keep the shape
  // rules' choice), and here every convolution is to be tuned.
  const profiles = [{ input: { min: [1, 3, 64, 64], opt: [1, 3, 64, 64], max: [1, 3, 64, 64] } }], engine = { channelBlocked: false };
  const timingCacheFile = path.join(await mkdtemp(path.join(tmpdir(), "netdef-tune-")), "yolo.timing.json");
  const tuned = await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine });
  const { tactics } = tuned.inspect();
  expect(tactics.map((t) => t.layer)).toEqual(["stem.conv", "down.conv", "reduce.conv", "head"]);
  for (const t of tactics) {
    expect(t.cached).toBe(false);
    expect(t.milliseconds[t.tactic]).toBe(Math.min(...Object.values(t.milliseconds)));
  }
  expect(tactics.find((t) => t.layer === "head")!.milliseconds).toHaveProperty("pointwise_gemm");
  expect(Object.keys(JSON.parse(await readFile(timingCacheFile, "utf8")).entries)).toHaveLength(4);

  const again = await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine });
  expect(again.inspect().tactics.map((t) => [t.tactic, t.cached])).toEqual(tactics.map((t) => [t.tactic, true]));

  // A cache written before a tactic existed: the entry lacking it is timed again, the others stay cached.
  const file = JSON.parse(await readFile(timingCacheFile, "utf8"));
  const [firstKey] = Object.keys(file.entries);
  delete file.entries[firstKey!].milliseconds.direct_c16;
  await writeFile(timingCacheFile, JSON.stringify(file));
  const stale = await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine });
  expect(stale.inspect().tactics.map((t) => t.cached)).toEqual([false, true, true, true]);
  expect(stale.inspect().tactics[0]!.milliseconds).toHaveProperty("direct_c16");

  // Corrupt entries (were a raw TypeError) are timed again; a file that is no cache at all starts a new one, with a warning.
  file.entries[firstKey!] = null;
  file.entries[Object.keys(file.entries)[1]!].milliseconds = "fast";
  await writeFile(timingCacheFile, JSON.stringify(file));
  const repaired = await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine });
  expect(repaired.inspect().tactics.map((t) => t.cached)).toEqual([false, false, true, true]);
  await writeFile(timingCacheFile, "{ not json");
  const warnings: string[] = [];
  const listen = (w: Error) => warnings.push(w.message);
  process.on("warning", listen);
  const fresh = await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine }).finally(() => setTimeout(() => process.off("warning", listen), 0));
  expect(fresh.inspect().tactics.every((t) => !t.cached)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(warnings.some((w) => w.includes("is not this netdef's for this CPU, or is corrupt"))).toBe(true);
  expect(Object.keys(JSON.parse(await readFile(timingCacheFile, "utf8")).entries)).toHaveLength(4);

  const plain = await buildEngine(defineYoloBlock(weights), { profiles });
  const input = { input: { data: io.float32("input"), shape: [1, 3, 64, 64] } };
  const [a, b] = await Promise.all([tuned.createExecutionContext().execute(input), plain.createExecutionContext().execute(input)]);
  let worst = 0;
  a.output!.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(Number(v) - Number(b.output!.data[i]))); });
  expect(worst).toBeLessThan(1e-5);
}, 60_000);

it("tunes convolutions that carry a fused residual input (mobilenet_v2's projections, held planar)", async () => {
  const { defineMobileNetV2 } = await import("../../models/mobilenet-v2.js");
  // Channel-blocked, its projections run the blocked kernel and are not tuned (test/engine/channel-blocked.test.ts).
  process.env.NETDEF_CHANNEL_BLOCKED = "0";
  const engine = await buildEngine(defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors")), {
    profiles: [{ input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }], tuning: "fast",
  }).finally(() => { delete process.env.NETDEF_CHANNEL_BLOCKED; });
  const tuned = engine.inspect().tactics.find((t) => t.layer === "features.3.conv.2")!;
  expect(Object.keys(tuned.milliseconds)).toEqual(["pointwise_gemm", "implicit_gemm_k256", "direct_c16"]);
  expect(engine.inspect().fusedGroups.find((g) => g.name === "features.3.conv.2")!.fusedFrom).toContain("features.3.add");
}, 60_000);

it("measures a layer over runs back to back in the engine: the outputs of one run, one fastest time per layer", async () => {
  // The tuner's measurement (execute's `repeats`): with a trip through JS between runs, the pool's worker could fall
  // asleep and each timing would include its wake-up.
  const { addon } = await import("../../native/addon.js");
  const { defineLeNet } = await import("../../models/lenet.js");
  const engine = await buildEngine(defineLeNet(await loadFixtureWeights("lenet.safetensors")), { profiles: [{ data: { min: [1, 1, 28, 28], opt: [4, 1, 28, 28], max: [4, 1, 28, 28] } }] });
  const native = await addon().Engine.deserialize(engine.serialize());
  const ctx = native.createContext();
  const feeds = [{ name: "data", shape: [4, 1, 28, 28], data: Float32Array.from({ length: 4 * 784 }, (_, i) => Math.sin(i) * 0.5 + 0.5) }];
  const once = await ctx.execute(feeds, true);
  const repeated = await ctx.execute(feeds, true, 7);
  expect(repeated.outputs).toEqual(once.outputs);
  expect(repeated.profile!.map((p) => p.layer)).toEqual(once.profile!.map((p) => p.layer));
  expect(repeated.profile!.every((p) => p.milliseconds > 0)).toBe(true);
  for (const bad of [0, 1001, Number.NaN]) await expect(async () => ctx.execute(feeds, true, bad)).rejects.toThrow(/repeats must be from 1 to 1000/);
  native.dispose();
});

it("times a bfloat16 network's layers on the storage they read, under timing-cache entries of their own", async () => {
  const { reducedFloat } = await import("netdef");
  const weights = await loadFixtureWeights("yolo_block.safetensors");
  // Planar tensors throughout: the tuner times the layers that run planar (the channel-blocked ones keep the shape
  // rules' choice), and here every convolution is to be tuned.
  const profiles = [{ input: { min: [1, 3, 64, 64], opt: [1, 3, 64, 64], max: [1, 3, 64, 64] } }], engine = { channelBlocked: false };
  const timingCacheFile = path.join(await mkdtemp(path.join(tmpdir(), "netdef-tune-")), "yolo.timing.json");
  await buildEngine(defineYoloBlock(weights), { profiles, tuning: "fast", timingCacheFile, engine });
  const reduced = await buildEngine(reducedFloat(defineYoloBlock(weights), "bfloat16"), { profiles, tuning: "fast", timingCacheFile, engine });
  // The stem reads the float32 network input; the other three read bfloat16 storage.
  expect(reduced.inspect().halfStorage.bfloat16.length).toBeGreaterThan(0);
  const entries = Object.keys(JSON.parse(await readFile(timingCacheFile, "utf8")).entries).map((k) => JSON.parse(k) as { storage: string[] });
  expect(entries.filter((e) => e.storage[0] === "bfloat16")).toHaveLength(3);
  expect(reduced.inspect().tactics.map((t) => t.cached)).toEqual(reduced.inspect().tactics.map(() => false));
}, 60_000);

// Porting friction 7 (#32): BuildOptions' JSDoc and the options document once disagreed on the tuner's rounds.
it("BuildOptions' JSDoc and docs/options.md state the tuner's rounds as it runs them", async () => {
  const { fast, thorough } = TUNING_SEARCH;
  for (const file of ["builder/build.ts", "docs/options.md"]) {
    const text = (await readFile(path.join(import.meta.dirname, "../..", file), "utf8")).replace(/\s+/g, " ");
    expect(text, file).toContain(`${fast.rounds} rounds of ${fast.repeats}`);
    expect(text, file).toContain(`${thorough.rounds} rounds of ${thorough.repeats}`);
  }
});
