import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests import "netdef" by self-reference and read the TypeScript sources through the package's netdef-source condition.
  resolve: { conditions: ["netdef-source"] },
  ssr: { resolve: { conditions: ["netdef-source"] } },
  // --expose-gc: the leak test collects garbage before measuring, so it sees native growth, not pending JS garbage.
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, execArgv: ["--expose-gc"] },
});
