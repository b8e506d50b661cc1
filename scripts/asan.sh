#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer and runs the engine tests against it:
# any out-of-bounds access, use-after-free or undefined behaviour in native code fails the run. The engine, oracle
# builder, INT8-kernel and reduced-precision tests between them run every kernel, tactic and storage; the TensorRT
# tests run the lowering over the recording and reference networks.
#   npm run test:asan
set -euo pipefail
cd "$(dirname "$0")/.."
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
npx cmake-js compile --directory native --out native/build-asan --log-level warn \
  --CDCMAKE_BUILD_TYPE=RelWithDebInfo --CDCMAKE_CXX_FLAGS="$flags" --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
export NETDEF_NATIVE_ADDON="$PWD/native/build-asan/Release/netdef_native.node"
[ -f "$NETDEF_NATIVE_ADDON" ] || NETDEF_NATIVE_ADDON="$PWD/native/build-asan/RelWithDebInfo/netdef_native.node"
# Node itself is not instrumented: preload the runtimes, and leave leak checking to the RSS test (a small
# quarantine keeps that test meaningful under ASan; V8 keeps
# allocations alive past exit that LeakSanitizer would report).
export LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:quarantine_size_mb=8"
npx vitest run test/engine test/onnx test/builder test/tensorrt test/precision/int8-kernels.test.ts test/precision/reduced-float.test.ts
