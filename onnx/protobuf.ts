// The part of ONNX's protobuf schema (onnx/onnx.proto3) that the export writes, encoded by hand: a runtime
// dependency on a protobuf library (and its install script) for a dozen message types is not worth it. Field
// numbers are onnx.proto3's; the tests decode every export with an independent reader (onnx-proto) and run it on
// onnxruntime.

/** TensorProto.DataType values. */
export const ONNX_DATA_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, BFLOAT16: 16 } as const;

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

export interface TensorMessage { name: string; dims: readonly number[]; dataType: number; rawData: Uint8Array }
export type AttributeMessage =
  | { name: string; type: "FLOAT"; f: number } | { name: string; type: "INT"; i: number } | { name: string; type: "STRING"; s: string }
  | { name: string; type: "FLOATS"; floats: readonly number[] } | { name: string; type: "INTS"; ints: readonly number[] };
export interface NodeMessage { opType: string; name: string; input: readonly string[]; output: readonly string[]; attribute: readonly AttributeMessage[] }
export interface ValueInfoMessage { name: string; elemType: number; dims: readonly (number | string)[] }
export interface ModelMessage {
  irVersion: number;
  producerName: string;
  opset: number;
  graph: {
    name: string; node: readonly NodeMessage[]; initializer: readonly TensorMessage[]; input: readonly ValueInfoMessage[]; output: readonly ValueInfoMessage[];
    /** Every intermediate tensor's type and shape, for viewers (Netron) and shape inference. */
    valueInfo: readonly ValueInfoMessage[];
  };
}

/** A protobuf message under construction: fields appended in the order written. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private varint(value: bigint): void {
    // Negative int64s are ten bytes of two's complement, as protobuf writes them.
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      bytes.push(v ? low | 0x80 : low);
    } while (v);
    this.push(Uint8Array.from(bytes));
  }
  private key(field: number, wire: 0 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(value));
    return this;
  }
  float(field: number, value: number): this {
    this.key(field, 5);
    this.push(new Uint8Array(Float32Array.of(value).buffer));
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }
  message(field: number, message: Writer): this {
    return this.bytes(field, message.finish());
  }
  /** Packed repeated int64s (proto3's default for repeated scalars). */
  ints(field: number, values: readonly number[]): this {
    const packed = new Writer();
    for (const v of values) packed.varint(BigInt(v));
    return this.bytes(field, packed.finish());
  }
  floats(field: number, values: readonly number[]): this {
    return this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}

function tensor(t: TensorMessage): Writer {
  return new Writer().ints(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.rawData);
}

function attribute(a: AttributeMessage): Writer {
  const w = new Writer().string(1, a.name);
  if (a.type === "FLOAT") w.float(2, a.f);
  else if (a.type === "INT") w.int(3, a.i);
  else if (a.type === "STRING") w.string(4, a.s);
  else if (a.type === "FLOATS") w.floats(7, a.floats);
  else w.ints(8, a.ints);
  return w.int(20, ATTRIBUTE_TYPE[a.type]);
}

function node(n: NodeMessage): Writer {
  const w = new Writer();
  for (const i of n.input) w.string(1, i);
  for (const o of n.output) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attribute) w.message(5, attribute(a));
  return w;
}

// ValueInfoProto { name = 1; type = 2 } → TypeProto { tensor_type = 1 } → Tensor { elem_type = 1; shape = 2 } →
// TensorShapeProto { dim = 1 } → Dimension { dim_value = 1 | dim_param = 2 }.
function valueInfo(v: ValueInfoMessage): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === "number" ? new Writer().int(1, d) : new Writer().string(2, d));
  return new Writer().string(1, v.name).message(2, new Writer().message(1, new Writer().int(1, v.elemType).message(2, shape)));
}

/** ModelProto's bytes. */
export function encodeModel(m: ModelMessage): Uint8Array {
  const graph = new Writer();
  for (const n of m.graph.node) graph.message(1, node(n));
  graph.string(2, m.graph.name);
  for (const t of m.graph.initializer) graph.message(5, tensor(t));
  for (const v of m.graph.input) graph.message(11, valueInfo(v));
  for (const v of m.graph.output) graph.message(12, valueInfo(v));
  for (const v of m.graph.valueInfo) graph.message(13, valueInfo(v));
  return new Writer().int(1, m.irVersion).string(2, m.producerName).message(7, graph).message(8, new Writer().string(1, "").int(2, m.opset)).finish();
}
