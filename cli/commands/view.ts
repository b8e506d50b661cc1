import { writeFile } from "node:fs/promises";
import { Engine, loadWeights } from "netdef";
import { networkHtml } from "../../debug/view.js";
import { need, type Invocation } from "../command-line.js";
import { loadNetwork, readable, writable } from "../files.js";
import { runShapes } from "../shapes.js";

/**
 * netdef view: a network file or a builtin plan drawn as a self-contained HTML page (layers with kind, output shape and
 * dtype; a plan's fused layers outlined; with --dumpProfile, each executed layer's time at --shapes).
 */
export async function view({ files: [file], options, print }: Invocation): Promise<void> {
  const out = await writable(need(options.output, "-o <view.html>"), [file, options.weights]);
  let html: string;
  if (/\.[cm]?[jt]s$/.test(file!)) {
    const network = await loadNetwork(file!, options.weights ? await loadWeights(options.weights) : undefined);
    html = networkHtml(network.toJSON());
  } else {
    const engine = await Engine.load(await readable(file!));
    if (engine.backend !== "builtin") throw new Error("netdef view draws builtin plans (a TensorRT plan's layers are TensorRT's)");
    let milliseconds: Record<string, number> | undefined;
    if (options.dumpProfile) {
      const shapes = runShapes(engine.inputs, options.shapes);
      const inputs = Object.fromEntries(engine.inputs.map((t) => [t.name, { data: Float32Array.from({ length: shapes[t.name]!.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), shape: shapes[t.name]! }]));
      const context = engine.createExecutionContext();
      await context.execute(inputs);
      milliseconds = {};
      const runs = 10;
      for (let i = 0; i < runs; i++) for (const p of (await context.execute(inputs, { profile: true })).profile) milliseconds[p.layer] = (milliseconds[p.layer] ?? 0) + p.milliseconds / runs;
    }
    html = networkHtml(engine.header.ir, { fused: engine.inspect().layers, milliseconds, title: `plan of ${engine.header.network}` });
  }
  await writeFile(out, html);
  print(`drew ${file} → ${out}`, { html: out, bytes: html.length });
}
