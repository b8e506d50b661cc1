/** A network that cannot be built as asked: missing weights, a dynamic input without a profile, a bad option. */
export class BuildError extends Error {
  override readonly name = "BuildError";
}

/** A build stopped through its AbortSignal. */
export class BuildCancelledError extends Error {
  override readonly name = "BuildCancelledError";
}
