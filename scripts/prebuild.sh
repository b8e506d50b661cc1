#!/usr/bin/env bash
# prepack: the TypeScript compiled and the addon prebuilt into prebuilds/<platform>-<arch>/ for linux-x64 and
# linux-arm64 (cross-compiled with Debian's g++-aarch64-linux-gnu), which the install script uses where they fit.
# Never committed (.gitignore). NETDEF_PREBUILD_ARCHES chooses the architectures (default "x64 arm64"; "" for none).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf prebuilds
prebuild() {  # <arch> [cmake-js flags…]
  local arch=$1
  shift
  echo "prebuild: linux-$arch" >&2
  npx cmake-js compile --directory native --out "native/build-prebuild/$arch" --log-level warn "$@"
  mkdir -p "prebuilds/linux-$arch"
  cp "native/build-prebuild/$arch/Release/netdef_native.node" "prebuilds/linux-$arch/"
}
for arch in ${NETDEF_PREBUILD_ARCHES-x64 arm64}; do
  case "$arch" in
    x64)
      # The checkout's own build where it has no TensorRT (a git install's prepare just made it): not compiled twice.
      if [ "$(uname -m)" = x86_64 ] && grep -q "NETDEF_WITH_TENSORRT:BOOL=OFF" native/build/CMakeCache.txt 2> /dev/null; then
        npx cmake-js compile --directory native --out native/build --log-level warn
        mkdir -p prebuilds/linux-x64
        cp native/build/Release/netdef_native.node prebuilds/linux-x64/
      else
        prebuild x64
      fi ;;
    arm64)
      if ! command -v aarch64-linux-gnu-g++ > /dev/null; then
        echo "prebuild: no aarch64-linux-gnu-g++ (Debian: apt install g++-aarch64-linux-gnu), so no linux-arm64 prebuild" >&2
        continue
      fi
      prebuild arm64 --arch arm64 --CDCMAKE_SYSTEM_NAME=Linux --CDCMAKE_SYSTEM_PROCESSOR=aarch64 \
        --CDCMAKE_C_COMPILER=aarch64-linux-gnu-gcc --CDCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ ;;
    *) echo "prebuild: unknown architecture $arch (x64, arm64)" >&2; exit 2 ;;
  esac
done
