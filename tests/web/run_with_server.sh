#!/usr/bin/env bash
# ctest driver of the Node.js tests in tests/web/: installs their npm packages (package-lock.json,
# into BUILD_DIR/web_test/, once per lock file), starts `opusrt serve` on a free loopback port
# with the tiny fixture model, runs the test against it, and stops the server it started.
#   run_with_server.sh CLI MODEL_DIR BUILD_DIR TEST.mjs [serve flags...]
# The test gets OPUSRT_URL, OPUSRT_WS_URL (with --stream-port), OPUSRT_CLI, OPUSRT_MODEL, OPUSRT_BUILD_DIR and OPUSRT_NODE_MODULES
# (where package.json and node_modules/ are: createRequire from there).
set -euo pipefail
cli="$1" model="$2" build="$3" test_script="$4"
shift 4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node not found (scripts/bootstrap.sh installs nodejs and npm)"

# npm packages: installed from the lock file, reinstalled when it changes.
modules="$build/web_test"
stamp="$modules/.lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d "$modules/node_modules" ]; then
  mkdir -p "$modules"
  cp "$here/package.json" "$here/package-lock.json" "$modules/"
  (cd "$modules" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in $modules"
  echo "$want" > "$stamp"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/opusrt-web-test.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$cli" serve --model "$model" --host 127.0.0.1 --port 0 --workers 1 "$@" > "$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/server.log" | head -n 1)"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "opusrt serve exited: $(cat "$work/server.log")"
  sleep 0.1
done
[ -n "$port" ] || fail "opusrt serve did not start within 60 s: $(cat "$work/server.log")"
# With --stream-port: the live-speech WebSocket's address (printed before the HTTP line).
ws_url="$(sed -n 's|.*live speech on \(ws://[^ ]*\).*|\1|p' "$work/server.log" | head -n 1)"

status=0
OPUSRT_URL="http://127.0.0.1:$port" OPUSRT_WS_URL="$ws_url" OPUSRT_CLI="$cli" OPUSRT_MODEL="$model" OPUSRT_BUILD_DIR="$build" \
  OPUSRT_NODE_MODULES="$modules" node "$test_script" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---" >&2
  cat "$work/server.log" >&2
fi
exit "$status"
