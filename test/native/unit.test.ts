// The engine library's C++ unit tests (native/tests/unit_tests.cc), built by CMake beside the addon.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const build = path.resolve(import.meta.dirname, "../../native/build");
const binary = [path.join(build, "netdef_unit_tests"), path.join(build, "Release", "netdef_unit_tests")].find(existsSync);

it("the C++ unit tests pass", async () => {
  expect(binary, "native/build/netdef_unit_tests: build it with npm run build:native").toBeDefined();
  const { stdout } = await promisify(execFile)(binary!).catch((error: { stdout: string }) => { throw new Error(`C++ unit tests failed:\n${error.stdout}`); });
  expect(stdout).toMatch(/^\d+ tests, 0 failed checks$/m);
  expect(stdout).not.toMatch(/^FAIL/m);
});
