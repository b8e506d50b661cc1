// What the benches share: turns of timed runs, the median (and fastest) of their samples, and a table in aligned
// columns.

/**
 * One turn of an engine's runs: two untimed, then timed ones for `seconds` (2,000 at most) into `samples`, then a
 * pause, so that the engines taking turns each start from a quiet machine.
 */
export async function timeTurn(run: () => Promise<unknown>, samples: number[], seconds: number): Promise<void> {
  for (let i = 0; i < 2; i++) await run();
  const deadline = performance.now() + seconds * 1000;
  do {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  } while (performance.now() < deadline && samples.length < 2000);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The median and the fastest of the samples. */
export function summary(samples: number[]): { median: number; best: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1]!, best: sorted[0]! };
}

/** Rows (the first a header) in columns as wide as their widest cell: text columns left-aligned, numbers right. */
export function printTable(rows: string[][], textColumns: number[]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => (textColumns.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
}
