import { checkTensorRT, loadWeights } from "netdef";
import { integerOption, need, UsageError, type Invocation } from "../command-line.js";
import { loadNetwork } from "../files.js";
import { profilesFrom } from "../shapes.js";

/** netdef check --backend tensorrt: the TensorRT lowering judged on the TensorRT reference (no TensorRT needed). */
export async function check({ files: [file], options, print }: Invocation): Promise<void> {
  if (options.backend?.join() !== "tensorrt") throw new UsageError(`check --backend ${options.backend?.join(" --backend ") ?? ""}: expected --backend tensorrt (the builtin engine is the one checked against)`);
  const seed = integerOption(options.seed, "seed", 1, 0, 2 ** 32 - 1);
  const profiles = profilesFrom(options);
  const network = await loadNetwork(file!, await loadWeights(need(options.weights, "--weights")));
  const report = await checkTensorRT(network, { profiles, seed });
  print(report.toString(), { network: report.network, findings: report.findings, layersCompared: report.layersCompared, shapesChecked: report.shapesChecked });
  if (report.findings.length) process.exitCode = 1;
}
