// A longer fuzz campaign over the weight readers: `npm run fuzz:weights -- [cases per format] [first seed]`.
import { formats, fuzz } from "../test/weights/fuzz.js";

const cases = Number(process.argv[2] ?? 200_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
let failed = 0;
for (const format of Object.keys(formats) as (keyof typeof formats)[]) {
  const started = performance.now();
  const outcome = fuzz(format, cases, seed);
  failed += outcome.failures.length;
  console.log(`${format}: ${cases} cases (seed ${seed}) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${outcome.loaded} loaded, ${outcome.rejected} rejected, ${outcome.failures.length} failures`);
  for (const f of outcome.failures.slice(0, 10)) console.log(`  ${f}`);
}
process.exitCode = failed ? 1 : 0;
