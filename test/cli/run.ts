import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const bin = path.resolve("dist/cli/netdef.js");

/** The compiled `netdef` command run as a user runs it: its exit code and what it printed. */
export const netdef = (...args: string[]) => netdefIn(undefined, ...args);

/** The same, run in the folder `cwd`. */
export async function netdefIn(cwd: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { maxBuffer: 1 << 26, cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
