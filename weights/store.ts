import { nearestSuffix, type WeightSource } from "./source.js";
import { toFloat32, type WeightTensor } from "./tensor.js";

/**
 * Weights by state_dict name, held in memory. `scope("features.3")` gives the weights under that module with the
 * prefix removed, for porting module by module.
 */
export class WeightStore implements WeightSource {
  readonly #tensors: Map<string, WeightTensor>;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(entries: Iterable<[string, WeightTensor]> = [], metadata: Record<string, string> = {}) {
    this.#tensors = new Map(entries);
    this.metadata = metadata;
  }

  get(name: string): WeightTensor | undefined {
    return this.#tensors.get(name);
  }

  /** The named weight, or an error that suggests the nearest stored names. */
  require(name: string): WeightTensor {
    const found = this.#tensors.get(name);
    if (found) return found;
    throw new RangeError(`no weight '${name}' in the store${nearestSuffix(name, this.names(), "; nearest names: ")}`);
  }

  /** The named weight as float32 (converted on demand; float32 data comes back uncopied). */
  float32(name: string): Float32Array {
    return toFloat32(this.require(name));
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  names(): string[] {
    return [...this.#tensors.keys()];
  }

  get size(): number {
    return this.#tensors.size;
  }

  set(name: string, tensor: WeightTensor): this {
    this.#tensors.set(name, tensor);
    return this;
  }

  entries(): IterableIterator<[string, WeightTensor]> {
    return this.#tensors.entries();
  }

  /** The weights whose names start with `prefix.`, under the rest of their names. */
  scope(prefix: string): WeightStore {
    const head = prefix.endsWith(".") ? prefix : `${prefix}.`;
    return new WeightStore([...this.#tensors].filter(([n]) => n.startsWith(head)).map(([n, t]) => [n.slice(head.length), t]), { ...this.metadata });
  }
}
