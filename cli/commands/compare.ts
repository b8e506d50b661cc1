// netdef compare: two plans, or one network on two backends, on the same inputs (as `polygraphy run --trt
// --onnxrt`); or the network layer by layer against saved activations.
import { buildEngine, compareLayers, Engine, exportOnnx, loadWeights, NetdefError, type InputArray, type Network, type OutputValue } from "netdef";
import { COMPARE_TOLERANCES } from "../../debug/compare-layers.js";
import { random } from "../../debug/random.js";
import type { DataType } from "../../dsl/dtype.js";
import { outputNumbers } from "../../runtime/io.js";
import { integerOption, need, UsageError, type Invocation } from "../command-line.js";
import { loadNetwork, readable, readInputs } from "../files.js";
import { runShapes } from "../shapes.js";

/** A backend netdef can compare on is not installed here (TensorRT, onnxruntime-node): exit code 1, saying how to get it. */
export class BackendUnavailableError extends NetdefError {
  override readonly name = "BackendUnavailableError";
  readonly code = "backend_unavailable";
}

type Inputs = Record<string, { data: InputArray; shape: number[] }>;
type Results = Record<string, { dtype: DataType; shape: number[]; values: number[] }>;
const BACKENDS = ["builtin", "tensorrt", "onnxruntime"] as const;
type Backend = (typeof BACKENDS)[number];

const numeric = (outputs: Record<string, OutputValue>): Results =>
  Object.fromEntries(Object.entries(outputs).map(([n, o]) => [n, { dtype: o.dtype, shape: [...o.shape], values: outputNumbers(o) }]));

/** Seeded inputs of each tensor's type: floats uniform in [-1, 1), integers 0…2, booleans 0/1. */
function seededInputs(tensors: readonly { name: string; dtype: DataType }[], shapes: Record<string, number[]>, seed: number): Inputs {
  const next = random(seed);
  return Object.fromEntries(tensors.map((t) => {
    const count = shapes[t.name]!.reduce((a, b) => a * b, 1);
    const ints = () => Array.from({ length: count }, () => Math.floor(next() * 3));
    const data: InputArray = t.dtype === "float32" ? Float32Array.from({ length: count }, () => next() * 2 - 1)
      : t.dtype === "int32" ? Int32Array.from(ints()) : t.dtype === "int64" ? BigInt64Array.from(ints(), BigInt)
      : t.dtype === "int8" ? Int8Array.from(ints()) : t.dtype === "uint8" || t.dtype === "bool" ? Uint8Array.from(ints(), (v) => v & 1)
      : (() => { throw new UsageError(`input '${t.name}' is ${t.dtype}: give its values with --loadInputs`); })();
    return [t.name, { data, shape: shapes[t.name]! }];
  }));
}

/** The network run on one backend, built for exactly these input shapes. */
async function runOn(backend: Backend, network: Network, inputs: Inputs): Promise<Results> {
  const profiles = [Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, { min: v.shape, opt: v.shape, max: v.shape }]))];
  if (backend === "onnxruntime") {
    const ort = await import("onnxruntime-node").catch(() => {
      throw new BackendUnavailableError("--backend onnxruntime needs onnxruntime-node, an optional peer dependency of netdef: npm install onnxruntime-node");
    });
    const session = await ort.InferenceSession.create(await exportOnnx(network));
    const dtypeOf = (name: string) => network.toJSON().inputs.find((t) => t.name === name)!.dtype;
    if (Object.keys(inputs).some((n) => dtypeOf(n) === "bfloat16")) throw new UsageError("--backend onnxruntime: onnxruntime-node takes no bfloat16 inputs");
    const feeds = Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, new ort.Tensor(dtypeOf(n) as Exclude<DataType, "bfloat16">, v.data, v.shape)]));
    const out = await session.run(feeds);
    const dtypes = new Map([...network.toJSON().inputs, ...network.toJSON().tensors].map((t) => [t.name, t.dtype]));
    return Object.fromEntries(network.toJSON().outputs.map((o) => {
      const t = out[o.name]!;
      return [o.name, { dtype: dtypes.get(o.tensor)!, shape: [...t.dims], values: Array.from(t.data as ArrayLike<number | bigint>, Number) }];
    }));
  }
  const engine = backend === "tensorrt" ? await buildEngine(network, { backend, profiles }) : await buildEngine(network, { profiles });
  try {
    return numeric(await engine.createExecutionContext().execute(inputs));
  } finally {
    engine.dispose();
  }
}

/** Each output of `a` against `b`'s: the largest difference and whether it is within `b`'s type's tolerance. */
function compareOutputs(a: Results, b: Results) {
  return Object.keys(a).map((name) => {
    const [x, y] = [a[name]!, b[name]];
    if (!y) return { output: name, ok: false, maxAbs: Infinity, tolerance: 0, problem: "the second has no output of this name" };
    if (x.shape.join() !== y.shape.join()) return { output: name, ok: false, maxAbs: Infinity, tolerance: 0, problem: `shapes [${x.shape}] and [${y.shape}]` };
    const [absolute, relative] = COMPARE_TOLERANCES[x.dtype];
    let maxAbs = 0, scale = 0;
    x.values.forEach((v, i) => {
      const w = y.values[i]!;
      maxAbs = Number.isNaN(v) !== Number.isNaN(w) ? Infinity : Math.max(maxAbs, Number.isNaN(v) ? 0 : Math.abs(v - w));
      scale = Math.max(scale, Math.abs(w));
    });
    const tolerance = absolute + relative * scale;
    return { output: name, ok: maxAbs <= tolerance, maxAbs, tolerance, problem: undefined };
  });
}

export async function compare({ files, options, print }: Invocation): Promise<void> {
  const seed = integerOption(options.seed, "seed", 1, 0, 2 ** 32 - 1);
  const backends = options.backend ?? [];
  if (options.reference !== undefined) {
    if (files.length > 1 || backends.length) throw new UsageError("--reference compares one network with saved activations: give no second file or --backend");
    const network = await loadNetwork(files[0]!, await loadWeights(need(options.weights, "--weights")));
    const inputs = await readInputs(options.loadInputs ?? [], network.toJSON().inputs);
    const report = await compareLayers(network, inputs, await loadWeights(await readable(options.reference)));
    print(report.toString(), { rows: report.rows, firstDivergent: report.firstDivergent ?? null, unmatched: report.unmatched });
    if (report.firstDivergent) process.exitCode = 1;
    return;
  }
  let labels: [string, string], first: (inputs: Inputs) => Promise<Results>, second: (inputs: Inputs) => Promise<Results>, tensors;
  if (files.length === 2) {
    if (backends.length || options.weights) throw new UsageError("two plans are compared as they are: give no --backend or --weights");
    const [a, b] = [await Engine.load(await readable(files[0]!)), await Engine.load(await readable(files[1]!))];
    labels = [files[0]!, files[1]!];
    first = async (inputs) => numeric(await a.createExecutionContext().execute(inputs));
    second = async (inputs) => numeric(await b.createExecutionContext().execute(inputs));
    tensors = a.inputs;
  } else {
    if (backends.length !== 2 || !backends.every((b): b is Backend => (BACKENDS as readonly string[]).includes(b))) {
      throw new UsageError(`compare <network.ts> takes two backends (--backend A --backend B, each of ${BACKENDS.join(", ")}) or --reference <activations.safetensors>`);
    }
    const network = await loadNetwork(files[0]!, await loadWeights(need(options.weights, "--weights")));
    labels = [backends[0]!, backends[1]!];
    first = (inputs) => runOn(backends[0] as Backend, network, inputs);
    second = (inputs) => runOn(backends[1] as Backend, network, inputs);
    tensors = network.toJSON().inputs;
  }
  const given = await readInputs(options.loadInputs ?? [], tensors);
  const missing = tensors.filter((t) => !given[t.name]);
  const inputs = { ...seededInputs(missing, runShapes(missing, options.shapes), seed), ...given };
  const rows = compareOutputs(await first(inputs), await second(inputs));
  const e = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));
  print([`${labels[0]} vs ${labels[1]} on ${Object.entries(inputs).map(([n, v]) => `${n} [${v.shape.join(",")}]${given[n] ? "" : ` (seed ${seed})`}`).join(", ")}:`,
    ...rows.map((r) => `  ${r.output}: ${r.problem ?? `max |difference| ${e(r.maxAbs)}, tolerance ${e(r.tolerance)}`} ${r.ok ? "ok" : "DIFFERS"}`)].join("\n"),
  { compared: labels, seed, outputs: rows });
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}
