#!/usr/bin/env bash
# Fuzz the .tns parser, the HDF5 sparse reader and the command line's number parsers with
# libFuzzer, in a bounded total time split evenly among the targets.
#   scripts/fuzz.sh [TOTAL_SECONDS]      (default 120)
# Builds with clang (installed from Debian if missing) in build-fuzz/, with ASan + UBSan.
# New interesting inputs go to a scratch copy; the seeds in tests/fuzz/corpus stay as they
# are. A crash leaves its input in build-fuzz/tests/fuzz/ (crash-*) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="tns coo cli"
TOTAL=${1:-120}
SECONDS_PER=$(( TOTAL / $(echo $TARGETS | wc -w) ))
"./scripts/install-deps.sh"
if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-dev \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang-14 libclang-rt-14-dev; } \
    >/tmp/dtf-fuzz-apt.log 2>&1 || { tail -20 /tmp/dtf-fuzz-apt.log; exit 1; }
fi
CC=$(command -v clang || command -v clang-14)
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug -DDTF_FUZZ=ON -DDTF_SANITIZE=ON \
  -DBUILD_TESTING=OFF >/tmp/dtf-fuzz-configure.log 2>&1 || { cat /tmp/dtf-fuzz-configure.log; exit 1; }
cmake --build build-fuzz -j "$(getconf _NPROCESSORS_ONLN)" --target $(printf "fuzz_%s " $TARGETS) >/dev/null
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMPI_MCA_io=romio321
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for t in $TARGETS; do
  scratch=$(mktemp -d)
  echo "== fuzz_$t for $SECONDS_PER s"
  set +e
  (cd build-fuzz/tests/fuzz && ./fuzz_"$t" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$scratch" "../../../tests/fuzz/corpus/$t" >"fuzz_$t.log" 2>&1)
  rc=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY)" "build-fuzz/tests/fuzz/fuzz_$t.log" || true
  rm -rf "$scratch"
  [ "$rc" -eq 0 ] || { tail -40 "build-fuzz/tests/fuzz/fuzz_$t.log"; echo "fuzz_$t failed (exit $rc)"; exit 1; }
  if ls build-fuzz/tests/fuzz/crash-* build-fuzz/tests/fuzz/timeout-* build-fuzz/tests/fuzz/oom-* >/dev/null 2>&1; then
    echo "fuzz_$t found a failing input: $(ls build-fuzz/tests/fuzz/crash-* build-fuzz/tests/fuzz/timeout-* build-fuzz/tests/fuzz/oom-* 2>/dev/null)"
    exit 1
  fi
done
echo "fuzzing finished without a failure"
