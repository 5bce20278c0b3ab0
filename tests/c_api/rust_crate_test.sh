#!/usr/bin/env bash
# ctest rust_crate: installs opusrt into a temporary prefix and runs the Rust crate's tests
# (bindings/rust: unit tests, tests/, doc tests, and a build of examples/) with Debian's
# cargo/rustc (1.63, the crate's minimum; scripts/bootstrap.sh installs them), offline, against
# that prefix alone, found through pkg-config; then runs the example; then checks OPUSRT_DIR.
#   rust_crate_test.sh BUILD_DIR SOURCE_DIR MODEL_DIR "SANITIZER_FLAGS"
set -euo pipefail
build="$1" source="$2" model="$3" flags="${4:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/opusrt-rust.XXXXXX")"
trap 'rm -rf "$work"' EXIT
unset LD_LIBRARY_PATH OPUSRT_DIR
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

# Debian's toolchain explicitly: a rustup cargo earlier on PATH would also pick its own rustc.
cargo=/usr/bin/cargo
[ -x "$cargo" ] && [ -x /usr/bin/rustc ] || fail "Debian's cargo/rustc are not installed (bash scripts/bootstrap.sh installs them)"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export CARGO_HOME="$work/cargo-home"          # nothing from the user's ~/.cargo (config, registry)
export CARGO_TARGET_DIR="$work/target"        # nothing written into the source tree
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
echo "$("$cargo" --version); $(/usr/bin/rustc --version)"
sanitized=0
if [ -n "$flags" ]; then
  # The sanitizer build's library needs the sanitizer runtimes, loaded first, in the program that
  # loads it: linked in, and preloaded by a runner for test and example binaries (rustc puts
  # link arguments after the libraries, so ASan's runtime would not come first).
  sanitized=1
  rustflags=""
  for f in $flags; do rustflags+=" -C link-arg=$f"; done
  export RUSTFLAGS="$rustflags"
  preload="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=${preload// /:}"
fi

step "cmake --install $build --prefix $work/prefix"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" || fail "install failed: $(cat "$work/install.log")"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"

# A copy of the crate: the tests must not depend on the build tree, and cargo writes Cargo.lock.
cp -r "$source/bindings/rust" "$work/crate"
rm -rf "$work/crate/target" "$work/crate/Cargo.lock"
cd "$work/crate"

step "cargo test --offline (pkg-config finds $work/prefix)"
OPUSRT_TEST_MODEL="$model" OPUSRT_TEST_NOPAST_MODEL="$model/../tiny-nopast" "$cargo" test --offline --all-targets 2>&1 | tee "$work/test.log" || fail "cargo test failed"
passed="$(grep -oE 'test result: ok\. [0-9]+ passed' "$work/test.log" | awk '{ n += $4 } END { print n + 0 }')"
[ "$passed" -ge 10 ] || fail "only $passed tests passed"
if [ "$sanitized" = 0 ]; then  # rustdoc runs doc tests without the runner (no preload)
  OPUSRT_TEST_MODEL="$model" "$cargo" test --offline --doc 2>&1 | tee "$work/doc.log" || fail "cargo test --doc failed"
fi

step "the example: one translator, one incremental session per stream"
"$cargo" run --offline --quiet --example translate -- "$model" "Hello world, good morning!" "Where is the station?" \
  > "$work/example.out" 2> "$work/example.err" || fail "the example failed: $(cat "$work/example.err")"
for stream in 0 1; do
  [ "$(grep -c "^\[stream $stream\] .* | " "$work/example.out")" -ge 2 ] || fail "stream $stream had no partial updates: $(cat "$work/example.out")"
  grep -q "^\[stream $stream\] final: " "$work/example.out" || fail "stream $stream had no final: $(cat "$work/example.out")"
done
# The finals are the offline translations.
"$cargo" run --offline --quiet --example translate -- "$model" "Where is the station?" > "$work/one.out" 2>&1
grep "final: " "$work/one.out" | sed 's/^.*final: //' > "$work/final.txt"
"$work/prefix/bin/opusrt" translate --model "$model" --max-new-tokens 64 --beams 1 <<< "Where is the station?" > "$work/cli.txt"
diff "$work/cli.txt" "$work/final.txt" || fail "the example's final is not the CLI's translation: $(cat "$work/one.out")"
if "$cargo" run --offline --quiet --example translate -- /nonexistent/model 2> "$work/missing.err"; then
  fail "the example loaded a missing model"
fi
grep -q "Model: .*/nonexistent/model" "$work/missing.err" || fail "example error: $(cat "$work/missing.err")"

step "the README's \"Use from Rust\" program"
awk '/^## Use from Rust$/ { section = 1 } section && /^```rust$/ { inside = 1; next } inside && /^```$/ { exit } inside' \
  "$source/README.md" > "$work/crate/examples/readme.rs"
[ -s "$work/crate/examples/readme.rs" ] || fail "no Rust program in the README's \"Use from Rust\""
"$cargo" run --offline --quiet --example readme -- "$model" > "$work/readme.out" 2> "$work/readme.err" ||
  fail "the README's Rust program failed: $(cat "$work/readme.err")"
[ "$(grep -cE '^-[0-9]+\.[0-9]{3} ' "$work/readme.out")" -eq 4 ] || fail "the README's Rust program: $(cat "$work/readme.out")"
grep -q '^\.\.\. ' "$work/readme.err" || fail "the README's Rust program streamed nothing: $(cat "$work/readme.err")"

step "OPUSRT_DIR instead of pkg-config"
unset PKG_CONFIG_PATH
rm -rf "$CARGO_TARGET_DIR"
OPUSRT_DIR="$work/prefix" OPUSRT_TEST_MODEL="$model" "$cargo" test --offline --test translate missing_model \
  > "$work/dir.log" 2>&1 || fail "with OPUSRT_DIR: $(cat "$work/dir.log")"
if OPUSRT_DIR="$work/nowhere" "$cargo" build --offline > "$work/nowhere.log" 2>&1; then fail "built without a library"; fi
grep -q "OPUSRT_DIR=$work/nowhere: no libopusrt.so" "$work/nowhere.log" || fail "build.rs error: $(cat "$work/nowhere.log")"
echo "rust_crate: ok"
