import { formatShape } from "./shape.js";

export interface SummaryRow {
  readonly layer: string;
  readonly kind: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly parameters: number;
}

export interface NetworkSummary {
  readonly name: string;
  readonly rows: readonly SummaryRow[];
  readonly totalParameters: number;
  readonly outputs: readonly string[];
  toString(): string;
}

/** A fixed-width table, one row per layer, with the parameter total. */
export function formatSummary(summary: Omit<NetworkSummary, "toString">): string {
  const header = ["layer", "kind", "output shape", "dtype", "parameters"];
  const body = summary.rows.map((r) => [r.layer, r.kind, formatShape(r.shape), r.dtype, r.parameters.toLocaleString("en-US")]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [
    `network "${summary.name}"`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    `total parameters: ${summary.totalParameters.toLocaleString("en-US")}`,
    `outputs: ${summary.outputs.join(", ") || "(none marked)"}`,
  ].join("\n");
}
