#!/usr/bin/env bash
# The main job: build opusrt, generate a demo model, translate a few sentences with it.
# The demo model has the exact interface of a Hugging Face Optimum export of opus-mt-en-zh but
# tiny random weights, so its "translations" are gibberish: it shows the pipeline, not quality.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opusrt_cli
MODEL="$ROOT/build/demo-model"
/usr/bin/python3 scripts/fixtures/make_fixture.py --preset tiny --seed 7 --out "$MODEL" >/dev/null

echo "== opusrt translate --model $MODEL --target-lang cmn_Hans"
printf '%s\n' "Hello world." "The file could not be opened." "Save changes to the document before closing?" |
  ./build/tools/opusrt/opusrt translate --model "$MODEL" --target-lang cmn_Hans --max-new-tokens 32
echo
echo "== the same, as JSON lines"
echo "Hello world." | ./build/tools/opusrt/opusrt translate --model "$MODEL" --max-new-tokens 16 --output jsonl
cat <<MSG

The demo model has random weights, so the text above is not a translation.
To translate for real, export a model once on a machine with Python and internet:
    pip install optimum[exporters]
    optimum-cli export onnx --model Helsinki-NLP/opus-mt-en-zh --task text2text-generation-with-past opus-mt-en-zh/
or download a Xenova/opus-mt-* repository (its .onnx files in onnx/), then:
    echo "Hello world." | ./build/tools/opusrt/opusrt translate --model opus-mt-en-zh/ --target-lang cmn_Hans
MSG
