// What the command line reads and writes: network modules, input tensors, outputs — every path checked before the
// work starts, and no output written over a file the command reads.
import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadWeights, Network, serializeNpy, serializeSafetensors, type InputArray, type OutputValue, type WeightSource, type WeightTensor } from "netdef";
import type { DataType } from "../dsl/dtype.js";
import { outputNumbers } from "../runtime/io.js";
import { UsageError } from "./command-line.js";

/**
 * Loads a network module and defines the network with `weights`. A TypeScript module runs through tsx's loader
 * where tsx is installed (a development dependency; in a consumer project, `npm install tsx` or compile to JS).
 */
export async function loadNetwork(file: string, weights?: WeightSource): Promise<Network> {
  await readable(file);
  if (/\.[cm]?ts$/.test(file)) {
    const tsx = await import("tsx/esm/api").catch(() => undefined);
    if (!tsx) throw new UsageError(`${file}: a TypeScript network needs tsx to load it (npm install --save-dev tsx), or give the compiled .js module`);
    tsx.register();
  }
  const module = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
  const define = (typeof module.default === "function" ? module.default : Object.values(module).find((v) => typeof v === "function")) as ((w?: WeightSource) => Network) | undefined;
  if (!define) throw new UsageError(`${file} exports no function that defines a network`);
  const network = define(weights);
  if (!(network instanceof Network)) throw new UsageError(`${file}: its exported function did not return a Network`);
  return network;
}

/** A file the command reads: it must exist and be a file (a UsageError naming it otherwise). */
export async function readable(file: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UsageError(`${file}: no such file or directory`);
  if (!info.isFile()) throw new UsageError(`${file}: is a directory, not a file`);
  return file;
}

/**
 * An output path checked before any work: its folder exists, it is no folder itself, and it is none of the files the
 * command reads (outputs never replace inputs).
 */
export async function writable(file: string, reads: readonly (string | undefined)[], flag = "-o"): Promise<string> {
  const target = path.resolve(file);
  const input = reads.find((r) => r !== undefined && path.resolve(r) === target);
  if (input !== undefined) throw new UsageError(`${flag} ${file}: that is a file this command reads; write the output to another path`);
  const folder = await stat(path.dirname(target)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new UsageError(`${flag} ${file}: the folder ${path.dirname(file) || "."} does not exist`);
  if ((await stat(target).catch(() => undefined))?.isDirectory()) throw new UsageError(`${flag} ${file}: is a directory, not a file`);
  return file;
}

/** The files named by --loadInputs specs (`name:file.npy`, or a .safetensors file), for the overwrite check. */
export function inputFiles(specs: readonly string[]): string[] {
  return specs.flatMap((s) => s.split(",")).map((part) => (/\.safetensors$/.test(part) ? part : part.slice(part.indexOf(":") + 1)));
}

const FLOATS: readonly string[] = ["float64", "float32", "float16", "bfloat16"];

/** A tensor read from a file as an input of `dtype`: floats of any width for a float input, integers for an integer one. */
function inputArray(name: string, file: string, tensor: WeightTensor, dtype: DataType): InputArray {
  const numbers = () => Array.from(tensor.data as ArrayLike<number | bigint>, Number);
  if (dtype === "float32") {
    if (tensor.dtype === "float16" || tensor.dtype === "bfloat16") throw new UsageError(`--loadInputs ${name}: ${file} holds ${tensor.dtype}; give the input as float32`);
    if (tensor.dtype === "float32") return tensor.data as Float32Array;
    return Float32Array.from(numbers());
  }
  if (FLOATS.includes(tensor.dtype) || tensor.dtype === "bool") throw new UsageError(`--loadInputs ${name}: the input is ${dtype}, but ${file} holds ${tensor.dtype}`);
  if (dtype === "int32") return Int32Array.from(numbers());
  if (dtype === "int64") return BigInt64Array.from(Array.from(tensor.data as ArrayLike<number | bigint>, BigInt));
  if (dtype === "int8") return Int8Array.from(numbers());
  return Uint8Array.from(numbers());
}

/**
 * Inputs from --loadInputs: `name:file.npy` (several comma-separated or flags repeated), or a .safetensors file whose
 * tensors named as inputs are taken. Inputs no spec gives are left out (the caller fills or refuses them).
 */
export async function readInputs(specs: readonly string[], inputs: readonly { name: string; dtype: DataType }[]): Promise<Record<string, { data: InputArray; shape: number[] }>> {
  const read: Record<string, { data: InputArray; shape: number[] }> = {};
  const take = (name: string, file: string, tensor: WeightTensor) => {
    const input = inputs.find((t) => t.name === name);
    if (!input) throw new UsageError(`--loadInputs ${name}:${file}: no input is called '${name}' (the inputs: ${inputs.map((t) => t.name).join(", ")})`);
    if (name in read) throw new UsageError(`--loadInputs: input '${name}' is given twice`);
    read[name] = { data: inputArray(name, file, tensor, input.dtype), shape: [...tensor.shape] };
  };
  for (const part of specs.flatMap((s) => s.split(","))) {
    if (/\.safetensors$/.test(part)) {
      const store = await loadWeights(await readable(part));
      const found = inputs.filter((t) => store.get(t.name));
      if (!found.length) throw new UsageError(`--loadInputs ${part}: none of its tensors is named as an input (${inputs.map((t) => t.name).join(", ")})`);
      for (const t of found) take(t.name, part, store.get(t.name)!);
      continue;
    }
    const at = part.indexOf(":");
    if (at < 1 || !part.endsWith(".npy")) throw new UsageError(`--loadInputs ${part}: expected name:file.npy or a .safetensors file`);
    const [name, file] = [part.slice(0, at), part.slice(at + 1)];
    const store = await loadWeights(await readable(file));
    take(name, file, [...store.entries()][0]![1]);
  }
  return read;
}

/** Outputs written to `file`: one .safetensors file, or .npy files (`<file>.<name>.npy` where there are several). */
export async function writeOutputs(file: string, outputs: Record<string, OutputValue>): Promise<Record<string, string>> {
  const tensor = (o: OutputValue): WeightTensor => ({ dtype: o.dtype === "bool" ? "uint8" : o.dtype, shape: o.shape, data: o.data });
  const names = Object.keys(outputs);
  if (file.endsWith(".safetensors")) {
    await writeFile(file, serializeSafetensors(names.map((n) => [n, tensor(outputs[n]!)])));
    return Object.fromEntries(names.map((n) => [n, file]));
  }
  if (!file.endsWith(".npy")) throw new UsageError(`-o ${file}: expected a .npy or .safetensors file`);
  const written: Record<string, string> = {};
  for (const name of names) {
    written[name] = names.length === 1 ? file : `${file.slice(0, -4)}.${name}.npy`;
    await writeFile(written[name]!, serializeNpy(tensor(outputs[name]!)));
  }
  return written;
}

export interface OutputSummary {
  shape: number[];
  dtype: DataType;
  min: number;
  max: number;
  mean: number;
  /** A vector's (one dimension above 1) largest values and their indices. */
  top?: { index: number; value: number }[];
}

/** Each output's shape, type, min, max and mean, and the top 5 of a vector. */
export function summarize(outputs: Record<string, OutputValue>): Record<string, OutputSummary> {
  return Object.fromEntries(Object.entries(outputs).map(([name, o]) => {
    const values = outputNumbers(o);
    let [min, max, sum] = [Infinity, -Infinity, 0];
    for (const v of values) [min, max, sum] = [Math.min(min, v), Math.max(max, v), sum + v];
    const summary: OutputSummary = { shape: [...o.shape], dtype: o.dtype, min, max, mean: sum / Math.max(values.length, 1) };
    if (o.shape.filter((d) => d > 1).length === 1) summary.top = values.map((value, index) => ({ index, value })).sort((a, b) => b.value - a.value).slice(0, 5);
    return [name, summary];
  }));
}

export function formatSummary(name: string, s: OutputSummary): string {
  const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(5));
  const top = s.top ? `; top ${s.top.length}: ${s.top.map((t) => `${t.index} (${n(t.value)})`).join(", ")}` : "";
  return `${name} ${s.dtype} [${s.shape.join(",")}]: min ${n(s.min)}, max ${n(s.max)}, mean ${n(s.mean)}${top}`;
}
