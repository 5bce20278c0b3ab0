#!/usr/bin/env bash
# Reproduces the README's performance table in one run on this machine:
#   1. builds opusrt (Release) and generates the opus-mt-en-zh-size model (random weights) in
#      both layouts (Optimum for opusrt, Xenova for transformers.js; the same weights),
#   2. runs transformers.js (bench/transformers_js) and `opusrt bench --greedy-only` in ROUNDS
#      interleaved rounds on the same graphs, inputs and thread count (vs_transformers_js: the
#      median of the per-round ratios, with min and max),
#   3. makes the 4- and 8-bit variants with `opusrt quantize`, prepares the graphs (`opusrt
#      prepare`), runs the full `opusrt bench` (each variant against fp32 in interleaved rounds;
#      chrF deltas from the trained model's quality gate, models/catalogs-en-zh/scores), then live
#      speech (replay and concurrent streams) and the peak RSS of translating one line (from the
#      source files and from the prepared copies).
# Output: build/bench/opusrt.json, build/bench/transformers_js.json, build/bench/stream_greedy.json,
# build/bench/live_streams.json, and a table on stdout.
#   THREADS=2 RUNS=5 ROUNDS=5 scripts/bench.sh
# Both engines see 25 source tokens (24 random ids + </s>) and exactly 64 new tokens, greedy, fp32.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
THREADS="${THREADS:-2}"
RUNS="${RUNS:-5}"
OUT="$ROOT/build/bench"
MODEL="${OPUSRT_BENCH_MODEL:-$ROOT/build/models/opus-mt-en-zh}"
MODEL_XENOVA="${MODEL}-xenova"
mkdir -p "$OUT"

bash scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opusrt_cli
OPUSRT=./build/tools/opusrt/opusrt

# A model made by an older fixture generator is made again (the stamp is the generator's hash).
STAMP="$(cat scripts/fixtures/*.py | sha256sum | cut -c1-16)"
for layout in optimum xenova; do
  dir="$MODEL"; [ "$layout" = xenova ] && dir="$MODEL_XENOVA"
  # The Optimum copy also gets the quantized and fp16 variants, which the bench compares.
  variants=(); [ "$layout" = optimum ] && variants=(--variants quantized,fp16)
  if [ ! -f "$dir/config.json" ] || [ "$(cat "$dir/.opusrt-fixture-stamp" 2>/dev/null)" != "$STAMP" ]; then
    echo "bench: generating the opus-mt-en-zh-size model ($layout layout) in $dir"
    rm -rf "$dir"
    /usr/bin/python3 scripts/fixtures/make_fixture.py --preset opus-mt-en-zh --seed 1 --layout "$layout" \
      --no-weights "${variants[@]}" --out "$dir"
    echo "$STAMP" > "$dir/.opusrt-fixture-stamp"
  fi
done
# The weight-only variants of `opusrt quantize` (4 bits in blocks of 32, and 8 bits; its default
# settings), made again on every run so they follow the quantizer's current defaults.
for bits in 4 8; do
  rm -f "$MODEL"/*_q$bits.onnx "$MODEL"/*_q$bits.onnx_data
  "$OPUSRT" quantize --model "$MODEL" --bits "$bits" > /dev/null
done
VARIANTS="${VARIANTS:-quantized,q4,q8,fp16}"
rm -rf "$MODEL/.opusrt-prepared"  # made again below, after the engine-vs-engine rounds

# Engine against engine in interleaved rounds (the machine's speed drifts by tens of percent within
# minutes, so engines run one after the other would mostly measure when each ran): round r runs
# transformers.js then opusrt, or opusrt first on even rounds, each one timed run of greedy batch 1
# and 8 on the same graphs and inputs; the ratio is the median of the per-round ratios, min and max
# beside it.
PEER=()
ROUNDS="${ROUNDS:-5}"
if [ "${SKIP_TRANSFORMERS_JS:-0}" != "1" ] && [ -f bench/transformers_js/bench.mjs ]; then
  bash bench/transformers_js/setup.sh
  mkdir -p "$OUT/rounds"
  peer_round() {
    node bench/transformers_js/bench.mjs --model "$MODEL_XENOVA" --threads "$THREADS" --runs 1 \
      --source-len 24 --new-tokens 64 --batches 1,8 --json > "$OUT/rounds/transformers_js_$1.json" 2> /dev/null
  }
  opusrt_round() {
    "$OPUSRT" bench --model "$MODEL" --threads "$THREADS" --runs 1 --greedy-only \
      --new-tokens 64 --json "$OUT/rounds/opusrt_$1.json" > /dev/null
  }
  for round in $(seq 1 "$ROUNDS"); do
    echo "bench: round $round of $ROUNDS, opusrt and transformers.js (greedy, batch 1 and 8, $THREADS threads)"
    if [ $((round % 2)) -eq 1 ]; then peer_round "$round"; opusrt_round "$round"
    else opusrt_round "$round"; peer_round "$round"; fi
  done
  cp "$OUT/rounds/transformers_js_1.json" "$OUT/transformers_js.json"
  PEER=(--peer-json "$OUT/transformers_js.json")
fi

# The prepared copies (`opusrt prepare`: weights in external data files, mapped at load) of every
# graph the full bench and the rest load; the engine-vs-engine rounds above ran without them.
"$OPUSRT" prepare --model "$MODEL" --variant "fp32,$VARIANTS" > /dev/null

# The full bench; each variant in $VARIANTS runs against fp32 in interleaved rounds
# (variants.NAME.speed_over_fp32_batch1/8: median of the per-round ratios, min and max beside it).
echo "bench: opusrt, $THREADS threads (variants $VARIANTS against fp32 in rounds)"
"$OPUSRT" bench --model "$MODEL" --threads "$THREADS" --runs "$RUNS" \
  --compare-variants "$VARIANTS" --json "$OUT/opusrt.json" "${PEER[@]}"

# Quality of each variant: chrF on the trained demo model's held-out test set minus fp32's, as
# scripts/train/publish.sh measured it with `opusrt eval` (random bench weights say nothing about
# quality). A variant the quality gate did not score keeps chrf_delta null.
/usr/bin/python3 - "$OUT/opusrt.json" models/catalogs-en-zh/scores/test.cmn_Hans.greedy.json <<'PY'
import json, os, sys
path, scores_path = sys.argv[1:]
report = json.load(open(path))
scores = json.load(open(scores_path))["variants"] if os.path.exists(scores_path) else {}
for name, variant in report.get("variants", {}).items():
    delta = scores.get(name, {}).get("chrf_minus_fp32")
    variant["chrf_delta"] = delta
    variant["chrf_delta_source"] = scores_path if delta is not None else None
    speed = "  ".join("%s %.2fx (min %.2f, max %.2f)" % (b, s["median"], s["min"], s["max"])
                      for b, s in variant.get("speed_over_fp32", {}).items())
    print("bench: variant %-9s speed over fp32 %s; chrF delta %s" % (name, speed,
          "%+.2f" % delta if delta is not None else "not measured"))
json.dump(report, open(path, "w"), indent=2)
PY

if [ -f "$OUT/rounds/opusrt_1.json" ]; then
  /usr/bin/python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
report = json.load(open(out + "/opusrt.json"))
ratios = {"batch1": [], "batch8": []}
for r in range(1, rounds + 1):
    ours = json.load(open("%s/rounds/opusrt_%d.json" % (out, r)))["greedy"]
    theirs = json.load(open("%s/rounds/transformers_js_%d.json" % (out, r)))
    for batch in ratios:
        ratios[batch].append(ours[batch]["tokens_per_s"] / theirs[batch]["tokens_per_s"])
vs = {batch: {"median": statistics.median(v), "min": min(v), "max": max(v), "rounds": len(v), "per_round": v}
      for batch, v in ratios.items()}
report["vs_transformers_js"] = vs
report.setdefault("summary", {})["vs_transformers_js"] = {b: v["median"] for b, v in vs.items()}
json.dump(report, open(out + "/opusrt.json", "w"), indent=2)
for batch, v in vs.items():
    print("bench: opusrt / transformers.js, greedy %s: %.2fx (median of %d rounds; min %.2f, max %.2f)"
          % (batch, v["median"], v["rounds"], v["min"], v["max"]))
PY
fi

echo "bench: live speech, word-by-word replay of 6 sentences (greedy, LocalAgreement-2)"
grep -v '^$' scripts/fixtures/test_sentences.txt | awk 'NF>=5' | head -6 > "$OUT/stream_replay.txt"
"$OPUSRT" stream --model "$MODEL" --threads "$THREADS" --replay-words "$OUT/stream_replay.txt" \
  --max-new-tokens 32 --metrics "$OUT/stream_greedy.json" > "$OUT/stream_greedy.jsonl"
cat "$OUT/stream_greedy.json"

# Concurrent live streams on one server: word by word at 2.5 words/s each, raised until the p95
# latency from a message to its update passes 300 ms (LIVE_STREAMS=1,2,4,... to choose levels).
echo "bench: live speech, concurrent WebSocket streams at 2.5 words/s (p95 <= 300 ms)"
THREADS="$THREADS" MAX_NEW_TOKENS=32 bash bench/live_streams/run.sh "$OPUSRT" "$MODEL" "$OUT/stream_replay.txt" \
  "$OUT/live_streams.json" --streams "${LIVE_STREAMS:-1,2,3,4,6,8}" --seconds "${LIVE_SECONDS:-30}" > /dev/null

# Peak RSS of translating one line (greedy) over the bytes of the graph files it loads, from the
# source files and from the prepared copies (`opusrt prepare`), into build/bench/opusrt.json
# (`peak_rss_over_graph_bytes` is the prepared figure; `load_ms` and `load` come from opusrt bench).
echo "bench: peak RSS of opusrt translate, one line"
rss_of_translate() {
  { echo "Open the file before you close the window." | /usr/bin/time -f '%M' \
    "$OPUSRT" translate --model "$MODEL" --beams 1 --threads "$THREADS" > /dev/null; } 2>&1 | tail -n 1
}
mv "$MODEL/.opusrt-prepared" "$MODEL/.opusrt-prepared.off"
rss_source_kb="$(rss_of_translate)"
mv "$MODEL/.opusrt-prepared.off" "$MODEL/.opusrt-prepared"
rss_kb="$(rss_of_translate)"
/usr/bin/python3 - "$OUT/opusrt.json" "$MODEL" "$rss_kb" "$rss_source_kb" <<'PY'
import json, os, sys
path, model, rss_kb, rss_source_kb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
report = json.load(open(path))
graphs = ["encoder_model.onnx"] + (["decoder_model_merged.onnx"] if report["decoder_mode"] == "merged"
                                   else ["decoder_model.onnx", "decoder_with_past_model.onnx"])
size = 0
for name in graphs:
    for f in (os.path.join(model, name), os.path.join(model, name + "_data")):
        if os.path.exists(f):
            size += os.path.getsize(f)
report["peak_rss_translate_mb"] = rss_kb * 1024 / 1e6
report["peak_rss_translate_source_files_mb"] = rss_source_kb * 1024 / 1e6
report["graph_bytes_mb"] = size / 1e6
report["peak_rss_over_graph_bytes"] = rss_kb * 1024 / size
report["peak_rss_over_graph_bytes_source_files"] = rss_source_kb * 1024 / size
json.dump(report, open(path, "w"), indent=2)
print("peak RSS %.0f MB prepared, %.0f MB from the source files, for %.0f MB of graphs: %.2fx, %.2fx"
      % (rss_kb * 1024 / 1e6, rss_source_kb * 1024 / 1e6, size / 1e6, rss_kb * 1024 / size, rss_source_kb * 1024 / size))
load = report["load"]
print("load %.0f ms (graphs alone: %.0f ms prepared, %.0f ms from the source files)"
      % (report["load_ms"], load.get("prepared_ms", float("nan")), load["source_ms"]))
PY
