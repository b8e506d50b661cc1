// checkTensorRT / `netdef check --backend tensorrt`: what TensorRT would refuse and each layer whose TensorRT result
// differs from the builtin engine's, found on the TensorRT reference without TensorRT.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkTensorRT, Network, reducedFloat } from "netdef";
import { differenceBeyondTolerance } from "../../debug/check-tensorrt.js";
import { defineLeNet } from "../../models/lenet.js";
import { defineYoloBlock } from "../../models/yolo-block.js";
import { fixturePath, loadFixtureWeights } from "../fixtures.js";
import { netdef } from "../cli/run.js";

const LENET_PROFILE = [{ data: { min: [1, 1, 28, 28], opt: [4, 1, 28, 28], max: [64, 1, 28, 28] } }];

/** top-k over a dynamic axis: the DSL cannot know k fits; TensorRT refuses it where the axis is shorter than k. */
function dynamicTopK(): Network {
  const net = new Network("topk");
  net.markOutput(net.addInput("x", "float32", [1, -1]).addTopK("top", { op: "max", k: 5, axis: 1 }).values, "values");
  return net;
}

describe("checkTensorRT", () => {
  it("LeNet: no findings, its 9 layers compared at the profile's opt, min…max validated", async () => {
    const report = await checkTensorRT(defineLeNet(await loadFixtureWeights("lenet.safetensors")), { profiles: LENET_PROFILE });
    expect(report.findings).toEqual([]);
    expect(report.layersCompared).toBe(9);
    expect(report.shapesChecked.map((s) => s.data![0])).toEqual([1, 4, 64]);
    expect(report.toString()).toMatch(/no findings/);
  });

  it.each(["float16", "bfloat16"] as const)("yolo_block in %s: no findings (each type compared within its own rounding)", async (dtype) => {
    const report = await checkTensorRT(reducedFloat(defineYoloBlock(await loadFixtureWeights("yolo_block.safetensors")), dtype));
    expect(report.findings).toEqual([]);
    expect(report.layersCompared).toBeGreaterThan(60);
  });

  it("a rule TensorRT applies at the profile's min shape: the layer, its call site and the header's text", async () => {
    const report = await checkTensorRT(dynamicTopK(), { profiles: [{ x: { min: [1, 3], opt: [1, 8], max: [1, 16] } }] });
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ kind: "rule", layer: "top", tensorrtLayer: "top", rule: expect.stringMatching(/K up to 3840/) });
    expect(report.findings[0]!.detail).toMatch(/k = 5 of a dimension of 3 \(at x \[1,3\]\)/);
    expect(report.findings[0]!.callSite).toMatch(/check-tensorrt\.test\.ts:\d+:\d+/);
    expect(report.toString()).toMatch(/rule +top/);
  });

  it("a layer the lowering refuses: named with its reason", async () => {
    const net = new Network("refused");
    net.markOutput(net.addInput("x", "float32", [1, 4, 8]).addLRN("norm", { window: 3, alpha: 1e-4, beta: 0.75, k: 2 }), "y");
    const report = await checkTensorRT(net);
    expect(report.findings).toMatchObject([{ kind: "refused", layer: "norm", detail: expect.stringMatching(/rank-3 input/) }]);
  });

  it("differences beyond the tolerance of each type", () => {
    const tensor = (type: "kFLOAT" | "kHALF" | "kBF16" | "kINT32", data: number[]) => ({ type, shape: [data.length], data: Float64Array.from(data) });
    expect(differenceBeyondTolerance(tensor("kFLOAT", [1, 2]), { shape: [2], data: [1, 2 + 1e-5] })).toBeUndefined();
    expect(differenceBeyondTolerance(tensor("kFLOAT", [1, 2]), { shape: [2], data: [1, 2 + 1e-4] })?.maxAbs).toBeCloseTo(1e-4, 9);
    // bfloat16 at magnitude 2: steps of 2^-6, two allowed.
    expect(differenceBeyondTolerance(tensor("kBF16", [1, 2]), { shape: [2], data: [1, 2 + 2 ** -5] })).toBeUndefined();
    expect(differenceBeyondTolerance(tensor("kBF16", [1, 2]), { shape: [2], data: [1, 2 + 2 ** -4] })).toBeDefined();
    expect(differenceBeyondTolerance(tensor("kHALF", [1, 2]), { shape: [2], data: [1, 2 + 2 ** -8] })).toBeUndefined();
    expect(differenceBeyondTolerance(tensor("kHALF", [1, 2]), { shape: [2], data: [1, 2 + 2 ** -7] })).toBeDefined();
    expect(differenceBeyondTolerance(tensor("kINT32", [1, 2]), { shape: [2], data: [1, 3] })).toBeDefined();
    expect(differenceBeyondTolerance(tensor("kFLOAT", [1, 2]), { shape: [1, 2], data: [1, 2] })?.detail).toMatch(/TensorRT gives \[2\], the builtin engine \[1,2\]/);
    expect(differenceBeyondTolerance(tensor("kFLOAT", [NaN, 2]), { shape: [2], data: [NaN, 2] })).toBeUndefined();
    expect(differenceBeyondTolerance(tensor("kFLOAT", [1, 2]), { shape: [2], data: [NaN, 2] })?.maxAbs).toBe(Infinity);
  });
});


describe("netdef check --backend tensorrt", () => {
  it("LeNet: a clean table, exit 0; JSON on request", async () => {
    const human = await netdef("check", "--backend", "tensorrt", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--minShapes", "data:1x1x28x28", "--optShapes", "data:4x1x28x28", "--maxShapes", "data:64x1x28x28");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/lenet: TensorRT checked on netdef's TensorRT reference \(no GPU\): 3 input shape sets validated, 9 layers compared/);
    const json = await netdef("check", "--backend", "tensorrt", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ network: "lenet", findings: [], layersCompared: 9 });
  });

  it("findings: exit 1 and a table row per finding", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-check-"));
    const file = path.join(dir, "topk.mjs");
    const netdefUrl = new URL("../../dist/index.js", import.meta.url).href;
    await writeFile(file, `import { Network } from ${JSON.stringify(netdefUrl)};
export default function define() {
  const net = new Network("topk");
  net.markOutput(net.addInput("x", "float32", [1, -1]).addTopK("top", { op: "max", k: 5, axis: 1 }).values, "values");
  return net;
}\n`);
    const weights = path.join(dir, "none.safetensors");
    await writeFile(weights, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
    const result = await netdef("check", "--backend", "tensorrt", file, "--weights", weights, "--minShapes", "x:1x3", "--optShapes", "x:1x8", "--maxShapes", "x:1x16", "--json");
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).findings).toMatchObject([{ kind: "rule", layer: "top" }]);
  });

  it("--backend other than tensorrt is a usage error (exit 2)", async () => {
    const result = await netdef("check", "--backend", "builtin", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/expected --backend tensorrt/);
  });
});
