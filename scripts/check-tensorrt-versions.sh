#!/usr/bin/env bash
# The header check on every TensorRT version in a folder (one subfolder per version, each holding TensorRT's
# include/, fetched from github.com/NVIDIA/TensorRT's release branches and never committed):
#   npm run check:tensorrt:versions -- <folder> [cuda-include-dir]
# e.g. for v in 10.0 10.8 10.13 10.14 10.15 10.16 11.0 11.1; do
#        mkdir -p trt/$v && git --git-dir=<TensorRT clone>/.git archive release/$v include | tar x -C trt/$v; done
set -uo pipefail
cd "$(dirname "$0")/.."
root="${1:?usage: npm run check:tensorrt:versions -- <folder of TensorRT versions> [cuda-include-dir]}"
failed=0
for dir in $(ls -d "$root"/*/ | sort -V); do
  if ! bash scripts/check-tensorrt.sh "${dir%/}/include" ${2:+"$2"}; then
    echo "TensorRT headers in ${dir%/}: FAILED" >&2
    failed=1
  fi
done
exit $failed
