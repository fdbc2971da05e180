#!/usr/bin/env bash
# weft's set-up: installs the Debian packages that are missing, configures
# and builds, then either runs the flagship demo or every test.
#
#   tools/setup.sh demo   install, build (Release), run the demo: the word
#                         count locally, then on two weftd nodes on loopback
#                         with one killed mid-run (same counts)
#   tools/setup.sh test   install, build, run every test: the normal suite,
#                         the concurrency suites under ThreadSanitizer, the
#                         whole suite under AddressSanitizer + UBSan, then a
#                         short libFuzzer run of the graph-file loaders
#
# Build trees: build/ (Release), build-tsan/, build-asan/, build-fuzz/ (clang).
# JOBS overrides the parallelism (default: nproc); WEFT_FUZZ_SECONDS the
# length of the fuzzing run (default 45).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  demo|test) ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

packages=(build-essential g++ cmake pkg-config libtbb-dev check libssl-dev graphviz bible-kjv
          python3 python3-dev swig liblua5.4-dev lua5.4 clang python3-distributed)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=${JOBS:-$(nproc)}
build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DWEFT_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

echo "== building (Release) in build/"
build build -DCMAKE_BUILD_TYPE=Release

if [ "$mode" = demo ]; then
  demo=build/demo
  echo "== demo: word count of the King James Bible as a task graph"
  mkdir -p "$demo"
  ./build/examples/wordcount -o "$demo" | tee "$demo/local.out"
  dot -Tsvg "$demo/wordcount.dot" -o "$demo/wordcount.svg"
  echo "== wrote $demo/wordcount.dot, wordcount.svg and wordcount.trace.json"

  # the same graph on a cluster: two weftd nodes on loopback, one of them
  # killed (kill -9) in the middle of the run (dist/LAUNCH.md)
  echo
  tools/demo_cluster.sh build "$demo"
  exit 0
fi

echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== ThreadSanitizer: concurrency suites"
build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=thread -DWEFT_BUILD_BENCH=OFF
WEFT_TEST_SCALE=${WEFT_TSAN_SCALE:-0.05} TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan --output-on-failure -L concurrency -j "$jobs"

echo "== AddressSanitizer + UBSan: whole suite"
build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=address
WEFT_TEST_SCALE=${WEFT_ASAN_SCALE:-0.2} ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

# --- fuzzing: graph and run file loaders (tests/fuzz/, README "Testing") ---
# A tree of its own, built by clang with libFuzzer, ASan and UBSan. It runs
# from the seed corpus in tests/fuzz/corpus; what it learns goes to
# build-fuzz/corpus, a failing input to build-fuzz/crash-*. WEFT_WERROR stays
# off here: clang warns where gcc does not, outside the fuzzed code.
fuzz_seconds=${WEFT_FUZZ_SECONDS:-45}
echo "== libFuzzer: graph and run file loaders, ${fuzz_seconds} s (build-fuzz/)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=address -DWEFT_BUILD_FUZZ=ON \
  -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_BINDINGS=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_files
mkdir -p build-fuzz/corpus
if ! ./build-fuzz/tests/fuzz/fuzz_files -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
     -artifact_prefix=build-fuzz/ -dict=tests/fuzz/files.dict -print_final_stats=1 \
     build-fuzz/corpus tests/fuzz/corpus >build-fuzz/fuzz.log 2>&1; then
  tail -n 40 build-fuzz/fuzz.log
  echo "== the fuzzer found a failing input: build-fuzz/crash-* (log: build-fuzz/fuzz.log)" >&2
  exit 1
fi
grep -E "^Done|stat::number_of_executed_units|stat::new_units_added" build-fuzz/fuzz.log
echo "== libFuzzer: discovery beacon parser, 15 s"
cmake --build build-fuzz -j "$jobs" --target fuzz_beacon
mkdir -p build-fuzz/corpus-beacon
if ! ./build-fuzz/tests/fuzz/fuzz_beacon -max_total_time=15 -timeout=10 -artifact_prefix=build-fuzz/ \
     -print_final_stats=1 build-fuzz/corpus-beacon tests/fuzz/corpus-beacon \
     >build-fuzz/fuzz-beacon.log 2>&1; then
  tail -n 40 build-fuzz/fuzz-beacon.log
  echo "== the beacon fuzzer found a failing input: build-fuzz/crash-*" >&2
  exit 1
fi
grep -E "^Done" build-fuzz/fuzz-beacon.log
# the Lua value decoder and "weft.lua" requests (built when Lua 5.4 is found)
# (the target list read whole first: grep -q on a pipe would cut cmake off,
# and with pipefail the test would fail and skip the fuzzer)
fuzz_targets=$(cmake --build build-fuzz --target help)
if grep -q fuzz_lua_codec <<<"$fuzz_targets"; then
  echo "== libFuzzer: Lua value decoder and weft.lua requests, 15 s"
  cmake --build build-fuzz -j "$jobs" --target fuzz_lua_codec
  mkdir -p build-fuzz/corpus-lua
  if ! ./build-fuzz/tests/fuzz/fuzz_lua_codec -max_total_time=15 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix=build-fuzz/ -print_final_stats=1 build-fuzz/corpus-lua tests/fuzz/corpus-lua \
       >build-fuzz/fuzz-lua.log 2>&1; then
    tail -n 40 build-fuzz/fuzz-lua.log
    echo "== the Lua decoder fuzzer found a failing input: build-fuzz/crash-*" >&2
    exit 1
  fi
  grep -E "^Done" build-fuzz/fuzz-lua.log
fi
# --- end of fuzzing ---

# --- dist: libFuzzer harnesses of the frame decoder and the handshake ---
# tests/dist/fuzz is a small clang project of its own (build-fuzz-dist/):
# ~20 s each (WEFT_DIST_FUZZ_SECONDS) from the corpus in tests/dist/fuzz/corpus.
echo "== libFuzzer: dist frame decoder and handshake (build-fuzz-dist/)"
cmake -S tests/dist/fuzz -B build-fuzz-dist -DCMAKE_C_COMPILER=clang \
  -DWEFT_FUZZ_SECONDS="${WEFT_DIST_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz-dist -j "$jobs"
ctest --test-dir "$PWD/build-fuzz-dist" --output-on-failure
# --- end of dist fuzzing ---

echo "== all test runs passed"
