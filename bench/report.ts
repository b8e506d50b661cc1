// What both benches print: the median (and fastest) of timing samples, and a table in aligned columns.

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
