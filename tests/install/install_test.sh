#!/usr/bin/env bash
# Install dtf from the build tree into a temporary prefix, then build a small program
# against it with find_package(dtf) and with pkg-config, and run both on 2 ranks.
set -eu
build=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/dtf-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/dtf/dtf.h include/dtf/version.h bin/dtf; do
  [ -e "$work/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$MPIEXEC" --oversubscribe -np 2 "$work/consumer/consumer"
PKG_CONFIG_PATH="$libdir/pkgconfig" mpicc -o "$work/pc" "$src/tests/install/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs dtf) -Wl,-rpath,"$libdir"
"$MPIEXEC" --oversubscribe -np 2 "$work/pc"
"$work/prefix/bin/dtf" --version
echo ok
