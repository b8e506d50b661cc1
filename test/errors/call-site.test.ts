// Errors point at the user's line under every way of running netdef: a consumer project outside the repository
// (netdef linked into its node_modules, as an install from a path or a tarball does) run by plain node against dist/,
// node --enable-source-maps (frames mapped back to netdef's .ts sources), tsx (against dist/ and against the sources),
// vitest, and the CLI loading the user's network file.
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, "../..");
let consumer = "";

// The user's definition: line 5 adds a convolution whose 9×9 window does not fit the 8×8 input.
const definition = (tail: string) => `import { Network } from "netdef";
export function define() {
  const net = new Network("n");
  const x = net.addInput("x", "float32", [1, 3, 8, 8]);
  net.markOutput(x.addConvolution("c", { outChannels: 4, kernel: 9, weights: { kernel: new Float32Array(4 * 3 * 81), bias: new Float32Array(4) } }));
  return net;
}
${tail}`;
const report = `try { define(); } catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, layer: error.layer, callSite: error.callSite, message: error.message }));
}
`;
const expectUserLine = (stdout: string, file: string) => {
  const error = JSON.parse(stdout.trim().split("\n").at(-1)!) as { name: string; code: string; layer: string; callSite: string; message: string };
  expect(error).toMatchObject({ name: "NetworkError", code: "network", layer: "c", callSite: `${file}:5:20` });
  expect(error.message).toMatch(new RegExp(`\\(${file.replace(".", "\\.")}:5:20\\)$`));
};
const node = (args: string[]) => run(process.execPath, args, { cwd: consumer });

beforeAll(async () => {
  consumer = await mkdtemp(path.join(tmpdir(), "netdef-consumer-"));
  await mkdir(path.join(consumer, "node_modules"));
  await symlink(repo, path.join(consumer, "node_modules", "netdef"), "dir");
  await symlink(path.join(repo, "node_modules", "tsx"), path.join(consumer, "node_modules", "tsx"), "dir");
  await writeFile(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  await writeFile(path.join(consumer, "net.mjs"), definition(report));
  await writeFile(path.join(consumer, "net.ts"), definition(report));
  await writeFile(path.join(consumer, "define.ts"), definition(""));
  await writeFile(path.join(consumer, "net.test.mjs"), definition(`import { it } from "${path.join(repo, "node_modules", "vitest", "dist", "index.js")}";
import { writeFileSync } from "node:fs";
it("defines", () => {
  try { define(); } catch (error) { writeFileSync("vitest-error.json", JSON.stringify({ name: error.name, code: error.code, layer: error.layer, callSite: error.callSite, message: error.message })); }
});
`));
});

describe("the call site of an error is the user's line", () => {
  it("plain node, netdef from dist/", async () => {
    expectUserLine((await node(["net.mjs"])).stdout, "net.mjs");
  });

  it("node --enable-source-maps (netdef's frames mapped to its .ts sources)", async () => {
    expectUserLine((await node(["--enable-source-maps", "net.mjs"])).stdout, "net.mjs");
  });

  it("tsx, netdef from dist/ and from its sources", async () => {
    expectUserLine((await node(["--import", "tsx", "net.ts"])).stdout, "net.ts");
    expectUserLine((await node(["--import", "tsx", "--conditions", "netdef-source", "net.ts"])).stdout, "net.ts");
  });

  it("vitest", async () => {
    await node([path.join(repo, "node_modules", "vitest", "vitest.mjs"), "run", "--root", consumer, "--reporter", "dot"]);
    const { readFile } = await import("node:fs/promises");
    expectUserLine(await readFile(path.join(consumer, "vitest-error.json"), "utf8"), "net.test.mjs");
  }, 60_000);

  it("the CLI loading the user's network file", async () => {
    const failed = await node([path.join(repo, "dist", "cli", "netdef.js"), "build", "define.ts", "--weights", path.join(repo, "fixtures", "lenet.safetensors"), "-o", "n.plan"])
      .then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^netdef: NetworkError: c \(convolution\): .* \(define\.ts:5:20\)$/m);
  });
});
