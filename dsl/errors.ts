import { NetdefError } from "../weights/netdef-error.js";

/** One problem found in a network definition; `code` says which kind, the other fields say where and what. */
export interface NetworkIssue {
  code:
    | "invalid_argument"
    | "shape_mismatch"
    | "dtype_mismatch"
    | "weight_missing"
    | "weight_shape"
    | "duplicate_name"
    | "unknown_name"
    | "foreign_tensor";
  /** The layer the problem belongs to (its state_dict path, e.g. `features.3.conv`), or the input's name. */
  layer: string;
  /** The layer kind (`convolution`, …) or `input`/`network`. */
  kind: string;
  /** The argument, tensor or weight that is wrong (`kernel`, `weight 'conv2.weight'`, `input 1`). */
  argument: string;
  expected: string;
  received: string;
  /** Full sentence describing the problem. */
  message: string;
  /** `file:line:column` of the user's call that added the layer, when it could be found. */
  callSite?: string;
}

/** Thrown for a mistake in a network definition, at the call that made it. */
export class NetworkError extends NetdefError {
  override readonly name = "NetworkError";
  readonly code = "network";
  constructor(readonly issues: readonly NetworkIssue[]) {
    super(issues.map((i) => (i.callSite ? `${i.message} (${i.callSite})` : i.message)).join("\n"), { layer: issues[0]?.layer, callSite: issues[0]?.callSite });
  }
}
