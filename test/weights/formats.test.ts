import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as npyjsParse } from "npyjs";
import { describe, expect, it } from "vitest";
import {
  bindingReport, loadWeights, parseNpy, parseSafetensors, parseWts, serializeNpy, serializeSafetensors, serializeWts,
  toFloat32, WeightFileError, WeightStore, type WeightTensor,
} from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { fixturePath, loadFixtureWeights } from "../fixtures.js";
import { float16BitsToNumber, numberToFloat16Bits } from "../../weights/tensor.js";

const tmp = () => mkdtemp(path.join(tmpdir(), "netdef-weights-"));
const bitsOf = (t: WeightTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
/** Bit-for-bit equality (Buffer.equals: deep equality of large arrays is slow in the test runner). */
const sameBits = (a: WeightTensor, b: WeightTensor) => expect(bitsOf(a).equals(bitsOf(b))).toBe(true);

describe("the PyTorch fixtures load identically from every format", () => {
  it("lenet.safetensors equals lenet_npy/", async () => {
    const fromSafetensors = await loadFixtureWeights("lenet.safetensors");
    const fromNpy = await loadFixtureWeights("lenet_npy");
    expect(fromNpy.names().sort()).toEqual(fromSafetensors.names().sort());
    for (const name of fromNpy.names()) {
      expect(fromNpy.get(name)!.shape).toEqual(fromSafetensors.get(name)!.shape);
      sameBits(fromNpy.get(name)!, fromSafetensors.get(name)!);
    }
    expect(fromSafetensors.metadata).toEqual({ format: "pt" });
  });

  it("agrees with npyjs, an independent .npy reader, on every fixture file", async () => {
    const folder = fixturePath("lenet_npy");
    for (const file of await readdir(folder)) {
      const bytes = await readFile(path.join(folder, file));
      const ours = parseNpy(new Uint8Array(bytes), file);
      const theirs = npyjsParse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      expect(ours.shape).toEqual(theirs.shape);
      expect(Buffer.from(ours.data.buffer, ours.data.byteOffset, ours.data.byteLength).equals(Buffer.from(theirs.data.buffer, theirs.data.byteOffset, theirs.data.byteLength))).toBe(true);
    }
  });

  it("a sharded copy (index + two shards) loads identically", async () => {
    const original = await loadFixtureWeights("lenet.safetensors");
    const dir = await tmp();
    const names = original.names();
    const shards = [names.slice(0, 3), names.slice(3)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(path.join(dir, file), serializeSafetensors(shard.map((n) => [n, original.get(n)!])));
      for (const n of shard) weightMap[n] = file;
    }
    await writeFile(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = await loadWeights(path.join(dir, "model.safetensors.index.json"));
    for (const n of names) sameBits(sharded.get(n)!, original.get(n)!);
    // The index is the authority: a tensor it places in the wrong shard is an error.
    weightMap[names[0]!] = "model-00002-of-00002.safetensors";
    await writeFile(path.join(dir, "bad.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    await expect(loadWeights(path.join(dir, "bad.safetensors.index.json"))).rejects.toThrow(/lacks it|does not place it here/);
  });

  it(".wts round-trips bit for bit, NaN, infinities and -0 included", async () => {
    const special = new Float32Array([NaN, Infinity, -Infinity, -0, 1.5, -3.25e-38, 3.4028234663852886e38]);
    const store = new WeightStore([["special", { dtype: "float32", shape: [7], data: special }], ...(await loadFixtureWeights("lenet.safetensors")).entries()]);
    const text = serializeWts(store.entries());
    expect(text.split("\n")[1]).toBe("special 7 7fc00000 7f800000 ff800000 80000000 3fc00000 8130f264 7f7fffff");
    const back = parseWts(text);
    for (const [name, t] of store.entries()) {
      sameBits(back.get(name)!, t);
      expect(back.get(name)!.flat).toBe(true);
    }
    // A network binds flat .wts tensors by element count, as tensorrtx does.
    const dir = await tmp();
    await writeFile(path.join(dir, "lenet.wts"), text);
    expect(defineLeNet(await loadWeights(path.join(dir, "lenet.wts"))).summary().totalParameters).toBe(431_080);
  });

  it("writes .npy that reads back, and that npyjs reads too", () => {
    const t: WeightTensor = { dtype: "int16", shape: [2, 3], data: new Int16Array([1, -2, 3, -4, 5, -32768]) };
    const bytes = serializeNpy(t);
    expect((bytes.length - 6 * 2) % 64).toBe(0); // data starts 64-byte aligned, as numpy writes it
    expect(parseNpy(bytes)).toEqual(t);
    expect(Array.from(npyjsParse(bytes.buffer as ArrayBuffer).data as Int16Array)).toEqual([1, -2, 3, -4, 5, -32768]);
  });
});

/** A .npy file with a hand-written header, for the layouts we do not write ourselves. */
function npyFile(header: string, data: number[], version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const padded = header + " ".repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(prefix + padded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) new DataView(out.buffer).setUint16(8, padded.length, true); else new DataView(out.buffer).setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[prefix + i] = padded.charCodeAt(i);
  out.set(data, prefix + padded.length);
  return out;
}

describe(".npy layouts", () => {
  it("reads big-endian float32 (1.0 = 3f800000, -2.5 = c0200000)", () => {
    const t = parseNpy(npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", [0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0]));
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2.5]);
  });

  it("reads Fortran order into C order: column-major [[1,2,3],[4,5,6]] is stored 1,4,2,5,3,6", () => {
    const t = parseNpy(npyFile("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", [1, 4, 2, 5, 3, 6], 2));
    expect(Array.from(t.data as Uint8Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("reads version 3.0 and bool", () => {
    const t = parseNpy(npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", [1, 0, 1], 3));
    expect(t).toMatchObject({ dtype: "bool", shape: [3] });
  });

  it.each([
    ["object dtype", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0], /'\|O' is not supported \(object arrays/],
    ["trailing bytes", "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", [1, 0, 2], /1 bytes follow the data/],
    ["truncated data", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", [1, 0, 0, 0], /truncated: shape \[2\] of <i4 needs 8 bytes, 4 present/],
    ["structured dtype", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0], /not a simple dtype/],
    // Was a stack overflow (RangeError) in the recursive literal parser.
    ["a header nested 20,000 deep", `{'descr': '<f4', 'fortran_order': False, 'shape': ${"(".repeat(20_000)}${")".repeat(20_000)}, }`, [], /header nests deeper than 8 levels/],
  ])("refuses %s", (_, header, data, message) => {
    expect(() => parseNpy(npyFile(header, data), "bad.npy")).toThrow(WeightFileError);
    expect(() => parseNpy(npyFile(header, data), "bad.npy")).toThrow(message);
  });

  it("refuses more than numpy's 64 dimensions at once (a Fortran-order header of 200,000 took minutes: strides in O(rank²))", () => {
    const header = `{'descr': '|u1', 'fortran_order': True, 'shape': (${"1, ".repeat(200_000)}), }`;
    const started = performance.now();
    expect(() => parseNpy(npyFile(header, [1], 2), "deep.npy")).toThrow(/shape has 200000 dimensions; numpy allows at most 64/);
    expect(performance.now() - started).toBeLessThan(2000);  // a hang guard, not a timing claim: it took minutes
  });
});

describe("safetensors validation, as huggingface/safetensors enforces it", () => {
  const valid = () => serializeSafetensors([["a", { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) }], ["b", { dtype: "int8", shape: [3], data: new Int8Array([1, 2, 3]) }]]);
  /** The valid file with its header JSON replaced. */
  const withHeader = (header: object, dataBytes = 11) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  it.each([
    ["a header length past the end", () => { const f = valid(); new DataView(f.buffer).setBigUint64(0, 1000n, true); return f; }, /header length 1000 runs past the end .*\(byte 0\)/],
    ["a header length over 100 MB", () => { const f = valid(); new DataView(f.buffer).setBigUint64(0, 2n ** 40n, true); return f; }, /exceeds the 100 MB limit/],
    ["overlapping offsets", () => withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "I8", shape: [3], data_offsets: [6, 9] } }), /tensor 'b'.*|overlaps/],
    ["a gap between tensors", () => withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "I8", shape: [2], data_offsets: [9, 11] } }), /gap of 1 bytes/],
    ["a span that disagrees with the shape", () => withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }), /span 8 bytes but shape \[3\] of F32 needs 12/],
    ["bytes after the last tensor", () => withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }), /3 bytes after the last tensor/],
    ["a truncated file", () => valid().subarray(0, valid().length - 1), /file truncated/],
    ["an unsupported dtype", () => withHeader({ a: { dtype: "F8_E4M3", shape: [11], data_offsets: [0, 11] } }), /dtype "F8_E4M3" is not supported/],
    ["a duplicate name", () => { const f = valid(); const text = new TextDecoder().decode(f); return new TextEncoder().encode(text.replace('"b"', '"a"')); }, /tensor name appears twice.*tensor 'a'/],
    ["invalid UTF-8", () => { const f = valid(); f[10] = 0xff; return f; }, /not valid UTF-8/],
    ["a shape element count overflowing 2^64", () => withHeader({ a: { dtype: "F32", shape: [2 ** 40, 2 ** 40, 2 ** 40], data_offsets: [0, 11] } }), /needs \d{30,}/],
    // `code in DTYPES` matched inherited keys: a TypeError (Cannot convert undefined to a BigInt).
    ["an inherited name as dtype", () => withHeader({ a: { dtype: "__proto__", shape: [11], data_offsets: [0, 11] } }), /dtype "__proto__" is not supported/],
  ])("refuses %s", (_, make, message) => {
    expect(() => parseSafetensors(make(), "bad.safetensors")).toThrow(WeightFileError);
    expect(() => parseSafetensors(make(), "bad.safetensors")).toThrow(message);
  });
});

describe("dtype conversion to float32 is exact", () => {
  it.each([
    // IEEE half: 1, −2, 65504 (largest), 2^−24 (smallest subnormal), 2^−14 (smallest normal), ∞
    ["float16", [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00], [1, -2, 65504, 2 ** -24, 2 ** -14, Infinity], Uint16Array],
    // bfloat16 is the top half of a float32: 1, −2, π rounded (0x4049 → 3.140625), 2^−133 subnormal
    ["bfloat16", [0x3f80, 0xc000, 0x4049, 0x0001], [1, -2, 3.140625, 2 ** -133], Uint16Array],
    ["int8", [-128, 127], [-128, 127], Int8Array],
    ["int16", [-32768, 32767], [-32768, 32767], Int16Array],
    ["int32", [-(2 ** 24), 2 ** 24], [-(2 ** 24), 2 ** 24], Int32Array],
    ["uint8", [0, 255], [0, 255], Uint8Array],
    ["float64", [0.5, -1e-3], [0.5, Math.fround(-1e-3)], Float64Array],
  ] as const)("%s", (dtype, stored, expected, Ctor) => {
    const t = { dtype, shape: [stored.length], data: new (Ctor as unknown as new (v: readonly number[]) => WeightTensor["data"])(stored) } as WeightTensor;
    expect(Array.from(toFloat32(t))).toEqual(expected);
  });

  it("int64 and NaN", () => {
    expect(Array.from(toFloat32({ dtype: "int64", shape: [2], data: new BigInt64Array([-5n, 1n << 24n]) }))).toEqual([-5, 2 ** 24]);
    expect(Number.isNaN(toFloat32({ dtype: "float16", shape: [1], data: new Uint16Array([0x7e00]) })[0])).toBe(true);
  });

  it("float16 bit patterns from numbers: exact where the value is one, ties to even where it is not", () => {
    for (const bits of [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x8000]) expect(numberToFloat16Bits(float16BitsToNumber(bits))).toBe(bits);
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);      // halfway between 1 and its successor: to the even one
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);  // halfway between 0x3c01 and 0x3c02: to 0x3c02
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(0x0002);      // subnormal halfway between 1 and 2 steps of 2^-24
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(Number.NaN) & 0x7e00).toBe(0x7e00);
  });
});

describe("binding report", () => {
  it("names the misspelled weight, its nearest stored names, and the stored weight left unused", async () => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const net = defineLeNet(); // no source while defining: names are recorded, then checked against the store
    const renamed = new WeightStore([...weights.entries()].map(([n, t]) => [n === "fc1.bias" ? "fc1.bais" : n, t]));
    const report = bindingReport(net, renamed);
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual([{ layer: "fc1", weight: "fc1.bias", expectedShape: [500], nearest: ["fc1.bais", "fc2.bias", "conv1.bias"] }]);
    expect(report.unused).toEqual(["fc1.bais"]);
    expect(report.toString()).toContain("missing: fc1 needs 'fc1.bias' [500]; nearest stored: 'fc1.bais'");
    expect(bindingReport(net, weights).toString()).toBe("all 8 weights bound, none unused");
  });
});
