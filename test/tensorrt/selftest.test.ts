// `netdef selftest --backend tensorrt`: on TensorRT where the addon has it (skipped here, saying why), and on the
// TensorRT reference standing in for TensorRT, which is how the self-test itself is tested without a GPU.
import { describe, expect, it } from "vitest";
import { addon } from "../../native/addon.js";
import { netdef } from "../cli/run.js";
import { layerCases } from "../../selftest/layer-cases.js";
import { runSelftest } from "../../selftest/selftest.js";
import { referenceUnderTest, tensorrtUnderTest, type TensorRTUnderTest } from "../../selftest/under-test.js";

const hasTensorRT = addon().tensorrt;

describe("the self-test on TensorRT", () => {
  it.skipIf(!hasTensorRT)(`every layer case and example model (${hasTensorRT ? "TensorRT built in" : "skipped: this addon was built without TensorRT"})`, async () => {
    const report = await runSelftest(tensorrtUnderTest());
    console.log(report.toString());
    expect(report.rows.filter((r) => r.verdict === "fail")).toEqual([]);
  }, 1_800_000);
});

describe("the self-test on the TensorRT reference standing in", () => {
  it("every layer case and four example models pass; the lowering's refusals are reported as such", async () => {
    const report = await runSelftest(referenceUnderTest(), { cases: new RegExp(`^(${[...Object.keys(layerCases).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "lenet", "yolo_block", "shufflenet_v2_x0_5", "transformer_encoder"].join("|")})$`) });
    expect(report.real).toBe(false);
    expect(report.rows.filter((r) => r.verdict === "fail")).toEqual([]);
    expect(report.rows.filter((r) => r.verdict === "refused").map((r) => r.case)).toEqual(["quantize / dequantize per channel"]);
    expect(report.rows.find((r) => r.case === "lenet")?.steps).toEqual(["build+run", "3 contexts", "refit"]);
    expect(report.toString()).toMatch(/self-test on the TensorRT reference standing in for TensorRT/);
  }, 120_000);

  it("a TensorRT that computes one layer kind wrongly fails its cases, with the error", async () => {
    const reference = referenceUnderTest();
    const wrongSigmoid: TensorRTUnderTest = {
      ...reference,
      async build(network, profiles) {
        const built = await reference.build(network, profiles);
        const sigmoid = network.toJSON().layers.some((l) => l.kind === "activation" && l.params.type === "sigmoid");
        return { ...built, execute: async (inputs, context) => {
          const outputs = await built.execute(inputs, context);
          if (sigmoid) for (const o of Object.values(outputs)) o.values = o.values.map((v) => v * 1.001);
          return outputs;
        } };
      },
    };
    const report = await runSelftest(wrongSigmoid, { cases: /^(activation (sigmoid|relu)|conv \+ sigmoid \(fused epilogue\))$/ });
    expect(Object.fromEntries(report.rows.map((r) => [r.case, r.verdict]))).toEqual({ "activation relu": "pass", "activation sigmoid": "fail", "conv + sigmoid (fused epilogue)": "fail" });
    expect(report.failed).toBe(2);
  });

  it("cancels between cases", async () => {
    const controller = new AbortController();
    const run = runSelftest(referenceUnderTest(), { signal: controller.signal, onProgress: ({ step }) => { if (step === 2) controller.abort(); } });
    await expect(run).rejects.toThrow(/self-test cancelled after 2 of/);
  });
});

describe("netdef selftest", () => {
  it("--stand-in reference: a table, or JSON; without TensorRT and no stand-in, exit 1 saying how to get it", async () => {
    const human = await netdef("selftest", "--backend", "tensorrt", "--stand-in", "reference", "--cases", "^(lenet|conv 1×1)$");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/conv 1×1 +build\+run, 3 contexts +\d\.\d{3}  pass/);
    expect(human.stdout).toMatch(/2 passed, 0 failed/);
    const json = JSON.parse((await netdef("selftest", "--backend", "tensorrt", "--stand-in", "reference", "--cases", "^lenet$", "--json")).stdout);
    expect(json).toMatchObject({ real: false, passed: 1, failed: 0, rows: [{ case: "lenet", verdict: "pass" }] });
    if (!hasTensorRT) {
      const missing = await netdef("selftest", "--backend", "tensorrt");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/built without TensorRT.*--stand-in reference/s);
    }
    expect((await netdef("selftest", "--backend", "tensorrt", "--stand-in", "gpu")).code).toBe(2);
  }, 60_000);
});
