import { OptionError } from "../weights/netdef-error.js";

/**
 * How an engine runs, chosen when it is loaded (`Engine.deserialize`, `Engine.load`, `buildEngine`'s `engine`).
 * Each option left out takes its environment default (docs/options.md), read at that call.
 */
export interface EngineOptions {
  /** Threads one execution's parallel loops run on, the calling thread's included (1: that thread alone). Default: NETDEF_NUM_THREADS, else every core. */
  threads?: number;
  /** Hold tensors of 8k channels channel-blocked between layers that read and write that layout. Default true (NETDEF_CHANNEL_BLOCKED=0: false). */
  channelBlocked?: boolean;
  /** Let a layer compute the layers before it along with its own work (a depthwise convolution or a squeeze-excitation scale inside the 1×1 after it), and producers write into the concatenation after them. Default true (NETDEF_FUSE_PRODUCERS=0: false). */
  fuseProducers?: boolean;
  /** Hold tensors of 16-bit values in 16 bits between layers. Default true (NETDEF_HALF_STORAGE=0: false). */
  halfStorage?: boolean;
  /** Multiply bfloat16 pairs with AVX-512 BF16: "auto" where that CPU makes them faster, "on" wherever it has them, "off". Default NETDEF_BF16_DOT (0: off, 1: on), else "auto". */
  bfloat16Products?: "auto" | "on" | "off";
  /** 16-float GEMM tiles on CPUs with AVX-512 (false: 8-float ones; the same bits). Default true (NETDEF_WIDE_TILES=0: false). */
  wideTiles?: boolean;
  /** The best INT8 kernel family the CPU has ("auto"), or a cap: "avxvnni", "avx2", "scalar" (the same integers). Default NETDEF_INT8_KERNEL, else "auto". */
  int8Kernel?: "auto" | "avxvnni" | "avx2" | "scalar";
}

const INT8_KERNELS = ["auto", "avxvnni", "avx2", "scalar"] as const;
const TOGGLES = ["auto", "on", "off"] as const;

/** Every option, those left out from the environment; a value of the wrong kind is an OptionError naming it. */
export function resolveEngineOptions(options: EngineOptions = {}): Required<EngineOptions> {
  if (typeof options !== "object" || options === null) throw new OptionError(`engine options must be an object, received ${options === null ? "null" : typeof options}`);
  const env = process.env;
  const off = (name: string) => env[name] === "0";
  const bf16 = env.NETDEF_BF16_DOT === "0" ? "off" : env.NETDEF_BF16_DOT === "1" ? "on" : "auto";
  const envThreads = Number.parseInt(env.NETDEF_NUM_THREADS ?? "", 10);
  const resolved: Required<EngineOptions> = {
    threads: options.threads ?? (envThreads >= 1 ? envThreads : 0),
    channelBlocked: options.channelBlocked ?? !off("NETDEF_CHANNEL_BLOCKED"),
    fuseProducers: options.fuseProducers ?? !off("NETDEF_FUSE_PRODUCERS"),
    halfStorage: options.halfStorage ?? !off("NETDEF_HALF_STORAGE"),
    bfloat16Products: options.bfloat16Products ?? bf16,
    wideTiles: options.wideTiles ?? !off("NETDEF_WIDE_TILES"),
    int8Kernel: options.int8Kernel ?? ((INT8_KERNELS as readonly string[]).includes(env.NETDEF_INT8_KERNEL ?? "") ? env.NETDEF_INT8_KERNEL as Required<EngineOptions>["int8Kernel"] : "auto"),
  };
  const bad = (name: string, expected: string) => new OptionError(`engine option ${name} must be ${expected}, received ${JSON.stringify((options as Record<string, unknown>)[name])}`);
  if (!Number.isInteger(resolved.threads) || resolved.threads < 0) throw bad("threads", "an integer ≥ 1 (or 0: every core)");
  for (const name of ["channelBlocked", "fuseProducers", "halfStorage", "wideTiles"] as const) if (typeof resolved[name] !== "boolean") throw bad(name, "true or false");
  if (!(TOGGLES as readonly string[]).includes(resolved.bfloat16Products)) throw bad("bfloat16Products", `one of ${TOGGLES.join(", ")}`);
  if (!(INT8_KERNELS as readonly string[]).includes(resolved.int8Kernel)) throw bad("int8Kernel", `one of ${INT8_KERNELS.join(", ")}`);
  return resolved;
}
