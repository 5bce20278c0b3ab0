#!/usr/bin/env bash
# The live-streams benchmark driver works end to end on the tiny model: two levels run, every
# message is answered or counted as skipped, no errors. (No timing is checked: the bound is
# set out of reach; the numbers are for scripts/bench.sh on a quiet machine.)
#   live_streams_bench_check.sh CLI MODEL_DIR BUILD_DIR
set -euo pipefail
cli="$1" model="$2" build="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$build/live_streams_check"
mkdir -p "$work"
printf 'Open the file before you save it.\nWhere is the nearest train station?\n' > "$work/sentences.txt"
THREADS=1 bash "$root/bench/live_streams/run.sh" "$cli" "$model" "$work/sentences.txt" "$work/out.json" \
  --streams 1,3 --seconds 3 --p95-ms 1000000 > /dev/null
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const fail = (m) => { console.error("FAIL: " + m + "\n" + JSON.stringify(r, null, 2)); process.exit(1); };
if (r.levels.length !== 2 || r.max_streams_held !== 3) fail("expected levels 1 and 3, both held");
for (const l of r.levels) {
  if (l.errors !== 0) fail("errors");
  if (l.messages < 6 * l.streams) fail("too few messages");
  if (l.updates + l.skipped !== l.messages) fail("messages neither answered nor skipped");
  if (!(l.latency_ms_p95 > 0 && l.latency_ms_p95 <= l.latency_ms_max)) fail("latency fields");
}
console.log("ok: " + r.levels.map((l) => l.streams + " streams, " + l.updates + " updates").join("; "));
' "$work/out.json"
