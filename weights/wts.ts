import { WeightFileError } from "./errors.js";
import { toFloat32, type WeightTensor } from "./tensor.js";

/**
 * Reads tensorrtx's `.wts` text: the tensor count, then one line per tensor, `name count` followed by `count`
 * 8-digit hex words, each the big-endian bit pattern of a float32. The format has no shapes: tensors are flat.
 */
export function parseWts(text: string, file = "<text>"): Map<string, WeightTensor> {
  const fail = (problem: string, tensor?: string): never => { throw new WeightFileError(file, problem, tensor === undefined ? {} : { tensor }); };
  const lines = text.split("\n").map((l) => l.trim());
  while (lines.length && lines.at(-1) === "") lines.pop();
  const declared = /^\d+$/.test(lines[0] ?? "") ? Number(lines[0]) : fail(`first line ${JSON.stringify(lines[0]?.slice(0, 40) ?? "")} is not a tensor count`);
  if (lines.length - 1 !== declared) fail(`declares ${declared} tensors but has ${lines.length - 1} tensor lines`);
  const tensors = new Map<string, WeightTensor>();
  for (let l = 1; l < lines.length; l++) {
    const words = lines[l]!.split(/\s+/);
    const name = words[0]!;
    if (tensors.has(name)) fail("appears twice", name);
    const count = /^\d+$/.test(words[1] ?? "") ? Number(words[1]) : fail(`line ${l + 1}: ${JSON.stringify(words[1])} is not an element count`, name);
    if (words.length - 2 !== count) fail(`line ${l + 1}: declares ${count} values but has ${words.length - 2}`, name);
    const bits = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const word = words[i + 2]!;
      if (!/^[0-9a-fA-F]{8}$/.test(word)) fail(`line ${l + 1}: value ${i} ${JSON.stringify(word.slice(0, 20))} is not 8 hex digits`, name);
      bits[i] = parseInt(word, 16);
    }
    tensors.set(name, { dtype: "float32", shape: [count], data: new Float32Array(bits.buffer), flat: true });
  }
  return tensors;
}

/** tensorrtx `.wts` text of the given tensors (every tensor written as float32, as tensorrtx's gen_wts.py does). */
export function serializeWts(tensors: Iterable<[string, WeightTensor]>): string {
  const lines: string[] = [];
  for (const [name, tensor] of tensors) {
    if (/\s/.test(name) || name === "") throw new RangeError(`tensor name ${JSON.stringify(name)} cannot be written to .wts (no whitespace allowed)`);
    const values = toFloat32(tensor);
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    let line = `${name} ${values.length}`;
    for (const b of bits) line += ` ${b.toString(16).padStart(8, "0")}`;
    lines.push(line);
  }
  return `${lines.length}\n${lines.join("\n")}\n`;
}
