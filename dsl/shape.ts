/** Shape helpers shared by the layers' inference. `-1` is a dimension known only at run time. */

export type Shape = readonly number[];

export const formatShape = (shape: Shape): string => `[${shape.join(",")}]`;

export function volume(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** numpy/PyTorch broadcasting of two shapes, aligned from the right; undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (x === -1 || y === -1) out.push(Math.max(x, y)); // checked again at run time
    else return undefined;
  }
  return out;
}

/** An axis in [-rank, rank) made non-negative; undefined when out of range or not an integer. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) return undefined;
  return axis < 0 ? axis + rank : axis;
}
