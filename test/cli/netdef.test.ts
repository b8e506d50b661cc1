// The `netdef` command line, run as a user runs it (the compiled bin, a network file, fixture weights).
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseNpy, serializeNpy, serializeSafetensors, WeightStore } from "netdef";
import { fixturePath, loadFixtureWeights } from "../fixtures.js";
import { netdef } from "./run.js";

describe("netdef CLI", () => {
  it("builds, inspects, runs, benches, exports, refits and compares LeNet", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-cli-"));
    const plan = path.join(dir, "lenet.plan");
    const build = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--profile", "data:1x1x28x28/4x1x28x28/16x1x28x28", "-o", plan, "--json");
    expect(build.code).toBe(0);
    expect(JSON.parse(build.stdout)).toMatchObject({ plan, network: "lenet", layers: 7 });

    // INT8 from calibration batches on disk, and bf16.
    const calib = path.join(dir, "calib");
    await mkdir(calib);
    const digits = (await loadFixtureWeights("lenet_io.safetensors")).float32("input");
    for (let b = 0; b < 2; b++) await writeFile(path.join(calib, `batch${b}.npy`), serializeNpy({ dtype: "float32", shape: [50, 1, 28, 28], data: digits.slice(b * 50 * 784, (b + 1) * 50 * 784) }));
    for (const precision of ["int8", "bf16"]) {
      const built = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--precision", precision, "--calib", calib, "--profile", "data:1x1x28x28/4x1x28x28/16x1x28x28", "-o", path.join(dir, `${precision}.plan`), "--json");
      expect(built.code).toBe(0);
    }
    expect(JSON.parse(await readFile(path.join(calib, "calibration.json"), "utf8")).method).toBe("entropy");
    // bf16 LeNet: conv1, pool1, conv2 and pool2 write bfloat16 values read only by layers that take 16-bit input.
    expect((await netdef("inspect", path.join(dir, "bf16.plan"))).stdout).toMatch(/bfloat16 storage: 4 tensors \(conv1.float32, pool1.float32, conv2.float32, pool2.float32\)/);
    const bf16Json = JSON.parse((await netdef("inspect", path.join(dir, "bf16.plan"), "--json")).stdout);
    expect(bf16Json.halfStorage).toEqual({ bfloat16: ["conv1.float32", "pool1.float32", "conv2.float32", "pool2.float32"], float16: [] });
    expect(bf16Json.bfloat16Products).toEqual([]);  // LeNet's convolutions take the direct tactics: float32 products
    expect(bf16Json.channelBlocked).toEqual({ tensors: [], layers: [] });  // 20 and 50 channels, and 16-bit storage

    const inspect = await netdef("inspect", plan);
    expect(inspect.stdout).toContain("input  data float32 [-1,1,28,28] profiles [1,1,28,28]…[16,1,28,28]");
    expect(inspect.stdout).toContain("fused: fc1 + relu1");

    // Pinned implementations, by layer name.
    const pinnedPlan = path.join(dir, "pinned.plan");
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--profile", "data:1x1x28x28/1x1x28x28/4x1x28x28", "--tactic", "conv1=direct_c16", "--tactic", "conv2=implicit_gemm_k128", "-o", pinnedPlan)).code).toBe(0);
    const pinned = (await netdef("inspect", pinnedPlan)).stdout;
    expect(pinned).toMatch(/conv1 +convolution +tactic direct_c16/);
    expect(pinned).toMatch(/conv2 +convolution +tactic implicit_gemm_k128/);
    // What each convolution runs, from the engine itself (here the pinned tactics: planar tensors).
    const pinnedJson = JSON.parse((await netdef("inspect", pinnedPlan, "--json")).stdout) as { layers: { name: string; kernel?: string }[] };
    expect(pinnedJson.layers.filter((l) => l.kernel).map((l) => [l.name, l.kernel])).toEqual([["conv1", "direct_c16"], ["conv2", "implicit_gemm_k128"]]);
    // Tactics ruled out for every layer: the shape rules' direct tactics give way to their next choice.
    const excludedPlan = path.join(dir, "excluded.plan");
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--profile", "data:1x1x28x28/1x1x28x28/4x1x28x28", "--exclude-tactic", "direct_c16", "--exclude-tactic", "direct_rows", "-o", excludedPlan)).code).toBe(0);
    expect((await netdef("inspect", excludedPlan)).stdout).toMatch(/conv1 +convolution +tactic implicit_gemm_k256[^]*conv2 +convolution +tactic implicit_gemm_k256/);

    const io = await loadFixtureWeights("lenet_io.safetensors");
    const input = path.join(dir, "x.npy");
    await writeFile(input, serializeNpy({ dtype: "float32", shape: [2, 1, 28, 28], data: io.float32("input").slice(0, 2 * 784) }));
    const out = path.join(dir, "y.npy");
    expect((await netdef("run", plan, "--input", `data=${input}`, "-o", out)).code).toBe(0);
    const y = parseNpy(new Uint8Array(await readFile(out)));
    const reference = io.get("output_fp64")!.data as Float64Array;
    expect(y.shape).toEqual([2, 10]);
    (y.data as Float32Array).forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-4));

    const bench = await netdef("bench", plan, "--batch", "4", "--profile", "--json");
    expect(JSON.parse(bench.stdout)).toMatchObject({ batch: 4, layers: { conv1: expect.any(Number), softmax: expect.any(Number) } });

    const onnxFile = path.join(dir, "lenet.onnx");
    expect((await netdef("export-onnx", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "-o", onnxFile)).code).toBe(0);
    expect((await readFile(onnxFile)).length).toBeGreaterThan(1_700_000);

    // Refit with zeroed dense weights: every output row becomes log(1/10).
    const weights = await loadFixtureWeights("lenet.safetensors");
    const zeroed = new WeightStore([...weights.entries()].map(([n, t]) => [n, n.startsWith("fc2") ? { ...t, data: new Float32Array(t.data.length) } : t]));
    const newWeights = path.join(dir, "new.safetensors");
    await writeFile(newWeights, serializeSafetensors(zeroed.entries()));
    expect((await netdef("refit", plan, "--weights", newWeights)).code).toBe(0);
    await netdef("run", plan, "--input", `data=${input}`, "-o", out);
    for (const v of parseNpy(new Uint8Array(await readFile(out))).data as Float32Array) expect(v).toBeCloseTo(Math.log(0.1), 5);

    // Compare against activations that disagree at fc2 (the zeroed weights' network vs the original's output).
    const activations = path.join(dir, "acts.safetensors");
    await writeFile(activations, serializeSafetensors([["log_softmax", { dtype: "float32", shape: [2, 10], data: Float32Array.from(reference.slice(0, 20)) }]]));
    const compare = await netdef("compare", "models/lenet.ts", "--weights", newWeights, "--input", input, "--reference", activations, "--json");
    expect(compare.code).toBe(1);
    expect(JSON.parse(compare.stdout).firstDivergent).toBe("log_softmax");
  }, 120_000);

  it("answers usage errors with exit code 2 and the usage text", async () => {
    const missing = await netdef("build", "models/lenet.ts");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("netdef: missing --weights");
    expect((await netdef("frobnicate")).code).toBe(2);
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--precision", "int8", "-o", "x.plan")).stderr).toContain("missing --calib");
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--precision", "int4", "-o", "x.plan")).stderr).toContain("expected fp32, fp16, bf16 or int8");
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--tactic", "conv1", "-o", "x.plan")).stderr).toContain("--tactic conv1: expected layer=tactic");
    // Were a raw ENOENT/EISDIR, a build with a profile of 10^20, a raw RangeError (exit 1).
    const nowhere = await netdef("inspect", "no/such/plan.plan");
    expect([nowhere.code, nowhere.stderr.split("\n")[0]]).toEqual([2, "netdef: no/such/plan.plan: no such file or directory"]);
    const folder = await netdef("inspect", "examples");
    expect([folder.code, folder.stderr.split("\n")[0]]).toEqual([2, "netdef: examples: is a directory, not a file"]);
    const huge = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--profile", "data:1x1x28x28/1x1x28x28/100000000000000000000x1x28x28", "-o", "x.plan");
    expect([huge.code, huge.stderr.split("\n")[0]]).toEqual([2, "netdef: --profile data:1x1x28x28/1x1x28x28/100000000000000000000x1x28x28: dimension 100000000000000000000 is not an integer from 1 to 2147483647"]);
    const batch = await netdef("bench", fixturePath("README.md"), "--batch=-3");
    expect([batch.code, batch.stderr.split("\n")[0]]).toEqual([2, "netdef: --batch -3: expected an integer ≥ 1"]);
  });

  it("--version says the package's version; --json puts errors in JSON on stdout, with the same exit codes", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    expect(await netdef("--version")).toMatchObject({ code: 0, stdout: `netdef ${version}\n` });
    expect(JSON.parse((await netdef("--version", "--json")).stdout)).toEqual({ netdef: version });
    const usage = await netdef("build", "models/lenet.ts", "--precison", "fp16", "--json");
    expect([usage.code, JSON.parse(usage.stdout).error]).toEqual([2, { name: "UsageError", code: "usage", message: "Unknown option '--precison' (did you mean --precision?)" }]);
    const nowhere = await netdef("inspect", "no/such/plan.plan", "--json");
    expect([nowhere.code, JSON.parse(nowhere.stdout).error.message]).toEqual([2, "no/such/plan.plan: no such file or directory"]);
    const notAPlan = await netdef("inspect", fixturePath("lenet.safetensors"), "--json");
    expect([notAPlan.code, JSON.parse(notAPlan.stdout).error]).toMatchObject([1, { name: "PlanError", code: "plan" }]);
  });

  // Were exit 0 with a float32 plan (`--fp16`, `--precison fp16`) or ignored (`--tunning=fast --jsonn`).
  it("refuses what it does not know: a misspelt flag, a flag of another command, an extra file", async () => {
    const lenet = ["models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "-o", "never.plan"];
    const cases: [string[], string][] = [
      [["build", ...lenet, "--fp16"], "netdef: Unknown option '--fp16'"],
      [["build", ...lenet, "--precison", "fp16"], "netdef: Unknown option '--precison' (did you mean --precision?)"],
      [["inspect", "models/lenet.ts", "--tunning=fast", "--jsonn"], "netdef: Unknown option '--tunning' (did you mean --tuning?)"],
      [["run", "lenet.plan", "--seed", "3"], "netdef: run takes no --seed (it takes --input, --output)"],
      [["inspect", "models/lenet.ts", "models/yolo-block.ts"], 'netdef: inspect takes one file, but was given "models/lenet.ts", "models/yolo-block.ts"'],
      [["selftest", "cases", "--backend", "tensorrt"], 'netdef: selftest takes no file, but was given "cases"'],
    ];
    for (const [args, message] of cases) {
      const result = await netdef(...args);
      expect([result.code, result.stderr.split("\n")[0]], args.join(" ")).toEqual([2, message]);
    }
  });

  it("reports failures with exit code 1 and the typed error", async () => {
    const result = await netdef("inspect", fixturePath("README.md"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^netdef: PlanError: /);
  });
});
