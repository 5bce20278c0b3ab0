#!/usr/bin/env bash
# Installs the transformers.js peer baseline into bench/transformers_js/node_modules.
# Idempotent: does nothing when node_modules already matches package.json / package-lock.json.
# Tested with Node.js 20 and npm 11; reaches only the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "setup.sh: node not found (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: npm not found (apt-get install npm)" >&2; exit 1; }

# onnxruntime-node ships its CPU binaries (bin/napi-v*/linux/x64/libonnxruntime.so*) inside the
# npm package; its postinstall script only downloads the CUDA/TensorRT providers from outside the
# npm registry (unreachable here, and not wanted). Skip that download. onnxruntime-node >= 1.22 reads
# ONNXRUNTIME_NODE_INSTALL; 1.21.0 (the version transformers.js 3.x pins) reads only
# ONNXRUNTIME_NODE_INSTALL_CUDA and, without it, tries the download and fails the install.
export ONNXRUNTIME_NODE_INSTALL=skip
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip

stamp=node_modules/.opusrt-setup-stamp
manifest_hash() {
  if [[ -f package-lock.json ]]; then cat package.json package-lock.json; else cat package.json; fi \
    | sha256sum | cut -d' ' -f1
}
want="$(manifest_hash)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
   && node -e "require.resolve('@huggingface/transformers'); require.resolve('onnxruntime-node')" 2>/dev/null; then
  echo "setup.sh: node_modules is up to date"
  exit 0
fi

if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

# The CPU binaries must be there (they ship in the package, nothing is downloaded).
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/*/libonnxruntime.so* >/dev/null 2>&1; then
  echo "setup.sh: onnxruntime-node has no bundled libonnxruntime.so" >&2
  exit 1
fi
node -e "const o = require('onnxruntime-node'); if (!o.InferenceSession) process.exit(1)" \
  || { echo "setup.sh: onnxruntime-node does not load" >&2; exit 1; }

manifest_hash > "$stamp"
echo "setup.sh: installed $(node -p "require('./node_modules/@huggingface/transformers/package.json').version" 2>/dev/null || echo '?') (onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version"))"
