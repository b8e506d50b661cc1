import { Engine, loadWeights, refit } from "netdef";
import { need, type Invocation } from "../command-line.js";
import { readable, writable } from "../files.js";

/** netdef refit: a plan's weights replaced by name, written as a new plan (never over the one read). */
export async function refitCommand({ files: [plan], options, print }: Invocation): Promise<void> {
  const weights = need(options.weights, "--weights");
  const out = await writable(need(options.output, "-o <refit.plan> (a new file: the plan read is kept)"), [plan, weights]);
  const engine = await Engine.load(await readable(plan!));
  await refit(engine, await loadWeights(weights));
  await engine.save(out);
  print(`refit ${engine.header.network} with ${options.weights} → ${out}`, { plan: out });
}
