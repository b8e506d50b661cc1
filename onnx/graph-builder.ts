import { ONNX_DATA_TYPE, type AttributeMessage, type NodeMessage, type TensorMessage } from "./protobuf.js";

export type AttributeValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

/** Collects the nodes and initializers of an ONNX graph, with fresh names for intermediate tensors. */
export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  /** A tensor name not used before, from `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.#names.has(name)) name = `${base}_${++this.#counter}`;
    this.#names.add(name);
    return name;
  }

  reserve(name: string): void {
    this.#names.add(name);
  }

  /**
   * Adds a node. Attribute numbers are INTs unless wrapped as { float } / { floats } (ONNX types each attribute).
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], name: string, attributes: Record<string, AttributeValue> = {}): void {
    const attribute = Object.entries(attributes).map(([key, value]): AttributeMessage => {
      if (typeof value === "string") return { name: key, type: "STRING", s: value };
      if (typeof value === "number") return { name: key, type: "INT", i: value };
      if (Array.isArray(value)) return { name: key, type: "INTS", ints: [...value] };
      if ("float" in (value as object)) return { name: key, type: "FLOAT", f: (value as { float: number }).float };
      return { name: key, type: "FLOATS", floats: [...(value as { floats: readonly number[] }).floats] };
    });
    for (const o of outputs) this.reserve(o);
    this.nodes.push({ opType, input: [...inputs], output: [...outputs], name, attribute });
  }

  /** A float32 initializer. */
  floats(name: string, dims: readonly number[], values: Float32Array | readonly number[]): string {
    this.reserve(name);
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DATA_TYPE.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(name: string, dims: readonly number[], values: readonly number[] | BigInt64Array): string {
    this.reserve(name);
    const data = values instanceof BigInt64Array ? values : BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DATA_TYPE.INT64, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  int32s(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    this.reserve(name);
    const data = Int32Array.from(values);
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DATA_TYPE.INT32, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  int8s(name: string, dims: readonly number[], values: readonly number[]): string {
    this.reserve(name);
    const data = Int8Array.from(values);
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DATA_TYPE.INT8, rawData: new Uint8Array(data.buffer) });
    return name;
  }
}
