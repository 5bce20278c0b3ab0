#!/usr/bin/env bash
# Builds opusrt and runs every test (ctest). Installs what is missing first (scripts/bootstrap.sh).
#   scripts/test.sh            Release build in build/
#   OPUSRT_SANITIZE=1 scripts/test.sh   ASan + UBSan build in build-sanitize/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh

if [ "${OPUSRT_SANITIZE:-0}" = "1" ]; then
  BUILD="${OPUSRT_BUILD_DIR:-build-sanitize}"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPUSRT_SANITIZE=ON
  # ONNX Runtime itself is not instrumented; leaks it keeps for the process lifetime are not ours.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
else
  BUILD="${OPUSRT_BUILD_DIR:-build}"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" -j"$(nproc)" --output-on-failure
