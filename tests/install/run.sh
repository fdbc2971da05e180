#!/usr/bin/env bash
# Installs weft from a build tree into a scratch prefix, then builds and runs
# a consumer twice: with CMake's find_package(weft) and with pkg-config
# (shared), and once linked statically through pkg-config --static.
# usage: run.sh BUILD-DIR SOURCE-DIR SCRATCH-DIR
set -euo pipefail
build=$1 src=$2 scratch=$3
rm -rf "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib:$scratch/prefix/lib64:${LD_LIBRARY_PATH:-}" "$scratch/cmake/consumer"
pcdir=$(dirname "$(find "$scratch/prefix" -name weft.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
cc -std=c11 "$src/tests/install/consumer.c" $(pkg-config --cflags --libs weft) -o "$scratch/consumer-pc"
LD_LIBRARY_PATH="$(pkg-config --variable=libdir weft)" "$scratch/consumer-pc"
cc -std=c11 "$src/tests/install/consumer.c" $(pkg-config --cflags weft) -DWEFT_STATIC \
  "$(pkg-config --variable=libdir weft)/libweft.a" $(pkg-config --libs-only-l --static weft | sed "s/-lweft//") \
  -o "$scratch/consumer-static"
"$scratch/consumer-static"
echo "install test: find_package, pkg-config and static linking work"
