// The `netdef` command line, run as a user runs it (the compiled bin, a network file, fixture weights).
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseNpy, parseSafetensors, serializeNpy, serializeSafetensors, WeightStore } from "netdef";
import { fixturePath, loadFixtureWeights } from "../fixtures.js";
import { netdef } from "./run.js";

describe("netdef CLI", () => {
  it("builds, inspects, runs, benches, exports, refits and compares LeNet", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-cli-"));
    const plan = path.join(dir, "lenet.plan");
    const build = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--minShapes", "data:1x1x28x28", "--optShapes", "data:4x1x28x28", "--maxShapes", "data:16x1x28x28", "-o", plan, "--json");
    expect(build.code).toBe(0);
    expect(JSON.parse(build.stdout)).toMatchObject({ plan, network: "lenet", layers: 7 });

    // INT8 from calibration batches on disk, and bf16.
    const calib = path.join(dir, "calib");
    await mkdir(calib);
    const digits = (await loadFixtureWeights("lenet_io.safetensors")).float32("input");
    for (let b = 0; b < 2; b++) await writeFile(path.join(calib, `batch${b}.npy`), serializeNpy({ dtype: "float32", shape: [50, 1, 28, 28], data: digits.slice(b * 50 * 784, (b + 1) * 50 * 784) }));
    // trtexec's --int8 with --calib, and --bf16.
    for (const precision of [["--int8", "--calib", calib], ["--bf16"]]) {
      const built = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), ...precision, "--shapes", "data:4x1x28x28", "-o", path.join(dir, `${precision[0]!.slice(2)}.plan`), "--json");
      expect(built.code).toBe(0);
    }
    expect(JSON.parse(await readFile(path.join(calib, "calibration.json"), "utf8")).method).toBe("mse");
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
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--minShapes", "data:1x1x28x28", "--optShapes", "data:1x1x28x28", "--maxShapes", "data:4x1x28x28", "--tactic", "conv1=direct_c16", "--tactic", "conv2=implicit_gemm_k128", "-o", pinnedPlan)).code).toBe(0);
    const pinned = (await netdef("inspect", pinnedPlan)).stdout;
    expect(pinned).toMatch(/conv1 +convolution +tactic direct_c16/);
    expect(pinned).toMatch(/conv2 +convolution +tactic implicit_gemm_k128/);
    // What each convolution runs, from the engine itself (here the pinned tactics: planar tensors).
    const pinnedJson = JSON.parse((await netdef("inspect", pinnedPlan, "--json")).stdout) as { layers: { name: string; kernel?: string }[] };
    expect(pinnedJson.layers.filter((l) => l.kernel).map((l) => [l.name, l.kernel])).toEqual([["conv1", "direct_c16"], ["conv2", "implicit_gemm_k128"]]);
    // Tactics ruled out for every layer: the shape rules' direct tactics give way to their next choice.
    const excludedPlan = path.join(dir, "excluded.plan");
    expect((await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--minShapes", "data:1x1x28x28", "--optShapes", "data:1x1x28x28", "--maxShapes", "data:4x1x28x28", "--exclude-tactic", "direct_c16", "--exclude-tactic", "direct_rows", "-o", excludedPlan)).code).toBe(0);
    expect((await netdef("inspect", excludedPlan)).stdout).toMatch(/conv1 +convolution +tactic implicit_gemm_k256[^]*conv2 +convolution +tactic implicit_gemm_k256/);

    const io = await loadFixtureWeights("lenet_io.safetensors");
    const input = path.join(dir, "x.npy");
    await writeFile(input, serializeNpy({ dtype: "float32", shape: [2, 1, 28, 28], data: io.float32("input").slice(0, 2 * 784) }));
    const out = path.join(dir, "y.npy");
    expect((await netdef("run", plan, "--loadInputs", `data:${input}`, "-o", out)).code).toBe(0);
    const y = parseNpy(new Uint8Array(await readFile(out)));
    const reference = io.get("output_fp64")!.data as Float64Array;
    expect(y.shape).toEqual([2, 10]);
    (y.data as Float32Array).forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-4));

    const bench = await netdef("bench", plan, "--shapes", "data:4x1x28x28", "--dumpProfile", "--duration", "0.2", "--warmUp", "20", "--json");
    expect(JSON.parse(bench.stdout)).toMatchObject({ shapes: { data: [4, 1, 28, 28] }, layers: { conv1: expect.any(Number), softmax: expect.any(Number) } });

    const onnxFile = path.join(dir, "lenet.onnx");
    expect((await netdef("export-onnx", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "-o", onnxFile)).code).toBe(0);
    expect((await readFile(onnxFile)).length).toBeGreaterThan(1_700_000);

    // Refit with zeroed dense weights: every output row becomes log(1/10).
    const weights = await loadFixtureWeights("lenet.safetensors");
    const zeroed = new WeightStore([...weights.entries()].map(([n, t]) => [n, n.startsWith("fc2") ? { ...t, data: new Float32Array(t.data.length) } : t]));
    const newWeights = path.join(dir, "new.safetensors");
    await writeFile(newWeights, serializeSafetensors(zeroed.entries()));
    const refitPlan = path.join(dir, "refit.plan");
    expect((await netdef("refit", plan, "--weights", newWeights, "-o", refitPlan)).code).toBe(0);
    await netdef("run", refitPlan, "--loadInputs", `data:${input}`, "-o", out);
    for (const v of parseNpy(new Uint8Array(await readFile(out))).data as Float32Array) expect(v).toBeCloseTo(Math.log(0.1), 5);

    // Compare against activations that disagree at fc2 (the zeroed weights' network vs the original's output).
    const activations = path.join(dir, "acts.safetensors");
    await writeFile(activations, serializeSafetensors([["log_softmax", { dtype: "float32", shape: [2, 10], data: Float32Array.from(reference.slice(0, 20)) }]]));
    const compare = await netdef("compare", "models/lenet.ts", "--weights", newWeights, "--loadInputs", `data:${input}`, "--reference", activations, "--json");
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
    const huge = await netdef("build", "models/lenet.ts", "--weights", fixturePath("lenet.safetensors"), "--shapes", "data:100000000000000000000x1x28x28", "-o", "x.plan");
    expect([huge.code, huge.stderr.split("\n")[0]]).toEqual([2, "netdef: --shapes data:100000000000000000000x1x28x28: dimension 100000000000000000000 is not an integer from 1 to 2147483647"]);
    const iterations = await netdef("bench", fixturePath("README.md"), "--iterations=-3");
    expect([iterations.code, iterations.stderr.split("\n")[0]]).toEqual([2, "netdef: --iterations -3: expected an integer from 1 to 9007199254740991"]);
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
      [["build", ...lenet, "--fp16", "--precision", "bf16"], "netdef: one precision at a time, but was given --fp16 and --bf16"],
      [["build", ...lenet, "--precison", "fp16"], "netdef: Unknown option '--precison' (did you mean --precision?)"],
      [["build", ...lenet, "--minShapes", "data:1x1x28x28"], "netdef: each profile needs --minShapes, --optShapes and --maxShapes, but they were given 1, 0 and 0 times"],
      [["bench", "lenet.plan", "--fp16"], "netdef: bench takes no --fp16 (it takes --shapes, --loadInputs, --warmUp, --iterations, --duration, --dumpProfile)"],
      [["buld", "models/lenet.ts"], 'netdef: unknown command "buld" (did you mean build?)'],
      [["inspect", "models/lenet.ts", "--tunning=fast", "--jsonn"], "netdef: Unknown option '--tunning' (did you mean --tuning?)"],
      [["run", "lenet.plan", "--seed", "3"], "netdef: run takes no --seed (it takes --loadInputs, --shapes, --output)"],
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

// trtexec's habits (#31 item 2): shape flags and several profiles, inputs from .npy or .safetensors, output summaries,
// bench statistics, two plans or two backends compared, no output over an input, every path checked first.
describe("netdef CLI with trtexec's habits", () => {
  const weights = fixturePath("lenet.safetensors");
  const lenet = ["models/lenet.ts", "--weights", weights];

  it("builds several profiles, runs inputs from .npy or .safetensors with a summary, benches with percentiles", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-trtexec-"));
    const plan = path.join(dir, "lenet.plan");
    const profiles = ["--minShapes", "data:1x1x28x28", "--optShapes", "data:4x1x28x28", "--maxShapes", "data:16x1x28x28", "--minShapes", "data:1x1x28x28", "--optShapes", "data:1x1x28x28", "--maxShapes", "data:2x1x28x28"];
    expect((await netdef("build", ...lenet, ...profiles, "-o", plan)).code).toBe(0);
    expect((await netdef("inspect", plan)).stdout).toContain("profiles [1,1,28,28]…[16,1,28,28] [1,1,28,28]…[2,1,28,28]");

    // One digit from a .safetensors file named as the input: a vector of 10, so its top 5 are listed.
    const io = await loadFixtureWeights("lenet_io.safetensors");
    const inputs = path.join(dir, "inputs.safetensors");
    await writeFile(inputs, serializeSafetensors([["data", { dtype: "float32", shape: [1, 1, 28, 28], data: io.float32("input").slice(0, 784) }]]));
    const before = await readdir(dir);
    const summary = await netdef("run", plan, "--loadInputs", inputs, "--json");
    expect(summary.code).toBe(0);
    const prob = JSON.parse(summary.stdout).outputs.prob;
    const expected = Array.from((io.get("output_fp64")!.data as Float64Array).slice(0, 10));
    const best = expected.indexOf(Math.max(...expected));
    expect(prob).toMatchObject({ dtype: "float32", shape: [1, 10], max: expect.closeTo(expected[best]!, 4) });
    expect(prob.top).toHaveLength(5);
    expect(prob.top[0].index).toBe(best);
    expect(prob.min).toBeCloseTo(Math.min(...expected), 4);
    expect(prob.mean).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 10, 4);
    expect((await netdef("run", plan, "--loadInputs", inputs)).stdout).toMatch(new RegExp(`^prob float32 \\[1,10\\]: min -?[\\d.e-]+, max -?[\\d.e-]+, mean -?[\\d.e-]+; top 5: ${best} \\(`));
    expect(await readdir(dir)).toEqual(before);  // without -o, nothing written
    // Outputs as one .safetensors file.
    const outFile = path.join(dir, "outputs.safetensors");
    expect((await netdef("run", plan, "--loadInputs", inputs, "-o", outFile)).code).toBe(0);
    expect(parseSafetensors(new Uint8Array(await readFile(outFile))).tensors.get("prob")!.shape).toEqual([1, 10]);

    const bench = JSON.parse((await netdef("bench", plan, "--shapes", "data:2x1x28x28", "--warmUp", "10", "--iterations", "25", "--duration", "0", "--json")).stdout);
    expect(bench.shapes).toEqual({ data: [2, 1, 28, 28] });
    expect(bench.runs).toBeGreaterThanOrEqual(25);
    expect(bench.minMs).toBeLessThanOrEqual(bench.medianMs);
    expect(bench.medianMs).toBeLessThanOrEqual(bench.p90Ms);
    expect(bench.p90Ms).toBeLessThanOrEqual(bench.p99Ms);
    expect(bench.p99Ms).toBeLessThanOrEqual(bench.maxMs);
    expect(bench.meanMs).toBeGreaterThanOrEqual(bench.minMs);
  }, 60_000);

  it("compares two plans, or a network on two backends, on the same inputs; exit 1 where they differ", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-compare-"));
    const [plan, zeroedPlan] = [path.join(dir, "a.plan"), path.join(dir, "b.plan")];
    expect((await netdef("build", ...lenet, "--shapes", "data:2x1x28x28", "-o", plan)).code).toBe(0);
    const original = await loadFixtureWeights("lenet.safetensors");
    const zeroed = path.join(dir, "zeroed.safetensors");
    await writeFile(zeroed, serializeSafetensors([...original.entries()].map(([n, t]) => [n, n.startsWith("fc2") ? { ...t, data: new Float32Array(t.data.length) } : t])));
    expect((await netdef("refit", plan, "--weights", zeroed, "-o", zeroedPlan)).code).toBe(0);
    const same = await netdef("compare", plan, plan, "--json");
    expect([same.code, JSON.parse(same.stdout).outputs[0]]).toMatchObject([0, { output: "prob", ok: true, maxAbs: 0 }]);
    const differ = await netdef("compare", plan, zeroedPlan);
    expect(differ.code).toBe(1);
    expect(differ.stdout).toMatch(/prob: max \|difference\| [\d.e+-]+, tolerance [\d.e+-]+ DIFFERS/);
    // The builtin engine against onnxruntime on netdef's ONNX export, seeded inputs.
    const backends = await netdef("compare", ...lenet, "--backend", "builtin", "--backend", "onnxruntime", "--shapes", "data:3x1x28x28", "--seed", "7", "--json");
    expect([backends.code, JSON.parse(backends.stdout)]).toMatchObject([0, { compared: ["builtin", "onnxruntime"], seed: 7, outputs: [{ output: "prob", ok: true }] }]);
    // TensorRT is not built in here: a typed failure saying how to get it, not a usage error.
    const tensorrt = await netdef("compare", ...lenet, "--backend", "builtin", "--backend", "tensorrt", "--shapes", "data:1x1x28x28");
    expect([tensorrt.code, tensorrt.stderr]).toEqual([1, expect.stringMatching(/^netdef: TensorRTUnavailableError: /)]);
    expect((await netdef("compare", ...lenet, "--backend", "builtin", "--shapes", "data:1x1x28x28")).stderr).toMatch(/takes two backends/);
  }, 60_000);

  it("never writes an output over a file it reads, and checks output paths before any work", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "netdef-paths-"));
    const plan = path.join(dir, "lenet.plan");
    expect((await netdef("build", ...lenet, "--shapes", "data:1x1x28x28", "-o", plan)).code).toBe(0);
    const input = path.join(dir, "x.npy");
    await writeFile(input, serializeNpy({ dtype: "float32", shape: [1, 1, 28, 28], data: new Float32Array(784) }));
    const cases: [string[], string][] = [
      [["refit", plan, "--weights", weights], "netdef: missing -o <refit.plan> (a new file: the plan read is kept)"],
      [["refit", plan, "--weights", weights, "-o", plan], `netdef: -o ${plan}: that is a file this command reads; write the output to another path`],
      [["run", plan, "--loadInputs", `data:${input}`, "-o", input], `netdef: -o ${input}: that is a file this command reads; write the output to another path`],
      [["build", ...lenet, "--shapes", "data:1x1x28x28", "-o", weights], `netdef: -o ${weights}: that is a file this command reads; write the output to another path`],
      [["build", ...lenet, "--shapes", "data:1x1x28x28", "-o", path.join(dir, "no/such/folder.plan")], `netdef: -o ${path.join(dir, "no/such/folder.plan")}: the folder ${path.join(dir, "no/such")} does not exist`],
      [["build", ...lenet, "--backend", "cuda", "-o", plan], "netdef: --backend cuda: expected one of builtin, tensorrt"],
      [["build", ...lenet, "--backend", "tensorrt", "--tuning", "fast", "-o", path.join(dir, "t.plan")], "netdef: --tuning, --tactic and --exclude-tactic choose the builtin engine's kernels; TensorRT tunes its own"],
      [["run", plan], "netdef: no values for input 'data': give --loadInputs data:<file.npy> (or a .safetensors file of them)"],
      [["run", plan, "--loadInputs", `image:${input}`], "netdef: --loadInputs image:" + input + ": no input is called 'image' (the inputs: data)"],
    ];
    for (const [args, message] of cases) {
      const result = await netdef(...args);
      expect([result.code, result.stderr.split("\n")[0]], args.join(" ")).toEqual([2, message]);
    }
    const built = await netdef("build", ...lenet, "--backend", "tensorrt", "--shapes", "data:1x1x28x28", "-o", path.join(dir, "t.plan"));
    expect([built.code, built.stderr]).toEqual([1, expect.stringMatching(/^netdef: TensorRTUnavailableError: /)]);
  }, 60_000);
});
