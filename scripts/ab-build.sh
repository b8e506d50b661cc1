#!/usr/bin/env bash
# Builds the native addon of another commit, for timing two builds against each other in alternating processes
# (on a noisy machine the only comparison that rises above the noise):
#   npm run ab:build -- <commit>
#   NETDEF_NATIVE_ADDON=native/build-ab/Release/netdef_native.node npm run bench -- resnet18   # that commit's kernels
#   npm run bench -- resnet18                                                                 # the working tree's
# The TypeScript side stays the working tree's: compare builds whose plan format is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
commit="${1:?usage: npm run ab:build -- <commit>}"
tree="$(mktemp -d)"
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; git worktree prune' EXIT
git worktree add --detach "$tree" "$commit" >/dev/null
ln -s "$PWD/node_modules" "$tree/node_modules"
npx cmake-js compile --directory "$tree/native" --out "$PWD/native/build-ab" --log-level warn
echo "built $(git rev-parse --short "$commit") into native/build-ab/Release/netdef_native.node"
