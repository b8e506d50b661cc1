// Builds the native addon from source with cmake-js. netdef's own checkout runs it as part of `prepare` (npm ci),
// into native/build; a consumer runs it where no prebuild fits the platform, or for the TensorRT backend, into
// $XDG_CACHE_HOME (or ~/.cache)/netdef/<version>/<platform>-<arch>, which the loader prefers to the prebuild and
// which a reinstall of the same version keeps:
//   node node_modules/netdef/scripts/build-addon.mjs [--tensorrt /path/to/TensorRT]   (or NETDEF_TENSORRT=…)
// It needs a C++17 compiler, CMake and the build packages (npm install --save-dev cmake-js node-addon-api
// node-api-headers). Under `prepare` a missing tool is a notice, not a failure: the JS side works without the addon.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
export const BUILD_PACKAGES = ["cmake-js", "node-addon-api", "node-api-headers"];

/**
 * What to do: "source" (compile into `out`, with TensorRT's folder where asked) or "none" (the build packages
 * missing). `out`: native/build in a checkout, else the user's cache folder for this version and platform.
 */
export function buildPlan({ env = process.env, argv = process.argv.slice(2), resolve = (m) => require.resolve(m), checkout = existsSync(path.join(root, ".git")),
  version = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version, platform = `${process.platform}-${process.arch}` } = {}) {
  const flag = argv.indexOf("--tensorrt");
  const tensorrt = (flag >= 0 ? argv[flag + 1] : undefined) || env.NETDEF_TENSORRT || undefined;
  const out = checkout ? path.join(root, "native/build") : path.join(env.XDG_CACHE_HOME || path.join(env.HOME ?? os.homedir(), ".cache"), "netdef", version, platform);
  const missing = BUILD_PACKAGES.filter((m) => { try { resolve(m === "cmake-js" ? "cmake-js/package.json" : m); return false; } catch { return true; } });
  return missing.length ? { action: "none", missing, tensorrt, out } : { action: "source", tensorrt, out };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = buildPlan();
  const lenient = process.env.npm_lifecycle_event === "prepare" && !plan.tensorrt;
  if (plan.action === "none") {
    console.error(`netdef: the native addon is not built: ${plan.missing.join(", ")} missing (npm install --save-dev ${BUILD_PACKAGES.join(" ")}, with a C++17 compiler and CMake)`);
    process.exit(lenient ? 0 : 1);
  }
  const args = [require.resolve("cmake-js/bin/cmake-js"), "compile", "--directory", "native", "--out", plan.out, "--log-level", "warn"];
  if (plan.tensorrt) args.push("--CDNETDEF_WITH_TENSORRT=ON", `--CDTENSORRT_ROOT=${plan.tensorrt}`);
  // Node's own headers, as npm gives cmake-js (npm_config_nodedir): run outside npm, cmake-js would download them.
  const nodedir = process.env.npm_config_nodedir || path.resolve(process.execPath, "../..");
  const built = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env: { ...process.env, npm_config_nodedir: nodedir } });
  if (built.status !== 0) {
    console.error("netdef: the native addon did not build (see above); networks, ONNX export and inspection work without it");
    process.exit(lenient ? 0 : built.status ?? 1);
  }
  // A checkout's build is also its platform's prebuild: a git dependency is packed after prepare without prepack,
  // and `files` ships prebuilds/, not native/build (npm pack's prepack builds every platform's afresh).
  if (!plan.tensorrt && existsSync(path.join(root, ".git"))) {
    const prebuild = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
    mkdirSync(prebuild, { recursive: true });
    copyFileSync(path.join(plan.out, "Release", "netdef_native.node"), path.join(prebuild, "netdef_native.node"));
  }
}
