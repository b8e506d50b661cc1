import { NetdefError } from "../weights/netdef-error.js";

/** A network that cannot be built as asked: missing weights, a dynamic input without a profile, a bad option. */
export class BuildError extends NetdefError {
  override readonly name = "BuildError";
  readonly code = "build";
}

/** A build stopped through its AbortSignal. */
export class BuildCancelledError extends NetdefError {
  override readonly name = "BuildCancelledError";
  readonly code = "build_cancelled";
}

/** A refit that cannot be applied: every unknown, missing or misshapen weight listed; the engine is unchanged. */
export class RefitError extends NetdefError {
  override readonly name = "RefitError";
  readonly code = "refit";
  constructor(readonly problems: readonly string[]) {
    super(`refit refused, engine unchanged (${problems.length} problem(s)):\n  ${problems.join("\n  ")}`);
  }
}
