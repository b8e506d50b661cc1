// The command line parsed strictly, as trtexec's habits: every flag known to the command it is given to, every
// value checked before any work starts.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { NetdefError } from "netdef";
import { nearestNames } from "../weights/source.js";

export const USAGE = `usage: netdef <command> [options]

  build <network.ts> --weights <file> -o <model.plan> [--backend builtin|tensorrt]
        [--minShapes s --optShapes s --maxShapes s]... | [--shapes s]
        [--fp16 | --bf16 | --int8 --calib <dir> | --precision fp32|fp16|bf16|int8]
        [--tuning off|fast|thorough --timing-cache <file>] [--tactic layer=tactic]... [--exclude-tactic tactic]...
  run <model.plan> [--loadInputs spec]... [--shapes s] [-o <outputs.npy|.safetensors>]
        prints each output's shape, min, max and mean (and top 5 of a vector); writes them only with -o
  inspect <model.plan | network.ts> [--weights <file>]
  bench <model.plan> [--shapes s] [--loadInputs spec]... [--warmUp ms] [--iterations N] [--duration s] [--dumpProfile]
  export-onnx <network.ts> --weights <file> -o <model.onnx>
  view <network.ts | model.plan> [--weights <file>] [--dumpProfile --shapes s] -o <view.html>
        the network drawn (layers with kind, output shape and dtype; a plan's fused layers outlined; layer times)
  refit <model.plan> --weights <file> -o <refit.plan>
  compare <a.plan> <b.plan> | <network.ts> --weights <file> --backend A --backend B | <network.ts> --weights <file>
          --reference <activations.safetensors>   [--loadInputs spec]... [--shapes s] [--seed N]
        two plans or two backends (builtin, tensorrt, onnxruntime) on the same inputs, or the network layer by layer
        against saved activations; exit code 1 where they differ beyond tolerance
  check --backend tensorrt <network.ts> --weights <file> [--minShapes s --optShapes s --maxShapes s]... [--seed N]
        what TensorRT would refuse and each layer whose TensorRT result differs from the builtin engine's, checked on
        netdef's TensorRT reference (no TensorRT or GPU needed); exit code 1 where there are findings
  selftest --backend tensorrt [--stand-in reference] [--cases <regex>]
        every layer case and example model on TensorRT against the builtin engine (host and device I/O, several
        contexts, refit by PyTorch names): a table to paste into a bug report; exit code 1 where a case fails.
        --stand-in reference runs it on the TensorRT reference where the addon has no TensorRT

  --json      machine-readable output on stdout, errors included ({ "error": { name, code, message, … } })
  --version   the netdef version
Shapes (s) are trtexec's: input:dims,input:dims with x-separated dims, e.g. --minShapes data:1x1x28x28; each
--minShapes/--optShapes/--maxShapes triple is one optimization profile. Inputs (spec): name:file.npy, or a
.safetensors file whose tensors are named as the inputs. A network file is a JavaScript module (or TypeScript, run
through tsx where it is installed) whose default export (or first exported function) takes the weights and returns
the Network. Outputs never replace an input file. Exit codes: 0 success, 1 failure, 2 usage error.`;

/** The command line used wrongly: exit code 2. */
export class UsageError extends NetdefError {
  override readonly name = "UsageError";
  readonly code = "usage";
}

const OPTIONS = {
  weights: { type: "string" }, output: { type: "string", short: "o" }, loadInputs: { type: "string", multiple: true },
  minShapes: { type: "string", multiple: true }, optShapes: { type: "string", multiple: true }, maxShapes: { type: "string", multiple: true },
  shapes: { type: "string" }, reference: { type: "string" }, calib: { type: "string" }, tuning: { type: "string" },
  "timing-cache": { type: "string" }, tactic: { type: "string", multiple: true }, "exclude-tactic": { type: "string", multiple: true },
  precision: { type: "string" }, fp16: { type: "boolean" }, bf16: { type: "boolean" }, int8: { type: "boolean" },
  warmUp: { type: "string" }, iterations: { type: "string" }, duration: { type: "string" }, dumpProfile: { type: "boolean" },
  json: { type: "boolean" }, help: { type: "boolean", short: "h" }, version: { type: "boolean" }, backend: { type: "string", multiple: true },
  seed: { type: "string" }, "stand-in": { type: "string" }, cases: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

export type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];
type OptionName = keyof typeof OPTIONS;

const PROFILE: readonly OptionName[] = ["minShapes", "optShapes", "maxShapes"];
const PRECISION: readonly OptionName[] = ["precision", "fp16", "bf16", "int8", "calib"];

/** Each command's options (besides --json, --help, --version) and how many files it takes. */
export const COMMANDS: Readonly<Record<string, { options: readonly OptionName[]; files: readonly [number, number] }>> = {
  build: { options: ["weights", "output", "backend", ...PROFILE, "shapes", ...PRECISION, "tuning", "timing-cache", "tactic", "exclude-tactic"], files: [1, 1] },
  run: { options: ["loadInputs", "shapes", "output"], files: [1, 1] },
  inspect: { options: ["weights"], files: [1, 1] },
  bench: { options: ["shapes", "loadInputs", "warmUp", "iterations", "duration", "dumpProfile"], files: [1, 1] },
  "export-onnx": { options: ["weights", "output"], files: [1, 1] },
  view: { options: ["weights", "output", "dumpProfile", "shapes"], files: [1, 1] },
  refit: { options: ["weights", "output"], files: [1, 1] },
  compare: { options: ["weights", "backend", "reference", "loadInputs", "shapes", "seed"], files: [1, 2] },
  check: { options: ["backend", "weights", ...PROFILE, "seed"], files: [1, 1] },
  selftest: { options: ["backend", "stand-in", "cases"], files: [0, 0] },
  help: { options: [], files: [0, 0] },
};

export interface CommandLine {
  readonly command: string | undefined;
  readonly files: readonly string[];
  readonly options: Options;
  readonly problem: string | undefined;
}

/** The command line parsed strictly (a misspelt flag is no flag), or what is wrong with it. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS, strict: true });
    const [command, ...files] = positionals;
    const spec = command === undefined ? undefined : COMMANDS[command];
    const result = { command, files, options: values };
    if (!spec) return { ...result, problem: command === undefined || values.help ? undefined : `unknown command "${command}"${nearestCommand(command)}` };
    const foreign = Object.keys(values).filter((o) => o !== "json" && o !== "help" && o !== "version" && !(spec.options as readonly string[]).includes(o));
    if (foreign.length) return { ...result, problem: `${command} takes no ${foreign.map((o) => `--${o}`).join(", ")} (it takes ${spec.options.map((o) => `--${o}`).join(", ") || "no options"})` };
    const [least, most] = spec.files;
    if (files.length > most) return { ...result, problem: `${command} takes ${most === 0 ? "no file" : most === 1 ? "one file" : `at most ${most} files`}, but was given ${files.map((f) => `"${f}"`).join(", ")}` };
    if (files.length < least && !values.help) return { ...result, problem: `${command} needs ${least === 1 ? "a file" : `${least} files`} (${USAGE.split("\n").find((l) => l.trim().startsWith(`${command} `))?.trim() ?? command})` };
    return { ...result, problem: undefined };
  } catch (error) {
    // node:util's messages for unknown options and missing or extra values, without its advice on "--", with the
    // nearest option where one was misspelt.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    const unknown = /^Unknown option '--([^'=]+)/.exec(message)?.[1];
    const nearest = unknown === undefined ? [] : nearestNames(unknown, Object.keys(OPTIONS), 1, 2);
    return { command: argv[0], files: [], options: {} as Options, problem: nearest.length ? `${message} (did you mean --${nearest[0]}?)` : message };
  }
}

function nearestCommand(command: string): string {
  const [nearest] = nearestNames(command, Object.keys(COMMANDS), 1, 2);
  return nearest ? ` (did you mean ${nearest}?)` : "";
}

/** A required option's value, or a UsageError naming it. */
export function need(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

/** An option's integer value in [min, max], or a UsageError naming the flag. */
export function integerOption(value: string | undefined, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} ${value}: expected an integer from ${min} to ${max}`);
  return n;
}

/** An option's number value ≥ min, or a UsageError naming the flag. */
export function numberOption(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min) throw new UsageError(`--${flag} ${value}: expected a number ≥ ${min}`);
  return n;
}

/** What a command gets: its files and options, and how to print (human text, or the data as JSON with --json). */
export interface Invocation {
  readonly files: readonly string[];
  readonly options: Options;
  readonly json: boolean;
  print(human: string, data: unknown): void;
}
