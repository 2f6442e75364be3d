#!/usr/bin/env bash
# Build dtf (installing what is missing) and run the whole test suite with ctest.
#   scripts/test.sh                 Release build in build/, warnings as errors
#   SANITIZE=1 scripts/test.sh      AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/mpi-env.sh
if [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=${BUILD_DIR:-build-asan} BUILD_TYPE=Debug
  # Open MPI's own allocations are not ours to report
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  scripts/build.sh -DDTF_WERROR=ON -DDTF_SANITIZE=ON
else
  export BUILD_DIR=${BUILD_DIR:-build}
  scripts/build.sh -DDTF_WERROR=ON
fi
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(getconf _NPROCESSORS_ONLN)" "$@"
