#!/usr/bin/env bash
# Compiles every TensorRT-facing source against TensorRT's real public headers (object files, no link):
#   npm run check:tensorrt -- <tensorrt-include-dir> [cuda-include-dir]
# TensorRT's headers are open source (github.com/NVIDIA/TensorRT, include/); they are never committed here.
set -euo pipefail
cd "$(dirname "$0")/.."
trt="${1:?usage: npm run check:tensorrt -- <tensorrt-include-dir> [cuda-include-dir]}"
cuda="${2:-${CUDA_HOME:-/usr/local/cuda}/include}"
[ -f "$trt/NvInfer.h" ] || { echo "no NvInfer.h in $trt" >&2; exit 2; }
[ -f "$cuda/cuda_runtime_api.h" ] || { echo "no cuda_runtime_api.h in $cuda (pass the CUDA include folder as the second argument)" >&2; exit 2; }
# The version: 10.x before 10.? defines NV_TENSORRT_MAJOR… as numbers, later ones through TRT_…_ENTERPRISE.
version=$(sed -n 's/^#define \(NV_TENSORRT\|TRT\)_\(MAJOR\|MINOR\|PATCH\)\(_ENTERPRISE\)\{0,1\} \([0-9][0-9]*\).*/\4/p' "$trt/NvInferVersion.h" | head -3 | paste -sd.)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
napi="$(node -p "require('node-api-headers').include_dir")"
addon_api="$(node -p "require('node-addon-api').include_dir")"
for source in native/src/tensorrt/tensorrt_backend.cc native/src/tensorrt/tensorrt_wrap.cc native/src/addon.cc; do
  g++ -std=c++17 -Wall -Wextra -Werror -fPIC -c "$source" -o "$out/$(basename "$source").o" \
    -Inative/src -isystem "$trt" -isystem "$cuda" -isystem "$napi" -isystem "$addon_api" \
    -DNETDEF_WITH_TENSORRT -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED
done
echo "TensorRT ${version:-?} headers ($trt): every TensorRT-facing source compiles clean"
