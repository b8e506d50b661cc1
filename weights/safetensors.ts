import { WeightFileError } from "./errors.js";
import { elementCount, WEIGHT_DTYPE_SIZE, type WeightDType, type WeightTensor } from "./tensor.js";
import { littleEndianElements } from "./view.js";

/** safetensors dtype codes we accept, and their netdef names (huggingface/safetensors' list, minus exotic floats). */
const DTYPES: Readonly<Record<string, WeightDType>> = {
  F64: "float64", F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64", I32: "int32", I16: "int16", I8: "int8", U8: "uint8", BOOL: "bool",
};
const CODES = Object.fromEntries(Object.entries(DTYPES).map(([code, dtype]) => [dtype, code])) as Partial<Record<WeightDType, string>>;
/** huggingface/safetensors refuses headers over 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  readonly tensors: Map<string, WeightTensor>;
  readonly metadata: Record<string, string>;
}

/** Keys of the top-level JSON object in order, so that duplicates (which JSON.parse silently merges) are seen. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") { depth++; expectKey = c === "{" && depth === 1; }
    else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

/**
 * Reads a safetensors file strictly, as huggingface/safetensors validates it: header length within the file and
 * ≤ 100 MB; UTF-8 JSON object; no duplicate names; data_offsets sorted, starting at 0, contiguous, each span equal
 * to the element count times the dtype size, the last ending at the end of the file. Data is viewed, not copied,
 * where aligned.
 */
export function parseSafetensors(bytes: Uint8Array, file = "<buffer>"): SafetensorsFile {
  const fail = (problem: string, where: { offset?: number; tensor?: string } = {}): never => { throw new WeightFileError(file, problem, where); };
  if (bytes.length < 8) fail(`is ${bytes.length} bytes, shorter than the 8-byte header length`, { offset: 0 });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds the 100 MB limit`, { offset: 0 });
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`, { offset: 0 });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail("header is not valid UTF-8", { offset: 8 });
  }
  if (!text.startsWith("{")) fail("header does not start with '{'", { offset: 8 });
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON: ${(error as Error).message}`, { offset: 8 });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return fail("header is not a JSON object", { offset: 8 });
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) fail("a tensor name appears twice in the header", { tensor: key });
    seen.add(key);
  }

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: WeightDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail("__metadata__ is not an object of strings");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ value of '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof info !== "object" || info === null) return fail("entry is not an object", { tensor: name });
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof code !== "string" || !Object.hasOwn(DTYPES, code)) {
      fail(`dtype ${JSON.stringify(code)} is not supported (supported: ${Object.keys(DTYPES).join(", ")})`, { tensor: name });
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, { tensor: name });
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`, { tensor: name });
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`, { tensor: name });
    const dtype = DTYPES[code as string]!;
    // Overflow-checked: the product is computed in BigInt and compared with the span.
    const bytesNeeded = (shape as number[]).reduce((acc, d) => acc * BigInt(d), BigInt(WEIGHT_DTYPE_SIZE[dtype]));
    if (bytesNeeded !== BigInt(end - begin)) {
      fail(`data_offsets span ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${code} needs ${bytesNeeded}`, { tensor: name });
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  let cursor = 0;
  for (const e of entries) {
    if (e.begin !== cursor) {
      fail(e.begin < cursor ? `data overlaps the previous tensor (begins at ${e.begin}, previous ends at ${cursor})`
        : `a gap of ${e.begin - cursor} bytes precedes the data (begins at ${e.begin}, previous ends at ${cursor})`, { tensor: e.name, offset: dataStart + e.begin });
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    fail(cursor > dataLength ? `data ends at ${cursor} but only ${dataLength} data bytes follow the header (file truncated)`
      : `${dataLength - cursor} bytes after the last tensor are not described by the header`, { offset: dataStart + Math.min(cursor, dataLength) });
  }
  const tensors = new Map<string, WeightTensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: littleEndianElements(bytes, dataStart + e.begin, elementCount(e.shape), e.dtype) });
  }
  return { tensors, metadata };
}

/** A safetensors file of the given tensors (little-endian, data aligned to 8 bytes by padding the header). */
export function serializeSafetensors(tensors: Iterable<[string, WeightTensor]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const code = CODES[t.dtype];
    if (!code) throw new TypeError(`tensor '${name}': dtype ${t.dtype} has no safetensors code here (supported: ${Object.values(DTYPES).join(", ")})`);
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (data.length !== elementCount(t.shape) * WEIGHT_DTYPE_SIZE[t.dtype]) throw new RangeError(`tensor '${name}': ${t.data.length} elements for shape [${t.shape.join(",")}]`);
    header[name] = { dtype: code, shape: t.shape, data_offsets: [offset, offset + data.length] };
    parts.push(data);
    offset += data.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}
