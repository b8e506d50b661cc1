// A long campaign of structure-aware plan mutants (test/engine/plan-mutants.ts), in child processes so that a crash
// is counted and named instead of ending the run: `npm run fuzz -- [mutants per network] [first seed] [batch]`.
// Runs add up across sittings: each prints its seeds, counts and failures.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { planParts, planSubjects, runPlanMutants } from "../test/engine/plan-mutants.js";

const [mode, ...args] = process.argv.slice(2);
if (mode === "--child") {
  // One batch: the subject, the count and the seed; the case about to run goes to stderr first.
  const [name, count, seed] = [args[0]!, Number(args[1]), Number(args[2])];
  const subject = (await planSubjects()).find((s) => s.name === name)!;
  const outcome = await runPlanMutants(subject, await planParts(subject), count, seed, (i, what) => process.stderr.write(`case ${i}: ${what}\n`));
  console.log(JSON.stringify(outcome));
} else {
  const perNetwork = Number(mode ?? 35_000), firstSeed = Number(args[0] ?? Date.now() % 2 ** 31), batch = Number(args[1] ?? 2_000);
  const self = fileURLToPath(import.meta.url);
  let total = 0, rejected = 0, loaded = 0;
  const failures: string[] = [];
  for (const subject of await planSubjects()) {
    for (let done = 0, seed = firstSeed; done < perNetwork; done += batch, seed++) {
      const count = Math.min(batch, perNetwork - done);
      const started = performance.now();
      try {
        const out = execFileSync(process.execPath, ["--conditions", "netdef-source", "--import", "tsx", self, "--child", subject.name, String(count), String(seed)],
          { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28, timeout: count * 5_000 });
        const outcome = JSON.parse(out.trim().split("\n").at(-1)!) as { rejected: number; loaded: number; failures: string[] };
        rejected += outcome.rejected; loaded += outcome.loaded; failures.push(...outcome.failures);
      } catch (error) {
        const stderr = String((error as { stderr?: string }).stderr ?? "");
        const last = stderr.trim().split("\n").filter((l) => l.startsWith("case ")).at(-1) ?? "before the first case";
        failures.push(`${subject.name} seed ${seed}: the child ended (${(error as { signal?: string }).signal ?? (error as Error).message.split("\n")[0]}) at ${last}`);
      }
      total += count;
      console.log(`${subject.name}: seed ${seed}, ${count} mutants in ${((performance.now() - started) / 1000).toFixed(1)} s (total ${total}: ${loaded} loaded, ${rejected} refused, ${failures.length} failures)`);
    }
  }
  for (const f of failures.slice(0, 20)) console.log(`  ${f}`);
  process.exitCode = failures.length ? 1 : 0;
}
