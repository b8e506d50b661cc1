import { TensorRTUnavailableError } from "netdef";
import { runSelftest } from "../../selftest/selftest.js";
import { referenceUnderTest, tensorrtUnderTest } from "../../selftest/under-test.js";
import { UsageError, type Invocation } from "../command-line.js";
import { interruptSignal, progressBar } from "../progress.js";

/** netdef selftest --backend tensorrt: every layer case and example model on TensorRT (or the reference standing in). */
export async function selftest({ options, json, print }: Invocation): Promise<void> {
  if (options.backend?.join() !== "tensorrt") throw new UsageError(`selftest --backend ${options.backend?.join(" --backend ") ?? ""}: expected --backend tensorrt`);
  const standIn = options["stand-in"];
  if (standIn !== undefined && standIn !== "reference") throw new UsageError(`--stand-in ${standIn}: expected --stand-in reference`);
  let cases: RegExp | undefined;
  try {
    cases = options.cases === undefined ? undefined : new RegExp(options.cases);
  } catch {
    throw new UsageError(`--cases ${options.cases}: not a regular expression`);
  }
  let underTest;
  try {
    underTest = standIn ? referenceUnderTest() : tensorrtUnderTest();
  } catch (error) {
    if (error instanceof TensorRTUnavailableError) throw new TensorRTUnavailableError(`${error.message}. Without TensorRT, --stand-in reference runs the self-test on netdef's TensorRT reference`);
    throw error;
  }
  const report = await runSelftest(underTest, { cases, signal: interruptSignal(), onProgress: progressBar("selftest", json) });
  print(report.toString(), { tensorrt: report.tensorrt, real: report.real, netdef: report.netdef, host: report.host, passed: report.passed, failed: report.failed, rows: report.rows });
  if (report.failed) process.exitCode = 1;
}
