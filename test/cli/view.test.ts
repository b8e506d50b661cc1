// netdef view (#31 item 5): the drawing of a network file and of a plan, loaded in headless Chromium, which must
// find every layer; a plan's fused layers outlined, layer times where profiled.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { fixturePath } from "../fixtures.js";
import { netdef } from "./run.js";

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p));

/** The page's DOM after Chromium loaded and rendered it. */
async function rendered(file: string): Promise<string> {
  const { stdout } = await promisify(execFile)(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", `file://${file}`], { maxBuffer: 1 << 26, timeout: 60_000 });
  return stdout;
}

it.skipIf(!chromium)("draws a network file and a profiled plan that headless Chromium loads, every layer in it", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "netdef-view-"));
  const [network, plan, planPage] = [path.join(dir, "network.html"), path.join(dir, "yolo.plan"), path.join(dir, "plan.html")];
  expect((await netdef("view", "models/yolo-block.ts", "--weights", fixturePath("yolo_block.safetensors"), "-o", network)).code).toBe(0);
  expect((await netdef("build", "models/yolo-block.ts", "--weights", fixturePath("yolo_block.safetensors"), "--shapes", "input:1x3x64x64", "-o", plan)).code).toBe(0);
  expect((await netdef("view", plan, "--dumpProfile", "--shapes", "input:1x3x64x64", "-o", planPage)).code).toBe(0);
  const layers = defineYoloBlock().toJSON().layers.map((l) => l.name);
  for (const page of [network, planPage]) {
    const dom = await rendered(page);
    const drawn = [...dom.matchAll(/data-layer="([^"]+)"/g)].map((m) => m[1]);
    expect(drawn).toEqual(expect.arrayContaining(layers));
    expect(dom).toMatch(/<svg[^>]* width="\d+"/);
  }
  const html = await readFile(planPage, "utf8");
  // The stem's convolution, BatchNorm and Mish run as one layer: outlined, with its time.
  expect(html).toMatch(/fused: stem\.conv \d+\.\d{3} ms/);
  expect(html).toContain("float32 [-1,16,64,64]");
}, 120_000);
