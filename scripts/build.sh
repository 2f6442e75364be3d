#!/usr/bin/env bash
# Install missing dependencies, configure and build dtf into BUILD_DIR (default build/).
# Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
"./scripts/install-deps.sh"
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >"${TMPDIR:-/tmp}/dtf-configure.log" 2>&1 \
  || { cat "${TMPDIR:-/tmp}/dtf-configure.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "$(getconf _NPROCESSORS_ONLN)"
