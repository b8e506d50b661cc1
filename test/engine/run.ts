import { buildEngine, Network, type Tensor } from "netdef";

/** Builds a one-purpose network from `define` over static float32 inputs and runs it once; returns the first output. */
export async function runNetwork(inputs: Record<string, { shape: number[]; data: number[] }>, define: (net: Network, x: Record<string, Tensor>) => Tensor) {
  const net = new Network("kernel-test");
  const tensors: Record<string, Tensor> = {};
  for (const [name, { shape }] of Object.entries(inputs)) tensors[name] = net.addInput(name, "float32", shape);
  net.markOutput(define(net, tensors), "y");
  const engine = await buildEngine(net);
  const out = await engine.createExecutionContext().execute(Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, Float32Array.from(v.data)])));
  return { shape: out.y!.shape, values: Array.from(out.y!.data as ArrayLike<number>), dtype: out.y!.dtype };
}
