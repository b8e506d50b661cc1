import { open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { WeightFileError } from "./errors.js";
import { parseNpy } from "./npy.js";
import { parseSafetensors } from "./safetensors.js";
import { WeightStore } from "./store.js";
import type { WeightTensor } from "./tensor.js";
import { parseWts } from "./wts.js";

/**
 * Weights from files, by state_dict name. The format follows the path: a `.safetensors` file, a sharded
 * checkpoint's `*.safetensors.index.json`, a tensorrtx `.wts` file, one `.npy` file (named after the file) or a
 * folder of `NAME.npy` files. Several paths merge into one store; a name found twice is an error.
 * ```ts
 * const weights = await loadWeights("lenet.safetensors");
 * weights.get("conv1.weight"); // { dtype: "float32", shape: [20, 1, 5, 5], data: Float32Array }
 * ```
 */
export async function loadWeights(pathOrPaths: string | readonly string[]): Promise<WeightStore> {
  const paths = typeof pathOrPaths === "string" ? [pathOrPaths] : pathOrPaths;
  const store = new WeightStore();
  const origin = new Map<string, string>();
  for (const file of paths) {
    const { tensors, metadata } = await loadOne(file);
    for (const [name, tensor] of tensors) {
      if (origin.has(name)) throw new WeightFileError(file, `also defined in ${origin.get(name)}`, { tensor: name });
      origin.set(name, file);
      store.set(name, tensor);
    }
    Object.assign(store.metadata as Record<string, string>, metadata);
  }
  return store;
}

async function loadOne(file: string): Promise<{ tensors: Map<string, WeightTensor>; metadata: Record<string, string> }> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => { throw new WeightFileError(file, `cannot be read: ${error.code ?? error.message}`); });
  if (info.isDirectory()) return { tensors: await loadNpyFolder(file), metadata: {} };
  if (file.endsWith(".index.json")) return loadSharded(file);
  const bytes = await readBytes(file);
  if (file.endsWith(".safetensors")) return parseSafetensors(bytes, file);
  if (file.endsWith(".npy")) return { tensors: new Map([[path.basename(file, ".npy"), parseNpy(bytes, file)]]), metadata: {} };
  if (file.endsWith(".wts")) return { tensors: parseWts(new TextDecoder().decode(bytes), file), metadata: {} };
  throw new WeightFileError(file, "has no known weight-file extension (.safetensors, .safetensors.index.json, .npy, .wts, or a folder of .npy)");
}

/**
 * The file's bytes in one fresh allocation, read in large blocks (tensors then view them where aligned; fs.readFile
 * reads in small chunks and is slower on large checkpoints).
 */
async function readBytes(file: string): Promise<Uint8Array> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    // Uninitialised: every byte is overwritten below (a short read is an error), so zero-filling would be wasted work.
    const allocated = Buffer.allocUnsafeSlow(size);
    const bytes = new Uint8Array(allocated.buffer, allocated.byteOffset, size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, Math.min(size - offset, 1 << 30), offset);
      if (bytesRead === 0) throw new WeightFileError(file, `ended after ${offset} of its ${size} bytes while being read`, { offset });
      offset += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

async function loadNpyFolder(folder: string): Promise<Map<string, WeightTensor>> {
  const names = (await readdir(folder)).filter((f) => f.endsWith(".npy")).sort();
  if (names.length === 0) throw new WeightFileError(folder, "is a folder with no .npy files");
  const tensors = new Map<string, WeightTensor>();
  for (const f of names) {
    const file = path.join(folder, f);
    tensors.set(f.slice(0, -4), parseNpy(await readBytes(file), file));
  }
  return tensors;
}

/** A sharded checkpoint: the index's `weight_map` says which shard holds each tensor, and it must agree with them. */
async function loadSharded(indexFile: string) {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexFile, "utf8"));
  } catch (error) {
    throw new WeightFileError(indexFile, `is not valid JSON: ${(error as Error).message}`);
  }
  const weightMap = (index as { weight_map?: unknown })?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) throw new WeightFileError(indexFile, "has no weight_map object");
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || !shard.endsWith(".safetensors")) {
      throw new WeightFileError(indexFile, `weight_map entry ${JSON.stringify(shard)} is not a .safetensors file beside the index`, { tensor: name });
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const tensors = new Map<string, WeightTensor>();
  const metadata: Record<string, string> = {};
  for (const [shard, names] of byShard) {
    const file = path.join(path.dirname(indexFile), shard);
    const bytes = await readBytes(file).catch((error: NodeJS.ErrnoException) => {
      throw new WeightFileError(indexFile, `shard ${shard} cannot be read: ${error.code ?? error.message}`);
    });
    const parsed = parseSafetensors(bytes, file);
    for (const name of names) {
      const t = parsed.tensors.get(name);
      if (!t) throw new WeightFileError(file, `the index places this tensor in ${shard}, which lacks it`, { tensor: name });
      tensors.set(name, t);
    }
    for (const name of parsed.tensors.keys()) {
      if (!names.includes(name)) throw new WeightFileError(file, "is in this shard but the index's weight_map does not place it here", { tensor: name });
    }
    Object.assign(metadata, parsed.metadata);
  }
  return { tensors, metadata };
}
