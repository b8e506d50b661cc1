import { Engine } from "netdef";
import { UsageError, type Invocation } from "../command-line.js";
import { formatSummary, inputFiles, readable, readInputs, summarize, writable, writeOutputs } from "../files.js";
import { runShapes } from "../shapes.js";

/** netdef run: a plan on inputs from files; prints a summary of each output, writes them only with -o. */
export async function run({ files: [plan], options, print }: Invocation): Promise<void> {
  const specs = options.loadInputs ?? [];
  const out = options.output === undefined ? undefined : await writable(options.output, [plan, ...inputFiles(specs)]);
  const engine = await Engine.load(await readable(plan!));
  const given = await readInputs(specs, engine.inputs);
  const missing = engine.inputs.filter((t) => !given[t.name]).map((t) => t.name);
  if (missing.length) throw new UsageError(`no values for input${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")}: give --loadInputs ${missing[0]}:<file.npy> (or a .safetensors file of them)`);
  if (options.shapes !== undefined) {
    const shapes = runShapes(engine.inputs, options.shapes);
    for (const [name, v] of Object.entries(given)) {
      if (shapes[name]!.join() !== v.shape.join()) throw new UsageError(`--shapes gives '${name}' [${shapes[name]!.join(",")}], but its file holds [${v.shape.join(",")}]`);
    }
  }
  const outputs = await engine.createExecutionContext().execute(given);
  const summaries = summarize(outputs);
  const written = out === undefined ? {} : await writeOutputs(out, outputs);
  print(Object.entries(summaries).map(([n, s]) => formatSummary(n, s) + (written[n] ? ` → ${written[n]}` : "")).join("\n"),
    { outputs: Object.fromEntries(Object.entries(summaries).map(([n, s]) => [n, { ...s, ...(written[n] ? { file: written[n] } : {}) }])) });
}
