import { expect, it } from "vitest";
import { formats, fuzz } from "./fuzz.js";

// 3 formats × 4,000 mutations = 12,000 cases; `npm run fuzz:weights` runs a longer campaign with fresh seeds.
it.each(Object.keys(formats) as (keyof typeof formats)[])("mutated %s files give only typed errors or coherent loads", (format) => {
  const outcome = fuzz(format, 4000, 20261121);
  expect(outcome.failures).toEqual([]);
  expect(outcome.rejected).toBeGreaterThan(1000); // the mutations do reach the validation
});
