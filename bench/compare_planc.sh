#!/usr/bin/env bash
# Side-by-side dense CP-ALS: dtf against PLANC's dense_distntf (plain CP-ALS, -a 6, with
# its dimension tree), same shape, rank, grid and ranks, alternating runs in one session.
#
#   PLANC_BIN=/path/to/dense_distntf bench/compare_planc.sh [BUILD_DIR] [REPEATS]
#
# Per-iteration time is measured two ways for both codes:
#   steady state: (T(2K iterations) - T(K iterations)) / K, which cancels each code's
#                 one-off set-up (initial Grams, norms, first partial MTTKRP);
#   with set-up:  T(K iterations) / K, PLANC's "NTF took" and dtf's init + iterations.
# Environment: DIMS (300x300x300), R (32), NP (2), GRID (2x1x1), K (10).
# PLANC is built outside this repository, by its own build; this script only runs it.
set -euo pipefail
BUILD=${1:-build}
REPEATS=${2:-5}
DIMS=${DIMS:-300x300x300} R=${R:-32} NP=${NP:-2} GRID=${GRID:-2x1x1} K=${K:-10}
: "${PLANC_BIN:?set PLANC_BIN to the dense_distntf binary of PLANC}"
. "$(dirname "$0")/../scripts/mpi-env.sh"
export OMP_NUM_THREADS=1
mpi=(mpirun -np "$NP" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
pdims=${DIMS//x/ }
pgrid=${GRID//x/ }

dtf_total() { # iterations -> seconds (set-up + iterations)
  local out
  out=$("${mpi[@]}" "$BUILD/bench/bench_cp_dense" --dims "$DIMS" --rank "$R" --iters "$1" --grid "$GRID")
  [ -n "${SHOW:-}" ] && echo "$out" >&2
  echo "$out" | awk -v it="$1" '/CP-ALS sweep/ {printf "%.5f", $5 * it}'
}
planc_total() {
  local out
  out=$("${mpi[@]}" "$PLANC_BIN" -i rand_lowrank -d "$pdims" -p "$pgrid" -k "$R" -t "$1" -a 6 --dimtree 1 -e 0)
  [ -n "${SHOW:-}" ] && echo "$out" | grep -E '^(NTF took|total_(mttkrp|comm|multittv))' | sed 's/^/planc: /' >&2
  echo "$out" | awk '/NTF took/ {printf "%.5f", $3}'
}
per() { awk -v a="$1" -v b="$2" -v k="$K" 'BEGIN {printf "%.4f", (b - a) / k}'; }
div() { awk -v a="$1" -v k="$K" 'BEGIN {printf "%.4f", a / k}'; }
# "median M  min m": the median, and the least disturbed run
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "median %.4f  min %.4f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2, a[1]}'; }

ds=() ps=() dw=() pw=()
for i in $(seq "$REPEATS"); do
  SHOW=$([ "$i" = 1 ] && echo 1 || true)
  d1=$(SHOW=$SHOW dtf_total "$K"); d2=$(dtf_total $((2 * K)))
  p1=$(SHOW=$SHOW planc_total "$K"); p2=$(planc_total $((2 * K)))
  ds+=("$(per "$d1" "$d2")"); ps+=("$(per "$p1" "$p2")")
  dw+=("$(div "$d1")"); pw+=("$(div "$p1")")
done
echo "$DIMS, R=$R, $NP ranks, grid $GRID; $REPEATS alternating repeats; s/iteration"
echo "  steady state  dtf   ${ds[*]}   $(stats "${ds[@]}")"
echo "  steady state  PLANC ${ps[*]}   $(stats "${ps[@]}")"
echo "  with set-up   dtf   ${dw[*]}   $(stats "${dw[@]}")"
echo "  with set-up   PLANC ${pw[*]}   $(stats "${pw[@]}")"
