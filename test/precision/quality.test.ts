// INT8 and bfloat16 quality on the convolution fixture models' evaluation sets (issue 30's targets): relative L2 error
// of the output against PyTorch's float64 over 64 inputs, INT8 calibrated (MSE, the default) on 64 other inputs.
// The full table, every calibration method: npm run quality (docs/performance.md).
import { expect, it } from "vitest";
import { modelQuality, QUALITY_MODELS } from "../../scripts/quality.js";

it.each(QUALITY_MODELS)("%s: INT8 ≤ 3 %, bfloat16 ≤ 1 % relative L2 error against float64", async (model, define) => {
  const errors = await modelQuality(model, define, ["mse"]);
  expect(errors.float32).toBeLessThan(1e-5);
  expect(errors.bfloat16).toBeLessThanOrEqual(0.01);
  expect(errors["int8 mse"]).toBeLessThanOrEqual(0.03);
}, 120_000);
