#!/usr/bin/env bash
# npm run test:arm64: the engine for aarch64, checked under emulation rather than assumed (correctness only: speed
# under qemu says nothing of arm64's). Cross-builds the engine library, its unit tests and netdef_run_plan with
# Debian's g++-aarch64-linux-gnu into native/build-arm64, runs the unit tests under qemu-aarch64, then the fixture
# models (scripts/arm64-models.ts: plans built by x64 Node, run by the arm64 engine). The Node addon for arm64 is the
# same engine library behind node-addon-api (the prebuild); Node itself is not run under emulation here.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" > /dev/null || { echo "arm64 check: no $tool (Debian: apt install g++-aarch64-linux-gnu qemu-user)" >&2; exit 2; }
done
cmake -S native -B native/build-arm64 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ > /dev/null
cmake --build native/build-arm64 --target netdef_unit_tests netdef_run_plan
echo "== the engine's unit tests on arm64 (qemu-aarch64)"
qemu-aarch64 -L /usr/aarch64-linux-gnu native/build-arm64/netdef_unit_tests
echo "== the fixture models on arm64 (qemu-aarch64)"
npx tsx --conditions=netdef-source scripts/arm64-models.ts native/build-arm64/netdef_run_plan
