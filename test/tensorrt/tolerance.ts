/** Largest |actual − expected| over 1e-5·max|expected| + 1e-6, the onnxruntime oracle's tolerance (≤ 1 agrees); Infinity where the counts differ. */
export function toleranceRatio(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 0, worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i]) && Number.isNaN(actual[i])) continue;
    const diff = Math.abs(actual[i]! - expected[i]!);
    worst = Math.max(worst, Number.isNaN(diff) ? Infinity : diff / (1e-5 * scale + 1e-6));
  }
  return worst;
}

/** Largest |a − b|. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < b.length && worst !== Infinity; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
