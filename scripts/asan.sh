#!/usr/bin/env bash
# Builds the addon with AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer, runs the engine tests against
# it, then a campaign of structure-aware plan mutants: any out-of-bounds access, use-after-free, undefined behaviour
# or leak in native code fails the run. The engine, oracle builder, INT8-kernel and reduced-precision tests between
# them run every kernel, tactic and storage; the TensorRT tests run the lowering over the recording and reference
# networks; the robustness tests and the campaign feed the reader hostile plans.
#   npm run test:asan [-- <plan mutants per network, default 300>]
set -euo pipefail
cd "$(dirname "$0")/.."
mutants="${1:-300}"
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
npx cmake-js compile --directory native --out native/build-asan --log-level warn \
  --CDCMAKE_BUILD_TYPE=RelWithDebInfo --CDCMAKE_CXX_FLAGS="$flags" --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
export NETDEF_NATIVE_ADDON="$PWD/native/build-asan/Release/netdef_native.node"
[ -f "$NETDEF_NATIVE_ADDON" ] || NETDEF_NATIVE_ADDON="$PWD/native/build-asan/RelWithDebInfo/netdef_native.node"
# Node itself is not instrumented: preload the runtimes. Reports go to files, one per process, that
# scripts/sanitizer-report.ts reads at the end: Node, V8 and onnxruntime exit without freeing what they allocated, so
# LeakSanitizer reports their allocations in every process; only leaks allocated through the addon fail the run (the
# report counts the others). The exit code stays 0 on leaks so that the test runner's workers end normally.
logs="$(mktemp -d)"
export LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=1:exitcode=0:abort_on_error=1:quarantine_size_mb=8:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1"
status=0
npx vitest run test/engine test/onnx test/builder test/tensorrt test/precision/int8-kernels.test.ts test/precision/reduced-float.test.ts || status=1
npx tsx --conditions=netdef-source scripts/fuzz-plans.ts "$mutants" 1 "$mutants" || status=1
unset LD_PRELOAD ASAN_OPTIONS
npx tsx scripts/sanitizer-report.ts "$logs" "$(basename "$NETDEF_NATIVE_ADDON")" || status=1
exit $status
