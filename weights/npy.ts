import { WeightFileError } from "./errors.js";
import { elementCount, typedArrayFor, WEIGHT_DTYPE_SIZE, type WeightDType, type WeightTensor } from "./tensor.js";
import { littleEndianElements } from "./view.js";

/** numpy's own guard against hostile headers is 10,000 bytes; we allow more for very long shapes, but bound it. */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

const KINDS: Readonly<Record<string, WeightDType>> = {
  f2: "float16", f4: "float32", f8: "float64", i1: "int8", i2: "int16", i4: "int32", i8: "int64",
  u1: "uint8", u2: "uint16", u4: "uint32", u8: "uint64", b1: "bool",
};
const DESCR = Object.fromEntries(Object.entries(KINDS).map(([k, d]) => [d, k])) as Partial<Record<WeightDType, string>>;

type PyValue = string | boolean | number | PyValue[] | { [key: string]: PyValue };

/** numpy's own limit on dimensions (NPY_MAXDIMS). */
export const MAX_NPY_RANK = 64;
/** How deep a header's literal may nest: numpy writes a dict holding a tuple (2); a deeper one is no .npy header. */
const MAX_NPY_NESTING = 8;

/** A strict parser for the Python literal numpy writes as the header: a dict of strings, booleans, ints and tuples. */
function parsePythonLiteral(text: string, fail: (problem: string) => never): PyValue {
  let i = 0;
  const skip = () => { while (i < text.length && " \t\n\r".includes(text[i]!)) i++; };
  const value = (depth: number): PyValue => {
    skip();
    const c = text[i];
    if (c === "{" || c === "(" || c === "[") {
      if (depth >= MAX_NPY_NESTING) fail(`header nests deeper than ${MAX_NPY_NESTING} levels`);
      const close = c === "{" ? "}" : c === "(" ? ")" : "]";
      i++;
      const items: PyValue[] = [];
      const dict: Record<string, PyValue> = {};
      for (;;) {
        skip();
        if (text[i] === close) { i++; break; }
        const item = value(depth + 1);
        if (c === "{") {
          skip();
          if (text[i++] !== ":") fail("header dict is missing a ':'");
          if (typeof item !== "string") fail("header dict has a non-string key");
          if ((item as string) in dict) fail(`header dict repeats the key '${item}'`);
          dict[item as string] = value(depth + 1);
        } else items.push(item);
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`header has '${text[i] ?? "end of text"}' where ',' or '${close}' belongs`);
      }
      return c === "{" ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("header has an unterminated string");
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const word = /^(True|False|-?\d+)/.exec(text.slice(i))?.[0] ?? fail(`header has an unexpected '${c ?? "end of text"}'`);
    i += word.length;
    return word === "True" ? true : word === "False" ? false : Number(word);
  };
  const result = value(0);
  skip();
  if (i !== text.length) fail("header has text after its dict");
  return result;
}

/**
 * Reads a .npy file strictly: versions 1.0/2.0/3.0; little-, big- and native-endian; C and Fortran order; bool,
 * (u)int8…64, float16/32/64. Object and structured dtypes are refused; the data must be exactly as long as the
 * shape says. Big-endian and Fortran-order data are converted to little-endian C order.
 */
export function parseNpy(bytes: Uint8Array, file = "<buffer>"): WeightTensor {
  const fail = (problem: string, offset?: number): never => { throw new WeightFileError(file, problem, offset === undefined ? {} : { offset }); };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) fail("does not start with the .npy magic \\x93NUMPY", 0);
  const major = bytes[6]!, minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) fail(`format version ${major}.${minor} is not 1.0, 2.0 or 3.0`, 6);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail("is truncated inside the header length", 8);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  if (headerLength > MAX_NPY_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_NPY_HEADER_BYTES}-byte limit`, 8);
  if (headerStart + headerLength > bytes.length) fail(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`, 8);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(bytes.subarray(headerStart, headerStart + headerLength));
  } catch {
    return fail("header is not valid UTF-8", headerStart);
  }
  const header = parsePythonLiteral(text.trim(), (p) => fail(p, headerStart));
  if (typeof header !== "object" || Array.isArray(header)) return fail("header is not a dict", headerStart);
  const { descr, fortran_order: fortran, shape } = header as Record<string, PyValue>;
  const extra = Object.keys(header).filter((k) => !["descr", "fortran_order", "shape"].includes(k));
  if (extra.length) fail(`header has unexpected keys ${extra.join(", ")}`, headerStart);
  if (typeof descr !== "string") return fail(`descr ${JSON.stringify(descr)} is not a simple dtype (structured dtypes are not supported)`, headerStart);
  if (typeof fortran !== "boolean") fail("fortran_order is missing or not True/False", headerStart);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)) fail(`shape ${JSON.stringify(shape)} is not a tuple of non-negative integers`, headerStart);
  if ((shape as number[]).length > MAX_NPY_RANK) fail(`shape has ${(shape as number[]).length} dimensions; numpy allows at most ${MAX_NPY_RANK}`, headerStart);
  const match = /^([<>|=]?)([a-zA-Z]\d*)$/.exec(descr);
  const dtype = match ? KINDS[match[2]!] : undefined;
  if (!match || !dtype) return fail(`dtype '${descr}' is not supported (${descr.includes("O") ? "object arrays can hold arbitrary Python objects" : `supported: ${Object.keys(KINDS).join(", ")}`})`, headerStart);
  const dims = shape as number[];
  const count = elementCount(dims);
  const size = WEIGHT_DTYPE_SIZE[dtype];
  const dataStart = headerStart + headerLength;
  const needed = BigInt(count) * BigInt(size);
  const available = BigInt(bytes.length - dataStart);
  if (needed !== available) {
    fail(needed > available ? `data is truncated: shape ${JSON.stringify(dims)} of ${descr} needs ${needed} bytes, ${available} present`
      : `${available - needed} bytes follow the data that shape ${JSON.stringify(dims)} describes`, dataStart);
  }
  const bigEndian = match[1] === ">" && size > 1;
  let data = bigEndian ? swapped(bytes, dataStart, count, dtype) : littleEndianElements(bytes, dataStart, count, dtype);
  if (fortran && dims.length > 1) data = fortranToC(data, dims);
  return { dtype, shape: dims, data };
}

function swapped(bytes: Uint8Array, offset: number, count: number, dtype: WeightDType) {
  const size = WEIGHT_DTYPE_SIZE[dtype];
  const copy = new Uint8Array(count * size);
  for (let e = 0; e < count; e++) for (let b = 0; b < size; b++) copy[e * size + b] = bytes[offset + e * size + size - 1 - b]!;
  return typedArrayFor(dtype, copy.buffer, 0, count);
}

/** Fortran order lists the first index fastest; reorder so that the last index is fastest. */
function fortranToC<T extends WeightTensor["data"]>(data: T, dims: number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const rank = dims.length;
  const cStrides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(rank).fill(0);
  for (let f = 0; f < data.length; f++) {
    let c = 0;
    for (let d = 0; d < rank; d++) c += index[d]! * cStrides[d]!;
    (out as unknown as number[])[c] = (data as unknown as number[])[f]!;
    for (let d = 0; d < rank; d++) { if (++index[d]! < dims[d]!) break; index[d] = 0; }
  }
  return out;
}

/** A .npy file (version 1.0, or 2.0 when the header needs it) of one tensor: little-endian, C order. */
export function serializeNpy(tensor: WeightTensor): Uint8Array {
  const kind = DESCR[tensor.dtype];
  if (!kind) throw new TypeError(`dtype ${tensor.dtype} has no .npy form (bfloat16 is not a numpy dtype)`);
  const descr = `${kind.endsWith("1") ? "|" : "<"}${kind}`;
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const version = dict.length + 12 > 65535 ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  dict += " ".repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + "\n"; // numpy pads the data start to 64 bytes
  const data = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const out = new Uint8Array(prefix + dict.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, dict.length, true); else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(data, prefix + dict.length);
  return out;
}
