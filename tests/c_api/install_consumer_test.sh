#!/usr/bin/env bash
# ctest c_api_install_consumer: `cmake --install` into a temporary prefix lays out headers, the
# library, the CLI, the CMake package and opusrt.pc; a CMake project (examples/cmake_consumer,
# find_package) and the C example (pkg-config) build against that prefix alone and translate like
# the installed CLI; the installed tree finds ONNX Runtime without LD_LIBRARY_PATH, even moved.
#   install_consumer_test.sh BUILD_DIR SOURCE_DIR MODEL_DIR CC CXX INSTALLS_ONNXRUNTIME(ON/OFF) "EXTRA_FLAGS"
set -euo pipefail
build="$1" source="$2" model="$3" cc="$4" cxx="$5" bundled_ort="$6" flags="${7:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/opusrt-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
unset LD_LIBRARY_PATH
prefix="$work/prefix"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" || fail "install failed: $(cat "$work/install.log")"
for f in bin/opusrt bin/opusrt-quantize include/opusrt/opusrt.h include/opusrt/translator.h include/opusrt/error.h \
         include/opusrt/inspect.h lib/libopusrt.so lib/cmake/opusrt/opusrtConfig.cmake \
         lib/cmake/opusrt/opusrtConfigVersion.cmake lib/cmake/opusrt/opusrtTargets.cmake lib/pkgconfig/opusrt.pc; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done

step "public headers include only standard and opusrt/ headers"
if grep -nE '^\s*#\s*include' "$prefix"/include/opusrt/*.h | grep -viE '#\s*include\s*(<[a-z_]+(\.h)?>|"opusrt/[a-z_]+\.h"|<opusrt/[a-z_]+\.h>)'; then
  fail "a public header includes something else (above)"
fi
if grep -nEi 'onnxruntime|sentencepiece|nlohmann|Ort::' "$prefix"/include/opusrt/*.h; then
  fail "a public header mentions a private dependency (above)"
fi
for h in "$prefix"/include/opusrt/*.h; do
  echo "#include <opusrt/$(basename "$h")>" | "$cxx" -std=c++20 -Wall -Wextra -Werror -fsyntax-only -x c++ -I "$prefix/include" - ||
    fail "$h does not compile alone (only -I $prefix/include)"
done
echo "#include <opusrt/opusrt.h>" | "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c -I "$prefix/include" - ||
  fail "opusrt.h is not C99"

# ort_of FILE: where the dynamic loader finds libonnxruntime.so.1 for FILE (normalized directory).
ort_of() { dirname "$(realpath "$(ldd "$1" | awk '$1 == "libonnxruntime.so.1" { print $3 }')")"; }

step "libopusrt.so exports every function opusrt.h declares, and no internals"
nm -D --defined-only "$prefix/lib/libopusrt.so" | awk '{ print $3 }' > "$work/exports.txt"
declared="$(sed -n 's/^OPUSRT_C_API .*[ *]\(opusrt_[a-z_]*\)(.*/\1/p' "$prefix/include/opusrt/opusrt.h")"
[ "$(echo "$declared" | wc -l)" -ge 20 ] || fail "could not read the declarations of opusrt.h"
for f in $declared; do grep -qx "$f" "$work/exports.txt" || fail "libopusrt.so does not export $f"; done
# Free functions declared at namespace level in the C++ headers (cmake/opusrt_exports.map lists them by hand).
nm -D --defined-only -C "$prefix/lib/libopusrt.so" > "$work/exports-demangled.txt"
for h in "$prefix"/include/opusrt/*.h; do
  [ "$(basename "$h")" = opusrt.h ] && continue
  functions="$(grep -E '^[A-Za-z_][A-Za-z_0-9:<>, ]*[ *&]+[a-z_0-9]+\(' "$h" |
    grep -vE '^(inline|constexpr|template|static|#|//)|\)\s*(const\s*)?(noexcept\s*)?\{' |
    sed -E 's/^[A-Za-z_][A-Za-z_0-9:<>, ]*[ *&]+([a-z_0-9]+)\(.*/\1/' || true)"
  for f in $functions; do
    grep -qE " opusrt::$f(\[abi:[a-z0-9]+\])*\(" "$work/exports-demangled.txt" ||
      fail "libopusrt.so does not export opusrt::$f ($(basename "$h")): add it to cmake/opusrt_exports.map"
  done
done
for f in translate translate_batch model_info; do
  grep -qF " opusrt::Translator::$f(" "$work/exports-demangled.txt" || fail "libopusrt.so does not export Translator::$f"
done
if nm -D --defined-only -C "$prefix/lib/libopusrt.so" | grep -E 'opusrt::(MarianTokenizer|Encoder|KvCache|GreedySearch)|nlohmann'; then
  fail "libopusrt.so exports internals (above)"
fi

step "the installed CLI and library find ONNX Runtime through RUNPATH"
if [ "$bundled_ort" = "ON" ]; then
  for f in bin/opusrt bin/opusrt-quantize lib/libopusrt.so; do
    [ "$(ort_of "$prefix/$f")" = "$(realpath "$prefix/lib")" ] || fail "$f: $(ldd "$prefix/$f" | grep onnxruntime)"
  done
fi
"$prefix/bin/opusrt" translate --model "$model" --max-new-tokens 16 --beams 1 < <(printf 'Hello world.\nGood morning!\nWhere is the nearest train station?\n') \
  > "$work/cli.out" || fail "the installed CLI failed"
[ "$(wc -l < "$work/cli.out")" -eq 3 ] || fail "the installed CLI printed $(wc -l < "$work/cli.out") lines"
texts=("Hello world." "Good morning!" "Where is the nearest train station?")

step "the installed opusrt quantize (the program opusrt-quantize next to opusrt)"
"$prefix/bin/opusrt" quantize --model "$model" --out "$work/model-q4" > "$work/quantize.out" 2>&1 ||
  fail "the installed opusrt quantize failed: $(cat "$work/quantize.out")"
"$prefix/bin/opusrt" translate --model "$work/model-q4" --variant q4 --max-new-tokens 16 --beams 1 \
  < <(printf '%s\n' "${texts[@]}") > "$work/q4.out" || fail "the installed CLI failed on the quantized model"
[ "$(wc -l < "$work/q4.out")" -eq 3 ] || fail "the quantized model gave $(wc -l < "$work/q4.out") lines"

step "examples/cmake_consumer: find_package(opusrt) from the prefix"
cmake -S "$source/examples/cmake_consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF > "$work/consumer-configure.log" ||
  fail "configure failed: $(cat "$work/consumer-configure.log")"
grep -q "opusrt_DIR:PATH=$prefix/lib/cmake/opusrt" "$work/consumer/CMakeCache.txt" || fail "found opusrt elsewhere than $prefix"
cmake --build "$work/consumer" > "$work/consumer-build.log" 2>&1 || fail "build failed: $(cat "$work/consumer-build.log")"
"$work/consumer/opusrt_consumer" "$model" "${texts[@]}" > "$work/consumer.out" 2> "$work/consumer.err" ||
  fail "the consumer failed: $(cat "$work/consumer.err")"
grep -qE '^decoder: (merged|split)$' "$work/consumer.err" || fail "consumer: $(cat "$work/consumer.err")"
diff "$work/cli.out" "$work/consumer.out" || fail "the consumer translates differently from the CLI"
# An opusrt::Error thrown inside libopusrt.so is caught as opusrt::Error in the program.
if "$work/consumer/opusrt_consumer" /nonexistent/model "Hello" > /dev/null 2> "$work/consumer.err"; then fail "no error"; fi
grep -q "^opusrt_consumer: /nonexistent/model" "$work/consumer.err" || fail "consumer error: $(cat "$work/consumer.err")"

step "examples/c/translate.c with pkg-config --cflags --libs opusrt"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion opusrt)" = "$(sed -n 's/^#define OPUSRT_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/opusrt/opusrt.h")" ] ||
  fail "pkg-config --modversion opusrt: $(pkg-config --modversion opusrt)"
libdir="$(pkg-config --variable=libdir opusrt)"
# shellcheck disable=SC2086,SC2046
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror $flags -o "$work/translate_c" "$source/examples/c/translate.c" \
  $(pkg-config --cflags --libs opusrt) -Wl,-rpath,"$libdir" || fail "the C example does not build with pkg-config"
"$work/translate_c" "$model" --max-new-tokens 16 --beams 1 "${texts[@]}" > "$work/c.out" || fail "the C example failed"
diff "$work/cli.out" "$work/c.out" || fail "the C example translates differently from the CLI"

step "the README's \"Use from C\" program with pkg-config"
awk '/^## Use from C$/ { section = 1 } section && /^```c$/ { inside = 1; next } inside && /^```$/ { exit } inside' \
  "$source/README.md" > "$work/hello.c"
[ -s "$work/hello.c" ] || fail "no C program in the README's \"Use from C\""
# shellcheck disable=SC2086,SC2046
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror $flags -o "$work/hello" "$work/hello.c" \
  $(pkg-config --cflags --libs opusrt) -Wl,-rpath,"$libdir" || fail "the README's C program does not build"
"$work/hello" "$model" > "$work/hello.out" 2> "$work/hello.err" || fail "the README's C program failed: $(cat "$work/hello.err")"
grep -q '^0\.0 -[0-9.]* ' "$work/hello.out" && grep -q '^2\.1 -[0-9.]* ' "$work/hello.out" ||
  fail "the README's C program printed no n-best: $(cat "$work/hello.out")"
grep -qx '1: OPUSRT_ERROR_INVALID_INPUT: texts\[1\]: invalid UTF-8 at byte 4' "$work/hello.out" ||
  fail "the README's C program: no per-text error: $(cat "$work/hello.out")"
grep -q '^\[2\] ' "$work/hello.err" || fail "the README's C program streamed nothing: $(cat "$work/hello.err")"

step "the installed tree still works after moving it"
mv "$prefix" "$work/moved"
"$work/moved/bin/opusrt" translate --model "$model" --max-new-tokens 16 --beams 1 < <(printf '%s\n' "${texts[@]}") \
  > "$work/moved.out" || fail "the moved CLI failed"
diff "$work/cli.out" "$work/moved.out" || fail "the moved CLI translates differently"
if [ "$bundled_ort" = "ON" ]; then
  [ "$(ort_of "$work/moved/bin/opusrt")" = "$(realpath "$work/moved/lib")" ] || fail "moved: $(ldd "$work/moved/bin/opusrt" | grep onnxruntime)"
fi
PKG_CONFIG_PATH="$work/moved/lib/pkgconfig" pkg-config --cflags opusrt | grep -q -- "-I$work/moved/" ||
  fail "opusrt.pc is not relocatable: $(PKG_CONFIG_PATH="$work/moved/lib/pkgconfig" pkg-config --cflags opusrt)"
echo "c_api_install_consumer: ok"
