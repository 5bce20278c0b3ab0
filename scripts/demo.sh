#!/usr/bin/env bash
# The main job: build opusrt, turn the committed demo model (models/catalogs-en-zh, an en->zh
# Marian model trained on the translation catalogs of Debian packages) into ONNX graphs once,
# and translate a few software-UI sentences that are not in its training data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opusrt_cli
MODEL="$ROOT/build/catalogs-en-zh"
WEIGHTS="$ROOT/models/catalogs-en-zh/model.safetensors"
# First run (or new weights): write the ONNX graphs from the committed weights.
if [ ! -f "$MODEL/decoder_model_merged.onnx" ] || [ "$WEIGHTS" -nt "$MODEL/decoder_model_merged.onnx" ]; then
  echo "== exporting models/catalogs-en-zh to ONNX (once) -> $MODEL"
  /usr/bin/python3 scripts/fixtures/make_trained_model.py --model models/catalogs-en-zh --no-weights \
    --variants quantized --out "$MODEL" >/dev/null
fi

# Software-UI sentences written for this demo; none of them is a source string of the corpus.
SENTENCES=(
  "Open the file"
  "Save the document before closing"
  "The file could not be found."
  "Delete the selected items?"
  "Print only the selected pages"
  "Hide all toolbars"
  "Connection to the server failed"
  "Download updates in the background"
)
echo "== opusrt translate --model $MODEL --target-lang cmn_Hans"
printf '%s\n' "${SENTENCES[@]}" | ./build/tools/opusrt/opusrt translate --model "$MODEL" --target-lang cmn_Hans |
  paste -d '\t' <(printf '%s\n' "${SENTENCES[@]}") - | sed 's/\t/  ->  /'
echo
echo "== the same in Traditional Chinese (--target-lang cmn_Hant)"
printf '%s\n' "${SENTENCES[@]:0:3}" | ./build/tools/opusrt/opusrt translate --model "$MODEL" --target-lang cmn_Hant |
  paste -d '\t' <(printf '%s\n' "${SENTENCES[@]:0:3}") - | sed 's/\t/  ->  /'
cat <<MSG

This model is small (5.6 M parameters, trained for about two and a half hours on one CPU core) and knows only
software-interface English; see models/catalogs-en-zh/README.md for its scores. For real use,
export Helsinki-NLP/opus-mt-en-zh once on a machine with Python and internet:
    pip install optimum[exporters]
    optimum-cli export onnx --model Helsinki-NLP/opus-mt-en-zh --task text2text-generation-with-past opus-mt-en-zh/
or download a Xenova/opus-mt-* repository (its .onnx files in onnx/), then:
    echo "Hello world." | ./build/tools/opusrt/opusrt translate --model opus-mt-en-zh/ --target-lang cmn_Hans
MSG
