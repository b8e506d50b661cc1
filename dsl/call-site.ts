import path from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "./package-root.js";

/**
 * The package's own folders, by floor (docs/architecture.md): frames in them (as sources, as dist/ or mapped back to
 * the sources by source maps) are netdef's; the test of the floors checks this list against them.
 */
export const LIBRARY_FOLDERS: readonly string[] = [
  "weights", "dsl", "layers", "native", "plan", "builder", "precision", "onnx", "tensorrt", "runtime", "api", "debug", "cli",
];

const internalPrefixes = [...LIBRARY_FOLDERS, "dist"].map((d) => path.join(packageRoot, d) + path.sep);
const internalFiles = ["index.ts", "index.js"].map((f) => path.join(packageRoot, f));

function frameFile(frame: string): { file: string; location: string } | undefined {
  const match = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/.exec(frame.trim());
  if (!match) return undefined;
  const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
  return { file, location: `${match[2]}:${match[3]}` };
}

/** Whether a stack frame's file is netdef's own (or another package's): not the user's. */
const isLibraryFile = (file: string) =>
  internalPrefixes.some((dir) => file.startsWith(dir)) || internalFiles.includes(file) || file.includes(`${path.sep}node_modules${path.sep}`);

/**
 * The user's `file:line:column` that called into netdef, relative to the working directory: the first frame of the
 * stack outside the package (its sources, its dist/, or node_modules). Captured when a layer is added so that errors
 * found later (at build, export, refit or execution) point at the user's code.
 */
export function captureCallSite(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(limit, 50);  // deep builder chains must not push the user's frame off the stack
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  Error.stackTraceLimit = limit;
  for (const frame of stack) {
    const parsed = frameFile(frame);
    if (!parsed || !path.isAbsolute(parsed.file) || isLibraryFile(parsed.file)) continue;
    return `${path.relative(process.cwd(), parsed.file)}:${parsed.location}`;
  }
  return undefined;
}
