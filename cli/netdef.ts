#!/usr/bin/env node
// netdef's command line, with trtexec's habits: build, run, inspect, bench, export-onnx, refit, compare, check,
// selftest, view. `netdef help`; each command is a module of cli/commands.
import { packageVersion } from "../dsl/package-root.js";
import { parseCommandLine, USAGE, UsageError, type Invocation } from "./command-line.js";
import { bench } from "./commands/bench.js";
import { build } from "./commands/build.js";
import { check } from "./commands/check.js";
import { compare } from "./commands/compare.js";
import { exportOnnxCommand } from "./commands/export-onnx.js";
import { inspect } from "./commands/inspect.js";
import { refitCommand } from "./commands/refit.js";
import { run } from "./commands/run.js";
import { selftest } from "./commands/selftest.js";
import { view } from "./commands/view.js";

const COMMAND_RUNS: Readonly<Record<string, (invocation: Invocation) => Promise<void>>> = {
  build, run, inspect, bench, "export-onnx": exportOnnxCommand, refit: refitCommand, compare, check, selftest, view,
};

const argv = process.argv.slice(2);
const { command, files, options, problem } = parseCommandLine(argv);
// --json holds for errors in the command line itself too, which leave `options` empty.
const json = Boolean(options.json) || argv.includes("--json");
const print = (human: string, data: unknown) => console.log(json ? JSON.stringify(data, null, 2) : human);

async function main(): Promise<void> {
  if (problem) throw new UsageError(problem);
  if (options.version) return print(`netdef ${packageVersion}`, { netdef: packageVersion });
  const runCommand = command === undefined ? undefined : COMMAND_RUNS[command];
  if (options.help || !runCommand) { console.log(USAGE); return; }
  await runCommand({ files, options, json, print });
}

/** A file the command line names that cannot be read as one: the user's mistake, like a bad flag. */
const PATH_ERRORS: Readonly<Record<string, string>> = { ENOENT: "no such file or directory", EISDIR: "is a directory, not a file", ENOTDIR: "a part of the path is not a directory", EACCES: "permission denied" };

main().catch((error: unknown) => {
  // Node's EISDIR from a read names no path: the file then is the command's own (its first argument).
  const { code, path: file = files[0] } = error as { code?: string; path?: string };
  const usage = error instanceof UsageError || (code !== undefined && file !== undefined && code in PATH_ERRORS);
  const message = error instanceof UsageError || !usage ? (error as Error).message : `${file}: ${PATH_ERRORS[code!]}`;
  const name = usage ? "UsageError" : (error as Error).name;
  if (json) {
    const { layer, callSite } = error as { layer?: string; callSite?: unknown };
    console.log(JSON.stringify({ error: { name, code: usage ? "usage" : (error as { code?: string }).code, message, layer, callSite } }, null, 2));
  }
  console.error(usage ? `netdef: ${message}\n\n${USAGE}` : `netdef: ${name}: ${message}`);
  process.exitCode = usage ? 2 : 1;
});
