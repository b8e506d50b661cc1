// What the self-test runs its cases on: TensorRT itself (the addon built with it), or the TensorRT reference standing
// in for it where TensorRT is absent (how the self-test itself is tested without a GPU).
import { refitValues, refit } from "../api/refit.js";
import { buildEngine } from "../api/build.js";
import type { OptimizationProfile } from "../builder/build.js";
import type { Network } from "../dsl/network.js";
import { requireTensorRT } from "../native/tensorrt.js";
import type { Engine } from "../runtime/engine.js";
import { outputFromBytes, outputNumbers } from "../runtime/io.js";
import { refitRecord } from "../tensorrt/build.js";
import { TensorRTReference } from "../tensorrt/reference/reference.js";
import type { WeightSource } from "../weights/source.js";
import { WEIGHT_DTYPE_SIZE } from "../weights/tensor.js";
import type { CaseFeeds } from "./layer-cases.js";

/** Outputs as numbers with their shapes, whatever their type. */
export type NumericOutputs = Record<string, { shape: number[]; values: number[] }>;

/** A network built on what is under test. */
export interface BuiltUnderTest {
  /** Runs on host arrays, in execution context `context` (one per call's index, created on first use). */
  execute(inputs: CaseFeeds, context?: number): Promise<NumericOutputs>;
  /** Runs on device memory (setTensorAddress + enqueueV3), or undefined where there is none. */
  executeOnDevice(inputs: CaseFeeds, shapes: Record<string, number[]>): Promise<NumericOutputs | undefined>;
  /** New values for the weights, by their PyTorch names. */
  refit(weights: WeightSource): Promise<void>;
  dispose(): void;
}

export interface TensorRTUnderTest {
  /** "TensorRT 10.16.0, compute capability 9.0" or the stand-in's. */
  readonly description: string;
  /** Whether this is TensorRT itself, not the reference standing in for it. */
  readonly real: boolean;
  build(network: Network, profiles: OptimizationProfile[]): Promise<BuiltUnderTest>;
}

const numeric = (outputs: Record<string, Parameters<typeof outputNumbers>[0]>): NumericOutputs =>
  Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, { shape: [...o.shape], values: outputNumbers(o) }]));

const hostInputs = (inputs: CaseFeeds) => Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, { data: v.data, shape: v.shape }]));

/** TensorRT through the addon (NETDEF_WITH_TENSORRT): engines built for refit, run on host arrays and on device memory. */
export function tensorrtUnderTest(device = 0): TensorRTUnderTest {
  const native = requireTensorRT();
  const target = native.tensorrtTarget(device);
  const version = `${Math.floor(target.tensorrtVersion / 10000)}.${Math.floor(target.tensorrtVersion / 100) % 100}.${target.tensorrtVersion % 100}`;
  return {
    description: `TensorRT ${version}, GPU ${device} of compute capability ${(target.computeCapability / 10).toFixed(1)}`,
    real: true,
    async build(network, profiles) {
      const engine: Engine<"tensorrt"> = await buildEngine(network, { backend: "tensorrt", profiles, refit: "all", device });
      const contexts: ReturnType<Engine<"tensorrt">["createExecutionContext"]>[] = [];
      const contextAt = (i: number) => (contexts[i] ??= engine.createExecutionContext());
      return {
        execute: async (inputs, context = 0) => numeric(await contextAt(context).execute(hostInputs(inputs))),
        async executeOnDevice(inputs, shapes) {
          const buffers = new Map<string, ReturnType<typeof native.tensorrtDeviceBuffer>>();
          try {
            for (const [name, v] of Object.entries(inputs)) {
              const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
              buffers.set(name, native.tensorrtDeviceBuffer(bytes.byteLength, device));
              buffers.get(name)!.write(bytes);
            }
            for (const t of engine.outputs) buffers.set(t.name, native.tensorrtDeviceBuffer(shapes[t.name]!.reduce((a, b) => a * b, 1) * WEIGHT_DTYPE_SIZE[t.dtype], device));
            const outShapes = await contextAt(0).enqueue(Object.fromEntries([...buffers].map(([name, b]) => [name, { address: b.address, shape: inputs[name]?.shape }])));
            return Object.fromEntries(engine.outputs.map((t) => {
              const o = outputFromBytes(t.dtype, buffers.get(t.name)!.read(), outShapes[t.name]!);
              return [t.name, { shape: [...o.shape], values: outputNumbers(o) }];
            }));
          } finally {
            for (const b of buffers.values()) b.free();
          }
        },
        refit: (weights) => refit(engine, weights),
        dispose: () => engine.dispose(),
      };
    },
  };
}

/**
 * The TensorRT reference standing in for TensorRT: the lowering validated and run by the headers' rules, no device
 * (device I/O is the host path), refit through the names IRefitter would see.
 */
export function referenceUnderTest(): TensorRTUnderTest {
  return {
    description: "the TensorRT reference standing in for TensorRT (no TensorRT, no GPU)",
    real: false,
    async build(network, profiles) {
      const reference = TensorRTReference.of(network);
      const ir = network.toJSON();
      // A profile gives the dynamic inputs' ranges; the static ones have their declared shapes.
      const fixed = Object.fromEntries(ir.inputs.filter((i) => !i.shape.includes(-1)).map((i) => [i.name, i.shape]));
      for (const profile of profiles) for (const k of ["min", "opt", "max"] as const) reference.infer({ ...fixed, ...Object.fromEntries(Object.entries(profile).map(([name, p]) => [name, p[k]])) });
      const run = (inputs: CaseFeeds): NumericOutputs => {
        const { outputs } = reference.execute(hostInputs(inputs));
        return Object.fromEntries(Object.entries(outputs).map(([name, o]) => [name, { shape: o.shape, values: Array.from(o.data) }]));
      };
      return {
        execute: async (inputs) => run(inputs),
        executeOnDevice: async () => undefined,
        async refit(weights) {
          const { values } = refitValues(refitRecord(ir), weights);
          for (const [name, v] of Object.entries(values)) if (!reference.refit(name, v)) throw new Error(`the reference has no weights named '${name}'`);
        },
        dispose: () => undefined,
      };
    },
  };
}
