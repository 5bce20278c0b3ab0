#!/usr/bin/env bash
# Two builds of opusrt against each other in interleaved rounds (A B, B A, A B, ...) on the same
# model: live-speech replay (`opusrt stream --metrics`: compute ratios, ms per update) and greedy
# tokens/s at batch 1 and 8 (`opusrt bench --greedy-only`). The machine's speed drifts by tens of
# percent within minutes, so each round compares the two runs next to each other; the summary is
# the median of the per-round ratios B / A, with min and max.
#
#   bench/ab_binaries/run.sh OLD_OPUSRT NEW_OPUSRT MODEL_DIR REPLAY_TEXT OUT.json [ROUNDS]
#
# e.g. keep a copy of build/tools/opusrt/opusrt (statically linked to opusrt; it needs only
# ONNX Runtime) before a change, rebuild, then
#   bench/ab_binaries/run.sh /tmp/opusrt-before build/tools/opusrt/opusrt \
#     build/models/opus-mt-en-zh build/bench/stream_replay.txt build/bench/ab.json
# (scripts/bench.sh makes that model and replay file). THREADS (default 2) and MAX_NEW_TOKENS
# (default 32, the cap of a final) as in scripts/bench.sh. Nothing else should run meanwhile.
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
A="$1"; B="$2"; MODEL="$3"; REPLAY="$4"; OUT="$5"; ROUNDS="${6:-3}"
THREADS="${THREADS:-2}"
MAX_NEW_TOKENS="${MAX_NEW_TOKENS:-32}"
for f in "$A" "$B"; do [ -x "$f" ] || { echo "ab_binaries: $f is not an executable" >&2; exit 2; }; done
[ -f "$MODEL/config.json" ] || { echo "ab_binaries: $MODEL has no config.json" >&2; exit 2; }
[ -f "$REPLAY" ] || { echo "ab_binaries: no replay text $REPLAY" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for round in $(seq 1 "$ROUNDS"); do
  order="a b"; [ $((round % 2)) = 0 ] && order="b a"
  for side in $order; do
    bin="$A"; [ "$side" = b ] && bin="$B"
    echo "ab_binaries: round $round/$ROUNDS, $side ($bin)" >&2
    "$bin" stream --model "$MODEL" --threads "$THREADS" --replay-words "$REPLAY" \
      --max-new-tokens "$MAX_NEW_TOKENS" --metrics "$WORK/stream_${side}_$round.json" > /dev/null
    "$bin" bench --model "$MODEL" --threads "$THREADS" --greedy-only --runs 3 \
      --json "$WORK/bench_${side}_$round.json" > /dev/null
  done
done

/usr/bin/python3 - "$WORK" "$ROUNDS" "$OUT" "$A" "$B" "$MODEL" "$THREADS" <<'PY'
import json, statistics, sys
work, rounds, out, a, b, model, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
load = lambda name: json.load(open("%s/%s.json" % (work, name)))
def figures(side, r):
    s, g = load("stream_%s_%d" % (side, r)), load("bench_%s_%d" % (side, r))["greedy"]
    f = {"compute_ratio": s["compute_ratio"], "ms_per_update_median": s["ms_per_update"]["median"],
         "ms_per_update_p95": s["ms_per_update"]["p95"], "finals_equal_offline": s["finals_equal_offline"],
         "segments": s["segments"]}
    if "compute_ratio_partials" in s:
        f["compute_ratio_partials"] = s["compute_ratio_partials"]
    for batch, v in g.items():
        f["greedy_tokens_per_s_" + batch] = v["tokens_per_s"]
    return f
per_round = [{"a": figures("a", r), "b": figures("b", r)} for r in range(1, rounds + 1)]
ratios = {}
for key in per_round[0]["b"]:
    if key in ("finals_equal_offline", "segments") or key not in per_round[0]["a"]:
        continue
    values = [p["b"][key] / p["a"][key] for p in per_round if p["a"][key]]
    if values:
        ratios[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
report = {"a": a, "b": b, "model": model, "threads": int(threads), "rounds": rounds,
          "b_over_a": ratios, "per_round": per_round}
json.dump(report, open(out, "w"), indent=2)
for key, v in ratios.items():
    print("%-32s B/A %.3f (min %.3f, max %.3f)" % (key, v["median"], v["min"], v["max"]))
PY
