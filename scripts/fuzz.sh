#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang + ASan + UBSan in build-fuzz/ and runs each one for
# OPUSRT_FUZZ_SECONDS (default 60), one after the other, on a copy of its seed corpus
# (fuzz/corpus/<target>/; what the fuzzer adds stays in build-fuzz/fuzz-runs/, the repository is
# not written). Exits non-zero when a target crashes (a sanitizer report, an uncaught exception, a
# broken invariant, a timeout or running out of memory); the reproducer is left next to the log,
# in build-fuzz/fuzz-runs/<target>/, and replays with `build-fuzz/fuzz/fuzz_<target> FILE`.
#   scripts/fuzz.sh                              every target
#   OPUSRT_FUZZ_SECONDS=600 scripts/fuzz.sh config   one target (tokenizer, config, server_request, html)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh

BUILD="$ROOT/build-fuzz"
FUZZ_SECONDS="${OPUSRT_FUZZ_SECONDS:-60}"
PY="${OPUSRT_PYTHON:-/usr/bin/python3}"
ALL_TARGETS=(tokenizer config server_request html)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for target in "${TARGETS[@]}"; do
  if [ ! -d "fuzz/corpus/$target" ]; then
    echo "fuzz: unknown target '$target' (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DOPUSRT_FUZZ=ON -DOPUSRT_BUILD_TESTS=OFF
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]/#/fuzz_}"

# The tokenizer target reads a model directory: the tiny fixture's tokenizer files (no weights needed).
"$PY" scripts/fixtures/make_fixture.py --preset tiny --seed 7 --no-weights --out "$BUILD/fixtures/tiny" >/dev/null
export OPUSRT_FUZZ_MODEL="$BUILD/fixtures/tiny"
# Leak checking stays on: the targets never load ONNX Runtime.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=()
summary=()
for target in "${TARGETS[@]}"; do
  run="$BUILD/fuzz-runs/$target"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/tmp"
  cp fuzz/corpus/"$target"/* "$run/corpus/"
  seeds=$(ls "$run/corpus" | wc -l)
  echo "fuzz: $target for ${FUZZ_SECONDS} s (seed corpus: $seeds inputs; log: $run/fuzz.log)"
  status=0
  TMPDIR="$run/tmp" "$BUILD/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$run/" "$run/corpus" >"$run/fuzz.log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/fuzz.log" | tail -n 1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$run/fuzz.log" | tail -n 1)
  corpus=$(ls "$run/corpus" | wc -l)
  if [ "$status" -eq 0 ] && [ -n "$secs" ]; then
    summary+=("fuzz: $target: ok, ${execs:-?} execs in ${secs} s ($(( ${execs:-0} / (secs > 0 ? secs : 1) )) exec/s), corpus $seeds -> $corpus inputs")
  else
    tail -n 60 "$run/fuzz.log" >&2
    artifacts=$(ls "$run" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | tr '\n' ' ' | sed 's/ $//' || true)
    summary+=("fuzz: $target: FAILED (exit $status, ${execs:-?} execs); reproducer: ${artifacts:-none} in $run/")
    failed+=("$target")
  fi
done

printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
