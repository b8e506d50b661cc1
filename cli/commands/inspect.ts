import { Engine, loadWeights, type IOTensor } from "netdef";
import type { Invocation } from "../command-line.js";
import { loadNetwork, readable } from "../files.js";

const io = (header: { inputs: IOTensor[]; outputs: IOTensor[] }) => [
  ...header.inputs.map((t) => `input  ${t.name} ${t.dtype} [${t.shape.join(",")}]${t.profiles?.length ? ` profiles ${t.profiles.map((p) => `[${p.min.join(",")}]…[${p.max.join(",")}]`).join(" ")}` : ""}`),
  ...header.outputs.map((t) => `output ${t.name} ${t.dtype} [${t.shape.join(",")}]`),
];

/** netdef inspect: a network file's layers and parameters, or a plan's IO, memory, layouts and fused layers. */
export async function inspect({ files: [file], options, print }: Invocation): Promise<void> {
  if (/\.[cm]?[jt]s$/.test(file!)) {
    const network = await loadNetwork(file!, options.weights ? await loadWeights(options.weights) : undefined);
    const summary = network.summary();
    print(summary.toString(), { network: summary.name, layers: summary.rows, totalParameters: summary.totalParameters });
    return;
  }
  const engine = await Engine.load(await readable(file!));
  if (engine.backend === "tensorrt") {
    const { header } = engine;
    print([`TensorRT plan of "${header.network}" (netdef ${header.netdef}, TensorRT ${engine.inspect().tensorrt}, compute capability ${header.target.computeCapability / 10})`, ...io(header)].join("\n"), header);
    return;
  }
  const { header } = engine;
  const { halfStorage, channelBlocked, bfloat16Products, memory, layers } = engine.inspect();
  const human = [
    `plan of "${header.network}" (netdef ${header.netdef}, ${header.backend}, built on ${header.builtOn.platform} with ${header.builtOn.cpuFeatures.join(" ")})`,
    ...io(header),
    `activation memory at ${Object.entries(memory.shapes).map(([n, s]) => `${n} [${s.join(",")}]`).join(", ")}: peak ${(memory.peakBytes / 2 ** 20).toFixed(2)} MiB of ${(memory.naiveBytes / 2 ** 20).toFixed(2)} MiB naive (${((100 * memory.peakBytes) / memory.naiveBytes).toFixed(0)}%)${memory.unallocated.length ? `; ${memory.unallocated.length} tensors of fused chains never allocated` : ""}`,
    ...(["bfloat16", "float16"] as const).filter((type) => halfStorage[type].length).map((type) => `${type} storage: ${halfStorage[type].length} tensors (${halfStorage[type].join(", ")})`),
    ...(channelBlocked.tensors.length ? [`channel-blocked (NCHW8c): ${channelBlocked.tensors.length} tensors (${channelBlocked.tensors.join(", ")}), read or written by ${channelBlocked.layers.length} layers`] : []),
    ...(bfloat16Products.length ? [`bfloat16 products (AVX-512 BF16): ${bfloat16Products.length} layers (${bfloat16Products.join(", ")})`] : []),
    `${header.layers.length} layers after optimisation (${header.ir.layers.length} defined):`,
    ...layers.map((l) => `  ${l.name.padEnd(28)} ${l.kind.padEnd(16)}${l.tactic ? ` tactic ${l.tactic}` : ""}${l.kernel && l.kernel !== l.tactic ? ` runs ${l.kernel}` : ""}${l.fusedFrom.length > 1 ? ` fused: ${l.fusedFrom.join(" + ")}` : ""}`),
  ].join("\n");
  print(human, { ...header, layers, memory, halfStorage, channelBlocked, bfloat16Products });
}
