#!/usr/bin/env bash
# ctest c_api_example: examples/c/translate.c (linked against libopusrt.so in the build tree)
# translates exactly like the CLI, and reports errors with the status and opusrt_last_error().
#   c_example_test.sh EXAMPLE CLI MODEL_DIR
set -euo pipefail
example="$1" cli="$2" model="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sentences="$here/../../scripts/fixtures/test_sentences.txt"
work="$(mktemp -d "${TMPDIR:-/tmp}/opusrt-c-example.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# 20 sentences (a batch of 16 and one of 4) with an empty line inside.
{ head -n 10 "$sentences"; echo; sed -n 11,20p "$sentences"; } > "$work/input.txt"
"$example" "$model" --max-new-tokens 12 --beams 1 < "$work/input.txt" > "$work/example.out" 2> "$work/example.err" ||
  fail "the example failed: $(cat "$work/example.err")"
"$cli" translate --model "$model" --max-new-tokens 12 --beams 1 < "$work/input.txt" > "$work/cli.out"
[ "$(wc -l < "$work/example.out")" -eq 21 ] || fail "expected 21 output lines, got $(wc -l < "$work/example.out")"
diff "$work/cli.out" "$work/example.out" > "$work/diff.txt" || fail "the example and the CLI differ: $(cat "$work/diff.txt")"
[ "$(grep -c . "$work/example.out")" -ge 10 ] || fail "most translations are empty: $(cat "$work/example.out")"

# Texts as arguments: one batch.
"$example" "$model" --max-new-tokens 12 --beams 1 "$(sed -n 1p "$sentences")" "$(sed -n 2p "$sentences")" > "$work/args.out"
diff <(head -n 2 "$work/cli.out") "$work/args.out" || fail "texts given as arguments translate differently"

# Errors: non-zero exit, one line naming the status and the cause.
expect_error() {  # expect_error STATUS PATTERN COMMAND...
  local status="$1" pattern="$2"
  shift 2
  if "$@" > "$work/err.out" 2> "$work/err.txt" < "${INPUT:-/dev/null}"; then fail "expected $status from: $*"; fi
  grep -q -- "$status" "$work/err.txt" || fail "expected $status, got: $(cat "$work/err.txt")"
  grep -q -- "$pattern" "$work/err.txt" || fail "expected '$pattern' in: $(cat "$work/err.txt")"
}
expect_error OPUSRT_ERROR_MODEL "/nonexistent/model" "$example" /nonexistent/model "Hello"
expect_error OPUSRT_ERROR_INVALID_ARGUMENT "max_new_tokens must be >= 1" "$example" "$model" --max-new-tokens -3 "Hello"
expect_error OPUSRT_ERROR_TRANSLATE ">>cmn_Hans<<" "$example" "$model" --target-lang xx_Nope "Hello"
printf 'Hello\nbad \xff byte\n' > "$work/bad.txt"
INPUT="$work/bad.txt" expect_error OPUSRT_ERROR_INVALID_INPUT "texts\[1\]: invalid UTF-8 at byte 4" "$example" "$model" --max-new-tokens 4
# ... and fails alone: the good line is translated, the bad one is an empty line.
"$cli" translate --model "$model" --max-new-tokens 4 --beams 1 <<< "Hello" > "$work/hello.out"
diff <(cat "$work/hello.out"; echo) "$work/err.out" || fail "a bad text stopped the others: $(cat "$work/err.out")"
echo "c_api_example: ok"
