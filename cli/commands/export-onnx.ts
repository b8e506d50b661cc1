import { exportOnnx, loadWeights } from "netdef";
import { need, type Invocation } from "../command-line.js";
import { loadNetwork, writable } from "../files.js";

/** netdef export-onnx: a network file and its weights as an ONNX model (opset 17). */
export async function exportOnnxCommand({ files: [file], options, print }: Invocation): Promise<void> {
  const weights = need(options.weights, "--weights");
  const out = await writable(need(options.output, "-o <model.onnx>"), [file, weights]);
  const network = await loadNetwork(file!, await loadWeights(weights));
  const bytes = await exportOnnx(network, out);
  print(`exported ${network.name} (${bytes.length} bytes) → ${out}`, { onnx: out, bytes: bytes.length });
}
