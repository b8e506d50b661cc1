import type { DefinedLayer, DefinedValue, TensorRTType } from "./network.js";

/** A header rule the network breaks: the text it comes from and what was found. */
export class RuleViolation extends Error {
  constructor(readonly rule: string, message: string) {
    super(message);
  }
}

/** Throws a RuleViolation citing `rule` (header text and where it is) unless `ok`. */
export function requireRule(ok: boolean, rule: string, message: string | (() => string)): asserts ok {
  if (!ok) throw new RuleViolation(rule, typeof message === "string" ? message : message());
}

/** Decoded weights as a layer sees them: their type and values (as refitted, where they were). */
export interface LayerWeights {
  type: TensorRTType;
  values: Float64Array;
}

/** A defined layer read as TensorRT reads it: arguments, setters (the last call wins), inputs after setInput. */
export class LayerView {
  constructor(readonly defined: DefinedLayer, private readonly weightsAt: (index: number) => LayerWeights, private readonly producers: ReadonlyMap<number, DefinedLayer> = new Map()) {}

  get method(): string { return this.defined.method; }
  get name(): string { return this.defined.name; }

  /** Input tensor ids by TensorRT's input index: the add* call's tensors in order, then setInput's. */
  inputs(): (number | undefined)[] {
    const inputs: (number | undefined)[] = [];
    for (const value of Object.values(this.defined.args)) {
      if (typeof value === "object" && !Array.isArray(value) && "tensor" in value) inputs.push(value.tensor);
      if (typeof value === "object" && !Array.isArray(value) && "tensors" in value) inputs.push(...value.tensors);
    }
    for (const call of this.defined.calls) {
      if (call.method !== "setInput") continue;
      const { tensor, index } = call.value as { tensor: number; index: number };
      inputs[index] = tensor;
    }
    return inputs;
  }

  /** Whether input `index` is rooted at a constant: made by addConstant, or by a layer whose first input is. */
  rootedAtConstant(index: number): boolean {
    let layer = this.producers.get(this.inputs()[index] ?? -1);
    while (layer && layer.method !== "addConstant") {
      const first = Object.values(layer.args).find((v) => typeof v === "object" && !Array.isArray(v) && "tensor" in v) as { tensor: number } | undefined;
      layer = first && this.producers.get(first.tensor);
    }
    return layer !== undefined;
  }

  /** The last value a setter was given, or undefined. */
  set(method: string): DefinedValue | undefined {
    for (let i = this.defined.calls.length - 1; i >= 0; i--) if (this.defined.calls[i]!.method === method) return this.defined.calls[i]!.value;
    return undefined;
  }
  setNumber(method: string, fallback: number): number { return (this.set(method) as number | undefined) ?? fallback; }
  setDims(method: string, fallback: number[]): number[] { return (this.set(method) as number[] | undefined) ?? fallback; }
  setText(method: string, fallback: string): string { return (this.set(method) as string | undefined) ?? fallback; }
  setBoolean(method: string, fallback: boolean): boolean { return (this.set(method) as boolean | undefined) ?? fallback; }

  number(key: string): number { return this.defined.args[key] as number; }
  text(key: string): string { return this.defined.args[key] as string; }
  dims(key: string): number[] { return this.defined.args[key] as number[]; }
  boolean(key: string): boolean { return this.defined.args[key] as boolean; }
  /** The weights argument `key`, or undefined for empty Weights. */
  weights(key: string): LayerWeights | undefined {
    const index = (this.defined.args[key] as { weights: number }).weights;
    return index < 0 ? undefined : this.weightsAt(index);
  }
}
