import { NetdefError } from "./netdef-error.js";

/** A weight file that cannot be read as it claims to be: names the file, and the byte offset or tensor. */
export class WeightFileError extends NetdefError {
  override readonly name = "WeightFileError";
  readonly code = "weight_file";
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly where: { offset?: number; tensor?: string } = {},
  ) {
    const at = [where.tensor !== undefined ? `tensor '${where.tensor}'` : "", where.offset !== undefined ? `byte ${where.offset}` : ""].filter(Boolean).join(", ");
    super(`${file}: ${problem}${at ? ` (${at})` : ""}`);
  }
}
