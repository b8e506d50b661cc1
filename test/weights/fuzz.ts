import { parseNpy, parseSafetensors, parseWts, serializeNpy, serializeSafetensors, serializeWts, WeightFileError, type WeightTensor } from "netdef";

export { random } from "../../debug/random.js";
import { random } from "../../debug/random.js";

const seedTensors: [string, WeightTensor][] = [
  ["conv.weight", { dtype: "float32", shape: [2, 1, 2, 2], data: new Float32Array([1, -2, NaN, Infinity, 0.5, -0, 3, 4]) }],
  ["conv.bias", { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }],
  ["steps", { dtype: "int64", shape: [1], data: new BigInt64Array([7n]) }],
  ["mask", { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) }],
];

/** Valid files of each format and how to parse them. */
export const formats = {
  safetensors: { bytes: serializeSafetensors(seedTensors, { format: "pt" }), parse: (b: Uint8Array) => [...parseSafetensors(b, "fuzz.safetensors").tensors.values()] },
  npy: { bytes: serializeNpy(seedTensors[0]![1]), parse: (b: Uint8Array) => [parseNpy(b, "fuzz.npy")] },
  wts: { bytes: new TextEncoder().encode(serializeWts(seedTensors.slice(0, 2))), parse: (b: Uint8Array) => [...parseWts(new TextDecoder().decode(b), "fuzz.wts").values()] },
};

const INTERESTING = [0, 0xff, 0x7f, 0x80, 0x22, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x30, 0x39, 0x20, 0x0a, 0x2d];

/** One mutation of `bytes`: flipped bits, interesting bytes, truncation, insertion, duplication or a lying length. */
export function mutate(bytes: Uint8Array, rand: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  const at = () => Math.floor(rand() * out.length);
  switch (Math.floor(rand() * 6)) {
    case 0: { for (let i = 1 + rand() * 4; i > 0; i--) { const p = at(); out[p] = out[p]! ^ (1 << Math.floor(rand() * 8)); } return out; }
    case 1: { for (let i = 1 + rand() * 4; i > 0; i--) out[at()] = INTERESTING[Math.floor(rand() * INTERESTING.length)]!; return out; }
    case 2: return out.subarray(0, at());
    case 3: { const p = at(); const extra = Array.from({ length: 1 + Math.floor(rand() * 16) }, () => INTERESTING[Math.floor(rand() * INTERESTING.length)]!); return Uint8Array.from([...out.subarray(0, p), ...extra, ...out.subarray(p)]); }
    case 4: { const p = at(), q = at(); return Uint8Array.from([...out.subarray(0, p), ...out.subarray(q)]); }
    default: { new DataView(out.buffer).setUint32(rand() < 0.5 ? 0 : 8, Math.floor(rand() * 2 ** 32), true); return out; }
  }
}

const EXTREME_DIMS = [0, 1, 2, 3, -1, 7, 2 ** 31, 2 ** 53, 2 ** 64, 1e300, 0.5];
const DTYPE_NAMES = ["F32", "F16", "BF16", "I64", "BOOL", "U8", "F8_E4M3", "__proto__", "constructor", "", "f4", "<f4", "|O", ">i8", "<u2", "|b1"];
const pickOf = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

/**
 * One change to what a file says rather than to its bytes: a safetensors header's dtypes, shapes and offsets, a .npy
 * header's descr, order and shape (ranks up to 100), a .wts file's counts — the file re-framed so that its lengths
 * hold, and the checks past the framing are reached.
 */
export function mutateStructure(format: keyof typeof formats, bytes: Uint8Array, rand: () => number): Uint8Array {
  if (format === "safetensors") {
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, Record<string, unknown>>;
    const names = Object.keys(header).filter((n) => n !== "__metadata__");
    const entry = header[pickOf(rand, names)]!;
    switch (Math.floor(rand() * 4)) {
      case 0: entry.dtype = pickOf(rand, DTYPE_NAMES); break;
      case 1: entry.shape = Array.from({ length: Math.floor(rand() * 5) }, () => pickOf(rand, EXTREME_DIMS)); break;
      case 2: entry.data_offsets = [pickOf(rand, EXTREME_DIMS), pickOf(rand, EXTREME_DIMS)]; break;
      default: header.__metadata__ = pickOf(rand, [{ a: 1 }, [], { format: { nested: true } }, "text"]) as never;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + bytes.length - 8 - length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(bytes.subarray(8 + length), 8 + json.length);
    return out;
  }
  if (format === "npy") {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const length = view.getUint16(8, true), data = bytes.subarray(10 + length);
    const rank = pickOf(rand, [0, 1, 2, 4, 65, 100]);
    const shape = Array.from({ length: rank }, () => pickOf(rand, [0, 1, 2, 8, -1, 2 ** 40]));
    const descr = pickOf(rand, DTYPE_NAMES), fortran = rand() < 0.5 ? "True" : "False";
    const text = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape.join(", ")}${rank === 1 ? "," : ""}), }`;
    const padded = text + " ".repeat((64 - ((10 + text.length + 1) % 64)) % 64) + "\n";
    const out = new Uint8Array(10 + padded.length + data.length);
    out.set(bytes.subarray(0, 8));
    new DataView(out.buffer).setUint16(8, padded.length, true);
    for (let i = 0; i < padded.length; i++) out[10 + i] = padded.charCodeAt(i);
    out.set(data, 10 + padded.length);
    return out;
  }
  const lines = new TextDecoder().decode(bytes).split("\n");
  const at = Math.floor(rand() * lines.length), words = lines[at]!.split(" ");
  if (words.length > 1 && rand() < 0.5) words[1] = String(pickOf(rand, EXTREME_DIMS));  // a tensor's count
  else words[0] = String(pickOf(rand, EXTREME_DIMS));  // the tensor count, or a name
  lines[at] = words.join(" ");
  return new TextEncoder().encode(lines.join("\n"));
}

export interface FuzzOutcome {
  loaded: number;
  rejected: number;
  /** Cases that threw anything but a WeightFileError, or loaded a tensor whose data disagrees with its shape. */
  failures: string[];
}

/**
 * Runs `cases` mutations of one format's valid file, alternately of its bytes and of what it says (mutateStructure);
 * every outcome must be a typed error or a coherent load.
 */
export function fuzz(format: keyof typeof formats, cases: number, seed: number): FuzzOutcome {
  const { bytes, parse } = formats[format];
  const rand = random(seed);
  const outcome: FuzzOutcome = { loaded: 0, rejected: 0, failures: [] };
  for (let i = 0; i < cases; i++) {
    const input = i % 2 ? mutateStructure(format, bytes, rand) : mutate(bytes, rand);
    try {
      for (const t of parse(input)) {
        const count = t.shape.reduce((a, b) => a * b, 1);
        if (t.data.length !== count) throw new Error(`tensor of shape [${t.shape}] holds ${t.data.length} elements`);
      }
      outcome.loaded++;
    } catch (error) {
      if (error instanceof WeightFileError) outcome.rejected++;
      else outcome.failures.push(`${format} seed ${seed} case ${i}: ${(error as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
    }
  }
  return outcome;
}
