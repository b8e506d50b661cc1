// prepack / postpack: the tarball's package.json without the scripts npm runs on install (prepare here, which builds
// netdef's own checkout), so that a consumer's install runs no script of netdef's at all — nothing for
// --strict-allow-scripts to refuse or warn of; the addon comes prebuilt. `strip` keeps the original beside it,
// `restore` puts it back.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const [manifest, backup] = ["package.json", "package.json.pack-backup"];
const INSTALL_TIME = ["preinstall", "install", "postinstall", "prepare"];

if (process.argv[2] === "strip") {
  const original = readFileSync(manifest, "utf8");
  writeFileSync(backup, original);
  const json = JSON.parse(original);
  for (const script of INSTALL_TIME) delete json.scripts[script];
  writeFileSync(manifest, `${JSON.stringify(json, null, 2)}\n`);
} else if (process.argv[2] === "restore") {
  if (existsSync(backup)) renameSync(backup, manifest);
} else {
  console.error("usage: node scripts/pack-manifest.mjs strip|restore");
  process.exit(2);
}
