import { fileURLToPath } from "node:url";
import path from "node:path";

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
export class NetworkError extends Error {
  override readonly name = "NetworkError";
  constructor(readonly issues: readonly NetworkIssue[]) {
    super(issues.map((i) => (i.callSite ? `${i.message} (${i.callSite})` : i.message)).join("\n"));
  }
}

// Frames inside these folders are netdef's own; the first frame outside them is the user's line.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const internalDirs = ["dsl", "layers", "weights", "builder", "onnx", "debug", "precision", "native"].map((d) => path.join(packageRoot, d) + path.sep);

function frameFile(frame: string): { file: string; location: string } | undefined {
  const match = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/.exec(frame.trim());
  if (!match) return undefined;
  const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
  return { file, location: `${match[2]}:${match[3]}` };
}

/**
 * The user's `file:line:column` that called into netdef, relative to the working directory.
 * Captured when a layer is added so that errors found later (at build time too) point at the user's code.
 */
export function captureCallSite(): string | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const frame of stack) {
    const parsed = frameFile(frame);
    if (!parsed || !path.isAbsolute(parsed.file)) continue;
    if (internalDirs.some((dir) => parsed.file.startsWith(dir)) || parsed.file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return `${path.relative(process.cwd(), parsed.file)}:${parsed.location}`;
  }
  return undefined;
}
