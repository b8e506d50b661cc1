// Building the addon from source (scripts/build-addon.mjs) and where the loader looks for it (#31 item 3). The
// tarball itself, installed in a consumer project: npm run test:package.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { addonCandidates } from "../../native/addon.js";

type Plan = { action: "source" | "none"; missing?: string[]; tensorrt?: string; out: string };
type PlanOptions = { env?: Record<string, string>; argv?: string[]; resolve?: (m: string) => string; checkout?: boolean; version?: string; platform?: string };
const { buildPlan } = (await import(path.resolve("scripts/build-addon.mjs"))) as { buildPlan: (o: PlanOptions) => Plan };
const tools = (m: string) => m;
const noTools = (m: string): string => { throw new Error(`no ${m}`); };

describe("building the addon from source", () => {
  const user = { env: { HOME: "/home/u" }, argv: [], checkout: false, version: "0.1.0", platform: "linux-arm64" };
  it("compiles where the build packages are, with TensorRT where asked (flag or environment)", () => {
    expect(buildPlan({ ...user, resolve: tools })).toEqual({ action: "source", tensorrt: undefined, out: "/home/u/.cache/netdef/0.1.0/linux-arm64" });
    expect(buildPlan({ ...user, argv: ["--tensorrt", "/opt/TensorRT"], resolve: tools })).toMatchObject({ action: "source", tensorrt: "/opt/TensorRT" });
    expect(buildPlan({ ...user, env: { NETDEF_TENSORRT: "/opt/trt", XDG_CACHE_HOME: "/c" }, resolve: tools })).toEqual({ action: "source", tensorrt: "/opt/trt", out: "/c/netdef/0.1.0/linux-arm64" });
  });
  it("builds a checkout into native/build, a user's copy outside node_modules (a reinstall keeps it)", () => {
    expect(buildPlan({ ...user, checkout: true, resolve: tools }).out).toBe(path.resolve("native/build"));
  });
  it("names the build packages that are missing", () => {
    expect(buildPlan({ ...user, resolve: noTools })).toMatchObject({ action: "none", missing: ["cmake-js", "node-addon-api", "node-api-headers"] });
  });
});

describe("where the addon is looked for", () => {
  it("NETDEF_NATIVE_ADDON alone; else a checkout's build, the user's build of this version, the platform's prebuild", () => {
    expect(addonCandidates("/pkg", { NETDEF_NATIVE_ADDON: "/elsewhere/a.node" }, "linux-x64")).toEqual(["/elsewhere/a.node"]);
    expect(addonCandidates("/pkg", { HOME: "/home/u" }, "linux-arm64", "0.1.0")).toEqual([
      "/pkg/native/build/Release/netdef_native.node", "/home/u/.cache/netdef/0.1.0/linux-arm64/Release/netdef_native.node", "/pkg/prebuilds/linux-arm64/netdef_native.node",
    ]);
  });
  it("with none there, definitions work and the first native call is an AddonUnavailableError saying how to build", async () => {
    const code = `
      const { AddonUnavailableError, buildEngine, exportOnnx, Network } = await import("netdef");
      const net = new Network("n");
      net.markOutput(net.addInput("x", "float32", [1, 4]).addActivation("r", { type: "relu" }));
      const onnx = await exportOnnx(net);
      try { await buildEngine(net); console.log("built"); }
      catch (e) { console.log(e instanceof AddonUnavailableError, onnx.length > 0, e.message); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, NETDEF_NATIVE_ADDON: "/nowhere/netdef_native.node" } });
    expect(stdout).toMatch(/^true true netdef's native addon is not here .* node node_modules\/netdef\/scripts\/build-addon\.mjs/);
  });
});
