#!/usr/bin/env bash
# Installs everything opusrt needs to build and test on Debian 12 / Ubuntu, idempotently:
# Debian packages (compiler, libraries, Python test tooling) and ONNX Runtime into third_party/.
# Safe to run again: it skips what is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_NPM_PACKAGE="com.github.asus4.onnxruntime"
ORT_NPM_VERSION="0.4.9"
ORT_VERSION="1.29.0"
ORT_DIR="$ROOT/third_party/onnxruntime"

APT_PACKAGES=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev
  libsentencepiece-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libssl-dev
  libcpp-httplib-dev prometheus-cpp-dev libboost-dev
  python3-numpy python3-onnx python3-sentencepiece
  python3-torch python3-matplotlib libopenblas0-serial
  nodejs npm
  haproxy curl jq
  # The page's browser test (tests/web/page.test.mjs) drives Debian's chromium; HTML is parsed by gumbo.
  chromium libgumbo-dev
  cargo  # Debian's cargo + rustc 1.63: the Rust crate's tests (bindings/rust)
  # `opusrt quantize` reads and writes ONNX models with libonnx; its headers need protobuf's,
  # which libonnx-dev does not pull in.
  libonnx-dev libprotobuf-dev
)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  # npm/nodejs may already be present from another source; do not fight it.
  if command -v npm >/dev/null 2>&1; then
    filtered=(); for p in "${need_apt[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
    need_apt=("${filtered[@]+"${filtered[@]}"}")
  fi
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ -f "$ORT_DIR/lib/libonnxruntime.so.$ORT_VERSION" ] && [ -f "$ORT_DIR/include/onnxruntime_cxx_api.h" ]; then
  echo "bootstrap: ONNX Runtime $ORT_VERSION already in $ORT_DIR"
  exit 0
fi

echo "bootstrap: fetching ONNX Runtime $ORT_VERSION from npm ($ORT_NPM_PACKAGE@$ORT_NPM_VERSION)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$ORT_NPM_PACKAGE@$ORT_NPM_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
so="$work/package/Plugins/Linux/x64/libonnxruntime.so"
hdr="$(find "$work/package" -name onnxruntime_cxx_api.h -path '*Headers*' | head -n 1)"
if [ ! -f "$so" ] || [ -z "$hdr" ]; then
  echo "bootstrap: the npm package does not contain libonnxruntime.so and headers where expected" >&2
  exit 1
fi
rm -rf "$ORT_DIR"
mkdir -p "$ORT_DIR/lib" "$ORT_DIR/include"
cp "$(dirname "$hdr")"/*.h "$ORT_DIR/include/"
cp "$so" "$ORT_DIR/lib/libonnxruntime.so.$ORT_VERSION"
ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/lib/libonnxruntime.so.1"
ln -sf "libonnxruntime.so.1" "$ORT_DIR/lib/libonnxruntime.so"
echo "$ORT_VERSION" > "$ORT_DIR/VERSION"
echo "bootstrap: ONNX Runtime installed in $ORT_DIR"
