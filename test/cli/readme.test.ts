// Every command line of the README runs as written, in order (the first builds the plan the others read), in a
// folder holding the repository's models and fixtures, as it would in the repository itself.
import { readFileSync } from "node:fs";
import { mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { netdefIn } from "./run.js";

const prefix = "npm run --silent netdef -- ";
const lines = readFileSync("README.md", "utf8").split("\n").filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));

it(`the README's ${lines.length} command lines exit 0`, async () => {
  expect(lines.length).toBeGreaterThanOrEqual(8);
  const dir = await mkdtemp(path.join(tmpdir(), "netdef-readme-"));
  for (const folder of ["models", "fixtures"]) await symlink(path.resolve(folder), path.join(dir, folder));
  for (const line of lines) {
    const result = await netdefIn(dir, ...line.split(/\s+/));
    expect({ line, code: result.code, stderr: result.stderr }).toEqual({ line, code: 0, stderr: expect.any(String) });
  }
}, 120_000);
