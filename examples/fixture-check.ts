// Shared by the examples: build a ported network from its PyTorch fixture and report how close it comes.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildEngine, loadWeights, type Network, type WeightSource } from "netdef";

export const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");

/** Builds `define` from `<model>.safetensors`, runs `<model>_io.safetensors`'s input, prints the largest error vs PyTorch float64. */
export async function checkAgainstPyTorch(model: string, define: (w: WeightSource) => Network, inputName: string, outputName: string): Promise<number> {
  const net = define(await loadWeights(path.join(fixtures, `${model}.safetensors`)));
  const io = await loadWeights(path.join(fixtures, `${model}_io.safetensors`));
  const shape = [...io.get("input")!.shape];
  const engine = await buildEngine(net, { profiles: [{ [inputName]: { min: shape, opt: shape, max: shape } }] });
  const started = performance.now();
  const outputs = await engine.createExecutionContext().execute({ [inputName]: { data: io.float32("input"), shape } });
  const elapsed = performance.now() - started;
  const expected = io.get("output_fp64")!.data as Float64Array;
  const actual = outputs[outputName]!.data;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(Number(actual[i]) - expected[i]!));
  console.log(net.summary().toString().split("\n").slice(-2).join("\n"));
  console.log(`${model}: output [${outputs[outputName]!.shape.join(",")}] in ${elapsed.toFixed(1)} ms; max |netdef − PyTorch float64| = ${maxAbs.toExponential(2)}`);
  return maxAbs;
}
