import type { Engine, OutputValue } from "netdef";

/** An output's values as numbers, whatever its type (int64 values converted by Number: exact below 2^53). */
export function values(output: OutputValue | undefined): number[] {
  if (!output) throw new Error("no such output");
  return Array.from(output.data as ArrayLike<number | bigint>, Number);
}

/** An output's Float32Array, failing the test where the output is of another type. */
export function floats(output: OutputValue | undefined): Float32Array {
  if (output?.dtype !== "float32") throw new Error(`expected a float32 output, received ${output?.dtype ?? "none"}`);
  return output.data;
}

/** The engine, failing the test where another backend runs it. */
export function builtin(engine: Engine<"builtin"> | Engine<"tensorrt">): Engine<"builtin"> {
  if (engine.backend !== "builtin") throw new Error(`expected a builtin engine, received ${engine.backend}`);
  return engine;
}
