#!/usr/bin/env bash
# ctest c_api_c_test_coverage: every function include/opusrt/opusrt.h declares is called by the
# C test (tests/c_api/c_api_c_test.c), so a new C API function cannot land without a C test.
#   c_test_coverage.sh HEADER C_TEST
set -euo pipefail
header="$1" test="$2"
declared="$(sed -n 's/^OPUSRT_C_API .*[ *]\(opusrt_[a-z_]*\)(.*/\1/p' "$header")"
[ "$(echo "$declared" | wc -l)" -ge 40 ] || { echo "FAIL: could not read the declarations of $header" >&2; exit 1; }
missing=0
for f in $declared; do
  grep -qE "\b$f\(" "$test" || { echo "FAIL: $f has no call in $test" >&2; missing=1; }
done
[ "$missing" -eq 0 ] && echo "c_api_c_test_coverage: $(echo "$declared" | wc -l) functions, all called"
