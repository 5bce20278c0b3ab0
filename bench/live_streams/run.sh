#!/usr/bin/env bash
# Starts `opusrt serve --stream-port 0` on a model and measures how many concurrent word-by-word
# live-speech streams it holds at a p95 update latency bound (live_streams.mjs). Installs the npm
# `ws` package here from the lock file first.
#   bench/live_streams/run.sh CLI MODEL_DIR SENTENCES OUT.json [live_streams.mjs options...]
#   THREADS=2 (ONNX Runtime threads of the server), MAX_NEW_TOKENS=N (the server's cap per
#   translation; a random-weights model otherwise runs every final to max_length), VARIANT=V
#   (the graphs served: quantized, q4, ...; default fp32)
set -euo pipefail
cli="$1" model="$2" sentences="$3" out="$4"
shift 4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null || { echo "run.sh: node not found (scripts/bootstrap.sh installs nodejs)" >&2; exit 1; }
want="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$here/node_modules/.opusrt-stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$here/node_modules/.opusrt-stamp"
fi
log="$(mktemp)"
cap=(); [ -n "${MAX_NEW_TOKENS:-}" ] && cap=(--max-new-tokens "$MAX_NEW_TOKENS")
[ -n "${VARIANT:-}" ] && cap+=(--variant "$VARIANT")
"$cli" serve --model "$model" --host 127.0.0.1 --port 0 --stream-port 0 --threads "${THREADS:-2}" --no-web "${cap[@]}" \
  > "$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's|.*live speech on \(ws://[^ ]*\).*|\1|p' "$log" | head -n 1)"
  grep -q "listening on" "$log" && [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "run.sh: the server did not start: $(cat "$log")" >&2; exit 1; }
node "$here/live_streams.mjs" --url "$url" --sentences "$sentences" --json "$out" "$@"
