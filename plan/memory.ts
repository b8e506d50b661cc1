/** Activation memory of a plan at one input shape: every tensor held at once, against the peak of the live set. */
export interface ActivationMemory {
  /** Bytes if every tensor had its own buffer for the whole execution. */
  naiveBytes: number;
  /** The largest sum of live tensors at any layer (inputs and outputs included), which buffer reuse achieves. */
  peakBytes: number;
  /** Tensors never allocated (a fused chain's, computed inside the layer after them): in the naive sum, not the peak. */
  unallocated: string[];
  /** The input shapes these figures are for (the profiles' opt shapes). */
  shapes: Record<string, number[]>;
}

/** A tensor's values (as float32) and the steps it is live: from the layer writing it (-1: an input) to the last reading it. */
export interface LiveTensor {
  name: string;
  values: number;
  from: number;
  to: number;
}

/** A tensor's shape at the opt shapes: the one given for it, or its own with dynamic dimensions at the opt batch. */
export function shapeAt(optShapes: Record<string, readonly number[]>, name: string, declared: readonly number[]): number[] {
  const batch = Object.values(optShapes)[0]?.[0] ?? 1;
  return [...(optShapes[name] ?? declared.map((d) => (d < 0 ? batch : d)))];
}

/** The plan's record: its tensors' lifetimes, from which the bytes follow once each tensor's storage is known. */
export interface Liveness {
  tensors: LiveTensor[];
  steps: number;
  shapes: Record<string, number[]>;
}


/**
 * The naive sum and the live-set peak, each tensor counted at `bytesPerValue(name)` (4, or 2 in 16-bit storage). The
 * `unallocated` tensors (written by layers that a later one computes along with its own) count in the naive sum
 * only, and what those layers read stays live until that later layer has run.
 */
export function activationMemory(live: Liveness, bytesPerValue: (tensor: string) => number = () => 4, unallocated: ReadonlySet<string> = new Set()): ActivationMemory {
  const bytes = live.tensors.map((t) => t.values * bytesPerValue(t.name));
  const fusedSteps = new Set(live.tensors.filter((t) => unallocated.has(t.name)).map((t) => t.from));
  const lastStep = (to: number) => {
    while (fusedSteps.has(to)) to++;  // read inside a fused chain: kept for the layer computing it
    return to;
  };
  const ends = live.tensors.map((t) => lastStep(t.to));
  let peak = 0;
  for (let step = -1; step < live.steps; step++) {
    // At a step the live set holds what was written before it or by it and is read by it or later.
    const sum = live.tensors.reduce((s, t, i) => (t.from <= step && ends[i]! >= step && !unallocated.has(t.name) ? s + bytes[i]! : s), 0);
    peak = Math.max(peak, sum);
  }
  return { naiveBytes: bytes.reduce((a, b) => a + b, 0), peakBytes: peak, unallocated: live.tensors.filter((t) => unallocated.has(t.name)).map((t) => t.name), shapes: live.shapes };
}
