#!/usr/bin/env bash
# npm run test:package: the package as a consumer installs it (minutes: `npm pack` builds the prebuilds).
#  1. npm pack: the tarball's size and files (no fixtures, tests or bench).
#  2. A fresh project installs it — timed, with no warning printed and no install script run — with CMake and the
#     compilers out of PATH, and runs LeNet through the CLI from a JavaScript network file (the prebuild).
#  3. A tarball without prebuilds installs there too, and defines and exports networks; the first native call says
#     how to build the addon. The repository's package.json is the same after packing (postpack restores it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp package.json "$work/package.json.before"
# A consumer's shell: a clean environment (no npm_config_* of this repository), and only node, npm and sh on PATH —
# no cmake, make, g++ or cc.
mkdir "$work/bin"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
# A HOME of its own (no user build of the addon in ~/.cache), npm's cache kept.
mkdir "$work/home"
bare() { env -i HOME="$work/home" npm_config_cache="$HOME/.npm" PATH="$work/bin" "$@"; }

pack() {  # <folder> → the tarball's path; NETDEF_PREBUILD_ARCHES as given
  mkdir -p "$1"
  npm pack --silent --pack-destination "$1" > /dev/null
  ls "$1"/netdef-*.tgz
}
consumer() {  # <folder> <tarball> → installs it there with the bare PATH, prints the seconds it took
  mkdir -p "$1"
  printf '{ "name": "consumer", "version": "1.0.0", "private": true, "type": "module" }\n' > "$1/package.json"
  local started
  started=$(node -p "Date.now()")
  (cd "$1" && bare npm install --no-audit --no-fund "$2" > install.log 2>&1) || { cat "$1/install.log" >&2; exit 1; }
  node -p "((Date.now() - $started) / 1000).toFixed(1)"
}

echo "== packing with prebuilds (linux-x64, linux-arm64)"
tarball=$(pack "$work/with")
files=$(tar tzf "$tarball" | wc -l)
echo "tarball: $(du -k "$tarball" | cut -f1) KiB, $files files; prebuilds: $(tar tzf "$tarball" | grep '/prebuilds/.*\.node$' | tr '\n' ' ')"
if tar tzf "$tarball" | grep -E '^package/(fixtures|test|bench|examples|docs)/'; then echo "FAIL: fixtures, tests, bench, examples or docs in the tarball"; exit 1; fi
seconds=$(consumer "$work/app" "$tarball")
echo "install with the prebuild, no compiler or CMake on PATH: ${seconds} s"
if grep -i "warn" "$work/app/install.log"; then echo "FAIL: the install printed warnings"; exit 1; fi
awk -v s="$seconds" 'BEGIN { exit !(s < 30) }' || { echo "FAIL: install took ${seconds} s (limit 30)"; exit 1; }
cp scripts/package-check/lenet.mjs "$work/app/"
(cd "$work/app" && bare npx netdef build lenet.mjs --weights "$repo/fixtures/lenet.safetensors" --shapes data:8x1x28x28 -o lenet.plan \
  && bare npx netdef run lenet.plan --loadInputs "data:$repo/fixtures/digits.npy" | tee run.log \
  && bare npx netdef view lenet.plan -o lenet.html)
grep -q "^prob float32 \[8,10\]" "$work/app/run.log" || { echo "FAIL: LeNet did not run"; exit 1; }
grep -q 'data-layer="conv1"' "$work/app/lenet.html" || { echo "FAIL: netdef view drew no conv1"; exit 1; }

echo "== packing without prebuilds"
tarball=$(NETDEF_PREBUILD_ARCHES="" pack "$work/without")
seconds=$(consumer "$work/bare" "$tarball")
echo "install without a prebuild or toolchain: ${seconds} s"
if grep -i "warn" "$work/bare/install.log"; then echo "FAIL: the install printed warnings"; exit 1; fi
cp scripts/package-check/lenet.mjs scripts/package-check/without-addon.mjs "$work/bare/"
(cd "$work/bare" && bare node without-addon.mjs)
cmp -s package.json "$work/package.json.before" || { echo "FAIL: packing changed package.json"; exit 1; }
[ ! -e package.json.pack-backup ] || { echo "FAIL: package.json.pack-backup left behind"; exit 1; }
grep -q '"prepare"' "$work/app/node_modules/netdef/package.json" && { echo "FAIL: the packed package.json keeps prepare"; exit 1; }
# The repository's prebuilds are those of the last pack: rebuild them with `npm pack` where wanted.
rm -rf "$repo/prebuilds"
echo "package check passed"
