// The fixture models on the arm64 engine under qemu-user (npm run test:arm64, after scripts/arm64-check.sh built
// native/build-arm64): each plan built here (x64 Node), run by netdef_run_plan for aarch64 under qemu-aarch64, its
// output checked against PyTorch's float64 output (1e-4 absolute, as the fixture tests) and the x64 engine's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildEngine, loadWeights, type Network, type WeightSource } from "netdef";
import { defineLeNet } from "../models/lenet.js";
import { defineMobileNetV2 } from "../models/mobilenet-v2.js";
import { defineShuffleNetV2 } from "../models/shufflenet-v2.js";
import { defineSqueezeNet } from "../models/squeezenet.js";
import { defineTransformerEncoder } from "../models/transformer-encoder.js";
import { defineYoloBlock } from "../models/yolo-block.js";

const MODELS: [string, (w: WeightSource) => Network, string, string][] = [
  ["lenet", defineLeNet, "data", "prob"], ["yolo_block", defineYoloBlock, "input", "output"], ["squeezenet", defineSqueezeNet, "input", "output"],
  ["shufflenet_v2", defineShuffleNetV2, "input", "output"], ["mobilenet_v2", defineMobileNetV2, "input", "output"], ["encoder", (w) => defineTransformerEncoder(w), "input", "output"],
];
const runner = path.resolve(process.argv[2] ?? "native/build-arm64/netdef_run_plan");
const work = mkdtempSync(path.join(tmpdir(), "netdef-arm64-"));
let failed = 0;
for (const [model, define, inputName, outputName] of MODELS) {
  const io = await loadWeights(`fixtures/${model}_io.safetensors`);
  const input = io.get("input")!;
  // LeNet's fixture holds 2,000 digits: 16 of them are enough under emulation.
  const shape = model === "lenet" ? [16, ...input.shape.slice(1)] : [...input.shape];
  const count = shape.reduce((a, b) => a * b, 1);
  const data = io.float32("input").slice(0, count);
  const engine = await buildEngine(define(await loadWeights(`fixtures/${model}.safetensors`)), { profiles: [{ [inputName]: { min: shape, opt: shape, max: shape } }] });
  const x64 = (await engine.createExecutionContext().execute({ [inputName]: { data, shape } }))[outputName]!.data as Float32Array;
  const [plan, inFile, outFile] = ["plan", "in.f32", "out.f32"].map((f) => path.join(work, `${model}.${f}`)) as [string, string, string];
  await engine.save(plan);
  writeFileSync(inFile, data);
  const started = performance.now();
  execFileSync("qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", runner, plan, inputName, inFile, shape.join("x"), outputName, outFile], { stdio: ["ignore", "inherit", "inherit"] });
  const seconds = (performance.now() - started) / 1000;
  const bytes = readFileSync(outFile);
  const arm64 = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const reference = (io.get("output_fp64")!.data as Float64Array).slice(0, arm64.length);
  let [vsPyTorch, vsX64] = [0, 0];
  arm64.forEach((v, i) => { vsPyTorch = Math.max(vsPyTorch, Math.abs(v - reference[i]!)); vsX64 = Math.max(vsX64, Math.abs(v - x64[i]!)); });
  const ok = arm64.length === x64.length && vsPyTorch < 1e-4;
  if (!ok) failed++;
  console.log(`${model.padEnd(14)} [${shape.join(",")}] on arm64 (qemu, ${seconds.toFixed(1)} s): max |arm64 − PyTorch float64| ${vsPyTorch.toExponential(2)}, |arm64 − x64| ${vsX64.toExponential(2)} ${ok ? "ok" : "FAILED"}`);
}
process.exitCode = failed ? 1 : 0;
