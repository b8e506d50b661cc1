import { DATA_TYPES, type DataType } from "../dsl/dtype.js";
import type { TensorIR } from "../dsl/ir.js";
import { paramProblems, type Field } from "../layers/param-schema.js";
import { PLAN_FORMAT, PLAN_PARAMS, type PlanKind, type PlanParams } from "./schema.js";

/** The plan's binary layout, read by `native/src/plan_reader.cc`; a change of layout bumps PLAN_LAYOUT there and here. */
export const PLAN_MAGIC = "NETDEFPL";
export const PLAN_LAYOUT = 3;

/** A growing little-endian byte buffer. */
class Writer {
  #bytes = new Uint8Array(1 << 16);
  #view = new DataView(this.#bytes.buffer);
  length = 0;

  #reserve(n: number): void {
    if (this.length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.length + n));
    grown.set(this.#bytes.subarray(0, this.length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
  u32(v: number): void { this.#reserve(4); this.#view.setUint32(this.length, v, true); this.length += 4; }
  i64(v: number): void { this.#reserve(8); this.#view.setBigInt64(this.length, BigInt(v), true); this.length += 8; }
  f64(v: number): void { this.#reserve(8); this.#view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint): void { this.#reserve(8); this.#view.setBigUint64(this.length, v, true); this.length += 8; }
  raw(b: Uint8Array): void { this.#reserve(b.length); this.#bytes.set(b, this.length); this.length += b.length; }
  string(s: string): void { const b = new TextEncoder().encode(s); this.u32(b.length); this.raw(b); }
  bytes(): Uint8Array { return this.#bytes.subarray(0, this.length); }
}

/** FNV-1a 64-bit, the plan's checksum (as fnv1a64 in plan_reader.cc). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  // 32-bit halves keep the loop in small integers; the product is reduced mod 2^64 as in C++.
  let lo = Number(hash & 0xffffffffn), hi = Number(hash >> 32n);
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    // (hi·2^32 + lo) · 0x100000001b3 mod 2^64, with 0x100000001b3 = 2^40 + 0x1b3
    const loTimes = lo * 0x1b3;
    const carry = Math.floor(loTimes / 0x100000000);
    const newLo = loTimes >>> 0;
    const newHi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = newLo;
    hi = newHi;
  }
  hash = (BigInt(hi) << 32n) | BigInt(lo);
  return hash;
}

/**
 * An op's parameters in its kind's schema order: numbers and booleans as lists of float64, strings as strings,
 * absent optional ones left out. Parameters that do not fit the schema are the builder's mistake: an Error naming
 * the op, never a plan the reader would refuse.
 */
function writeParams(w: Writer, op: PlanOp, checked: boolean): void {
  const schema: Readonly<Record<string, Field>> | undefined = PLAN_PARAMS[op.kind];
  const params = op.params as Readonly<Record<string, unknown>>;
  const problems = schema ? paramProblems(schema, params) : [`kind '${op.kind}' is not a plan kind`];
  if (checked && problems.length) throw new Error(`plan writer: op "${op.name}" (${op.kind}): ${problems.join("; ")}`);
  const present = Object.keys(checked ? schema! : params).filter((key) => params[key] !== null && params[key] !== undefined);
  w.u32(present.length);
  for (const key of present) {
    const value = params[key];
    w.string(key);
    if (typeof value === "string") { w.u32(1); w.string(value); continue; }
    const list = (Array.isArray(value) ? value : [value]).map((v) => (typeof v === "boolean" ? Number(v) : v as number));
    w.u32(0);
    w.u32(list.length);
    for (const v of list) w.f64(v);
  }
}

/** What a plan holds: the builder's graph as the native engine reads it (BuildGraph is one). */
export interface PlanGraph {
  readonly name: string;
  readonly inputs: readonly TensorIR[];
  readonly tensors: ReadonlyMap<string, { readonly dtype: DataType; readonly shape: readonly number[] }>;
  readonly outputs: readonly { readonly name: string; readonly tensor: string }[];
  readonly ops: readonly PlanOp[];
}

export interface PlanOpBase {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** By role: float32 values, or an int32/int64 constant's values as int64. */
  readonly weights: Readonly<Record<string, Float32Array | BigInt64Array>>;
  /** The state_dict name each weight came from, by role (absent for values the builder computed). */
  readonly weightNames: Readonly<Record<string, string>>;
  /** The network's layers this op computes (the header lists them; the body does not hold them). */
  readonly fusedFrom?: readonly string[];
}

/** One op of a plan: a union over the plan's kinds, each with its parameters. */
export type PlanOp = { [K in PlanKind]: PlanOpBase & { readonly kind: K; readonly params: PlanParams[K] } }[PlanKind];

/**
 * The plan: magic, version, JSON header, the graph (tensors, IO, ops with params and weights), checksum.
 * `unchecked` (@internal, for tests of the native reader's own checks) writes parameters as they are.
 */
export function encodePlan(graph: PlanGraph, header: object, options: { unchecked?: boolean } = {}): Uint8Array {
  const w = new Writer();
  w.raw(new TextEncoder().encode(PLAN_MAGIC));
  w.u32(PLAN_LAYOUT);
  w.string(PLAN_FORMAT);
  w.string(JSON.stringify(header));
  const ids = new Map<string, number>();
  const tensors = [...graph.tensors];
  w.u32(tensors.length);
  tensors.forEach(([name, t], i) => {
    ids.set(name, i);
    w.string(name);
    w.u32((DATA_TYPES as readonly DataType[]).indexOf(t.dtype));
    w.u32(t.shape.length);
    for (const d of t.shape) w.i64(d);
  });
  w.u32(graph.inputs.length);
  for (const input of graph.inputs) w.u32(ids.get(input.name)!);
  w.u32(graph.outputs.length);
  for (const o of graph.outputs) { w.string(o.name); w.u32(ids.get(o.tensor)!); }
  w.u32(graph.ops.length);
  for (const op of graph.ops) {
    w.string(op.kind);
    w.string(op.name);
    w.u32(op.inputs.length);
    for (const t of op.inputs) w.u32(ids.get(t)!);
    w.u32(op.outputs.length);
    for (const t of op.outputs) w.u32(ids.get(t)!);
    writeParams(w, op, !options.unchecked);
    const weights = Object.entries(op.weights);
    w.u32(weights.length);
    for (const [role, values] of weights) {
      w.string(role);
      w.string(op.weightNames[role] ?? "");
      w.u32(values instanceof BigInt64Array ? 1 : 0);
      w.u64(BigInt(values.length));
      w.raw(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    }
  }
  const body = w.bytes();
  const plan = new Uint8Array(body.length + 8);
  plan.set(body);
  new DataView(plan.buffer).setBigUint64(body.length, fnv1a64(body), true);
  return plan;
}
