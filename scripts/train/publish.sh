#!/usr/bin/env bash
# After training: export the checkpoint into models/catalogs-en-zh (Hugging Face layout), score it
# on the held-out test set with `opusrt eval` (greedy and beam 4, fp32 and quantized, greedy also
# the 8- and 4-bit variants of `opusrt quantize`), record the
# outputs the tests replay, and plot the training curve.
#   scripts/train/publish.sh [RUN_DIR]      (default build/train/run1; needs build/tools/opusrt/opusrt)
# DTYPE=float32 stores the weights in float32 (default float16: half the size; the fp16-vs-fp32
# chrF difference is measured here and written to scores/storage.json).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUN="${1:-build/train/run1}"
DTYPE="${DTYPE:-float16}"
THREADS="${THREADS:-1}"
PY=/usr/bin/python3
OPUSRT=build/tools/opusrt/opusrt
MODEL=models/catalogs-en-zh
DATA=data/catalogs-en-zh
WORK=build/publish
mkdir -p "$MODEL/samples" "$MODEL/scores" "$MODEL/training" "$WORK"

export_and_build() {  # dtype, HF dir, ONNX dir
  "$PY" scripts/train/export.py --checkpoint "$RUN/checkpoint.pt" --tokenizer build/train/tokenizer \
    --out "$2" --dtype "$1"
  "$PY" scripts/fixtures/make_trained_model.py --model "$2" --variants quantized --no-weights --out "$3"
}

export_and_build "$DTYPE" "$MODEL" "$WORK/onnx"
# The other storage type, for the storage comparison only.
OTHER=float32; [ "$DTYPE" = float32 ] && OTHER=float16
export_and_build "$OTHER" "$WORK/hf-$OTHER" "$WORK/onnx-$OTHER"

evaluate() {  # name, lang, beams, variants, model dir
  "$OPUSRT" eval --model "$5" --source "$DATA/test.$2.en" --reference "$DATA/test.$2.zh" --target-lang "$2" \
    --beams "$3" --variant "$4" --threads "$THREADS" --json "$WORK/$1.json" --output "$WORK/$1.zh"
}
# The weight-only variants users make with `opusrt quantize` (4 bits in blocks of 32 with zero
# points, and 8 bits), next to the hub's dynamic int8 `quantized`: issue 13's quality gate.
for bits in 4 8; do
  [ -e "$WORK/onnx/encoder_model_q$bits.onnx" ] || "$OPUSRT" quantize --model "$WORK/onnx" --bits "$bits"
done
evaluate "test.cmn_Hans.greedy" cmn_Hans 1 fp32,quantized,q8,q4 "$WORK/onnx"
evaluate "test.cmn_Hans.beam4" cmn_Hans 4 fp32 "$WORK/onnx"
evaluate "test.cmn_Hant.greedy" cmn_Hant 1 fp32 "$WORK/onnx"
evaluate "storage-$OTHER.greedy" cmn_Hans 1 fp32 "$WORK/onnx-$OTHER"
for name in test.cmn_Hans.greedy test.cmn_Hans.beam4 test.cmn_Hant.greedy; do
  sed "s|$ROOT/||g; s|$WORK/onnx|models/catalogs-en-zh (ONNX from make_trained_model.py)|" "$WORK/$name.json" \
    > "$MODEL/scores/$name.json"
done
"$PY" - "$WORK" "$DTYPE" "$OTHER" "$MODEL/scores/storage.json" <<'EOF'
import json, sys
work, dtype, other, out = sys.argv[1:]
mine = json.load(open("%s/test.cmn_Hans.greedy.json" % work))["variants"]["fp32"]["chrf"]
theirs = json.load(open("%s/storage-%s.greedy.json" % (work, other)))["variants"]["fp32"]["chrf"]
json.dump({"stored_as": dtype, "chrf_greedy_test_cmn_Hans": mine, "chrf_if_stored_as_" + other: theirs,
           "difference": mine - theirs}, open(out, "w"), indent=2)
print("storage %s: chrF %.3f, %s: %.3f" % (dtype, mine, other, theirs))
EOF
# What tests/quality/trained_model_test.cc replays: the first 50 test lines on their own (batches
# are formed from the lines given, so the outputs are recorded exactly as the test runs them).
head -n 50 "$DATA/test.cmn_Hans.en" > "$WORK/test50.en"
head -n 50 "$DATA/test.cmn_Hans.zh" > "$WORK/test50.zh"
for beams in 1 4; do
  name=greedy; [ "$beams" = 4 ] && name=beam4
  "$OPUSRT" eval --model "$WORK/onnx" --source "$WORK/test50.en" --reference "$WORK/test50.zh" --target-lang cmn_Hans \
    --beams "$beams" --threads "$THREADS" --output "$MODEL/samples/test50.$name.cmn_Hans.zh"
done
cp "$RUN/train.log" "$MODEL/training/train.log"
"$PY" scripts/train/plot_curve.py --log "$MODEL/training/train.log" --out "$MODEL/training/curve.png"
ls -la "$MODEL"
