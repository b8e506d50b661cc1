// Building the addon from source (scripts/build-addon.mjs) and where the loader looks for it (#31 item 3). The
// tarball itself, installed in a consumer project: npm run test:package.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { addonCandidates } from "../../native/addon.js";

type Plan = { action: "source" | "none"; missing?: string[]; tensorrt?: string };
type PlanOptions = { env?: Record<string, string>; argv?: string[]; resolve?: (m: string) => string };
const { buildPlan } = (await import(path.resolve("scripts/build-addon.mjs"))) as { buildPlan: (o: PlanOptions) => Plan };
const tools = (m: string) => m;
const noTools = (m: string): string => { throw new Error(`no ${m}`); };

describe("building the addon from source", () => {
  it("compiles where the build packages are, with TensorRT where asked (flag or environment)", () => {
    expect(buildPlan({ env: {}, argv: [], resolve: tools })).toEqual({ action: "source", tensorrt: undefined });
    expect(buildPlan({ env: {}, argv: ["--tensorrt", "/opt/TensorRT"], resolve: tools })).toEqual({ action: "source", tensorrt: "/opt/TensorRT" });
    expect(buildPlan({ env: { NETDEF_TENSORRT: "/opt/trt" }, argv: [], resolve: tools })).toEqual({ action: "source", tensorrt: "/opt/trt" });
  });
  it("names the build packages that are missing", () => {
    expect(buildPlan({ env: {}, argv: [], resolve: noTools })).toEqual({ action: "none", missing: ["cmake-js", "node-addon-api", "node-api-headers"], tensorrt: undefined });
  });
});

describe("where the addon is looked for", () => {
  it("NETDEF_NATIVE_ADDON alone; else the source build, then the platform's prebuild", () => {
    expect(addonCandidates("/pkg", { NETDEF_NATIVE_ADDON: "/elsewhere/a.node" }, "linux-x64")).toEqual(["/elsewhere/a.node"]);
    expect(addonCandidates("/pkg", {}, "linux-arm64")).toEqual(["/pkg/native/build/Release/netdef_native.node", "/pkg/prebuilds/linux-arm64/netdef_native.node"]);
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
