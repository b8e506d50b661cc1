// Kernel auto-tuning: candidates timed on the layer's shape, the winner recorded, a timing cache reused.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { defineYoloBlock } from "../../examples/yolo-block/network.js";
import { loadFixtureWeights } from "../fixtures.js";

it("tunes every convolution of yolo_block, reuses the timing cache, and computes what the untuned engine does", async () => {
  const weights = await loadFixtureWeights("yolo_block.safetensors");
  const io = await loadFixtureWeights("yolo_block_io.safetensors");
  const profiles = [{ input: { min: [1, 3, 64, 64], opt: [1, 3, 64, 64], max: [1, 3, 64, 64] } }];
  const timingCacheFile = path.join(await mkdtemp(path.join(tmpdir(), "netdef-tune-")), "yolo.timing.json");
  const tuned = await defineYoloBlock(weights).build({ profiles, tuning: "fast", timingCacheFile });
  const { tactics } = tuned.inspect();
  expect(tactics.map((t) => t.layer)).toEqual(["stem.conv", "down.conv", "reduce.conv", "head"]);
  for (const t of tactics) {
    expect(t.cached).toBe(false);
    expect(t.milliseconds[t.tactic]).toBe(Math.min(...Object.values(t.milliseconds)));
  }
  expect(tactics.find((t) => t.layer === "head")!.milliseconds).toHaveProperty("pointwise_gemm");
  expect(Object.keys(JSON.parse(await readFile(timingCacheFile, "utf8")).entries)).toHaveLength(4);

  const again = await defineYoloBlock(weights).build({ profiles, tuning: "fast", timingCacheFile });
  expect(again.inspect().tactics.map((t) => [t.tactic, t.cached])).toEqual(tactics.map((t) => [t.tactic, true]));

  // A cache written before a tactic existed: the entry lacking it is timed again, the others stay cached.
  const file = JSON.parse(await readFile(timingCacheFile, "utf8"));
  const [firstKey] = Object.keys(file.entries);
  delete file.entries[firstKey!].milliseconds.direct_c16;
  await writeFile(timingCacheFile, JSON.stringify(file));
  const stale = await defineYoloBlock(weights).build({ profiles, tuning: "fast", timingCacheFile });
  expect(stale.inspect().tactics.map((t) => t.cached)).toEqual([false, true, true, true]);
  expect(stale.inspect().tactics[0]!.milliseconds).toHaveProperty("direct_c16");

  const plain = await defineYoloBlock(weights).build({ profiles });
  const input = { input: { data: io.float32("input"), shape: [1, 3, 64, 64] } };
  const [a, b] = await Promise.all([tuned.createExecutionContext().execute(input), plain.createExecutionContext().execute(input)]);
  let worst = 0;
  a.output!.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(Number(v) - Number(b.output!.data[i]))); });
  expect(worst).toBeLessThan(1e-5);
}, 60_000);

it("tunes convolutions that carry a fused residual input (mobilenet_v2's projections)", async () => {
  const { defineMobileNetV2 } = await import("../../examples/mobilenet-v2/network.js");
  const engine = await defineMobileNetV2(await loadFixtureWeights("mobilenet_v2.safetensors")).build({
    profiles: [{ input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }], tuning: "fast",
  });
  const tuned = engine.inspect().tactics.find((t) => t.layer === "features.3.conv.2")!;
  expect(Object.keys(tuned.milliseconds)).toEqual(["pointwise_gemm", "implicit_gemm_k256", "direct_c16"]);
  expect(engine.inspect().fusedGroups.find((g) => g.name === "features.3.conv.2")!.fusedFrom).toContain("features.3.add");
}, 60_000);
