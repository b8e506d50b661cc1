/** A network that cannot be built as asked: missing weights, a dynamic input without a profile, a bad option. */
export class BuildError extends Error {
  override readonly name = "BuildError";
}

/** A build stopped through its AbortSignal. */
export class BuildCancelledError extends Error {
  override readonly name = "BuildCancelledError";
}

/** A refit that cannot be applied: every unknown, missing or misshapen weight listed; the engine is unchanged. */
export class RefitError extends Error {
  override readonly name = "RefitError";
  constructor(readonly problems: readonly string[]) {
    super(`refit refused, engine unchanged (${problems.length} problem(s)):\n  ${problems.join("\n  ")}`);
  }
}
