/** A progress bar on stderr (a terminal only, never with --json), one line rewritten in place. */
export function progressBar(label: string, json: boolean) {
  return ({ phase, step, steps }: { phase: string; step: number; steps: number }) => {
    if (!process.stderr.isTTY || json) return;
    const width = 24, filled = Math.round((width * step) / Math.max(steps, 1));
    process.stderr.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${step}/${steps} ${phase.padEnd(50).slice(0, 50)}${step >= steps ? "\n" : ""}`);
  };
}

/** An AbortSignal that Ctrl-C raises: long work (builds, calibration, self-tests) stops at its next step. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  return controller.signal;
}
