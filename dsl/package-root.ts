import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The netdef package's folder, found from this file whether it runs from the sources or from dist/. */
export const packageRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) || (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string }).name !== "netdef") {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("netdef: cannot find the package's own package.json");
    dir = parent;
  }
  return dir;
})();

export const packageVersion: string = (JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
