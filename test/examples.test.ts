// Every example runs with its one README command and says what it should.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const example = async (script: string) => (await run("npm", ["run", "--silent", script], { maxBuffer: 1 << 24 })).stdout;

it.each([
  ["lenet", [/accuracy: 97\.65% \(1953\/2000\)/, /agreement with PyTorch: 2000\/2000/, /latency \(batch 1\): [\d.]+ ms; throughput \(batch 256\): \d+ images\/s/]],
  ["example:yolo-block", [/yolo_block: output \[1,18,64,64\] .* max \|netdef − PyTorch float64\| = \d\.\d\de-([5-9]|[1-9]\d)$/m]],
  ["example:mobilenet-v2", [/mobilenet_v2: output \[2,1000\] .* max \|netdef − PyTorch float64\| = \d\.\d\de-([5-9]|[1-9]\d)$/m]],
  ["example:squeezenet", [/squeezenet: output \[2,1000\] .* max \|netdef − PyTorch float64\| = \d\.\d\de-([5-9]|[1-9]\d)$/m]],
  ["example:shufflenet-v2", [/shufflenet_v2: output \[2,1000\] .* max \|netdef − PyTorch float64\| = \d\.\d\de-([5-9]|[1-9]\d)$/m]],
  ["example:transformer-encoder", [/encoder: output \[2,16,64\] .* max \|netdef − PyTorch float64\| = \d\.\d\de-([5-9]|[1-9]\d)$/m]],
  ["example:refit", [/trained weights: 97\/100 correct/, /after swapping classes 0 and 1 by refit: \d+\/100 correct/, /after refitting the trained weights back: 97\/100 correct/]],
] as [string, RegExp[]][])("npm run %s", async (script, expected) => {
  const output = await example(script);
  for (const line of expected) expect(output).toMatch(line);
}, 120_000);
