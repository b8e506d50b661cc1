import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LIBRARY_FOLDERS } from "../../dsl/call-site.js";

// The floors of docs/architecture.md: a module imports only from its own floor or the floors below it (type-only
// imports included: a type from above is a dependency on the layer above all the same).
const FLOORS: readonly (readonly string[])[] = [
  ["weights"],
  ["dsl", "layers"],
  ["native", "plan"],
  ["builder", "precision"],
  ["onnx", "tensorrt"],
  ["runtime"],
  ["api"],
  ["debug", "cli", "selftest", "models", "index.ts"],
];
const root = path.resolve(import.meta.dirname, "../..");
const floorOf = (file: string): number => FLOORS.findIndex((names) => names.includes(file.split("/")[0]!));

function sources(): string[] {
  const files: string[] = [];
  for (const top of FLOORS.flat()) {
    const walk = (rel: string) => {
      if (statSync(path.join(root, rel)).isDirectory()) for (const name of readdirSync(path.join(root, rel))) walk(`${rel}/${name}`);
      else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) files.push(rel);
    };
    walk(top);
  }
  return files;
}

/** Each relative import of a file, resolved to a source file, with whether it is type-only. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(path.join(root, file), "utf8");
  const found: { target: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^'";]*?from\s+["'](\.{1,2}\/[^"']+)["']/gm)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[3]!)).replace(/\.js$/, ".ts");
    found.push({ target, typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) {
    found.push({ target: path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)).replace(/\.js$/, ".ts"), typeOnly: false });
  }
  return found;
}

describe("imports point one way", () => {
  const files = sources();
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it("every source file sits on a floor and imports only from its floor or below", () => {
    expect(files.length).toBeGreaterThan(60);
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      for (const { target } of imports) {
        if (floorOf(target) < 0) wrong.push(`${file} -> ${target} (not on any floor)`);
        else if (floorOf(target) > floorOf(file)) wrong.push(`${file} (floor ${floorOf(file) + 1}) -> ${target} (floor ${floorOf(target) + 1})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("no cycles among run-time imports", () => {
    const edges = new Map([...graph].map(([f, imports]) => [f, imports.filter((i) => !i.typeOnly).map((i) => i.target)]));
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") { cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> ")); return; }
      state.set(file, "open");
      for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  // models/ and selftest/ define networks as a user does: a call site there is the line that added the layer.
  it("the call-site filter knows every library folder as netdef's own", () => {
    expect([...LIBRARY_FOLDERS].sort()).toEqual(FLOORS.flat().filter((f) => !["index.ts", "models", "selftest"].includes(f)).sort());
  });

  it("the check finds a wrong-way import and a cycle (its own fixture)", () => {
    expect(floorOf("dsl/network.ts")).toBeLessThan(floorOf("builder/build.ts"));
    expect(floorOf("runtime/engine.ts")).toBeGreaterThan(floorOf("builder/refit.ts"));
    expect(importsOf("index.ts").some((i) => i.target === "api/build.ts")).toBe(true);
  });
});
