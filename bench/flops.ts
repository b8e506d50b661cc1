import type { Network } from "netdef";

/** Multiply-adds ×2 of the convolution, dense and matrix layers for one batch: the work a GFLOP/s figure divides. */
export function countFlops(network: Network, batch: number): number {
  const ir = network.toJSON();
  const shapes = new Map([...ir.inputs, ...ir.tensors].map((t) => [t.name, t.shape.map((d, i) => (i === 0 && d < 0 ? batch : d))]));
  let flops = 0;
  for (const layer of ir.layers) {
    const out = shapes.get(layer.outputs[0]!)!;
    const volume = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    if (layer.kind === "convolution") flops += 2 * volume(out) * volume(layer.weights.kernel!.shape.slice(1));
    else if (layer.kind === "fullyConnected") flops += 2 * batch * volume(layer.weights.kernel!.shape);
  }
  return flops;
}
