#!/usr/bin/env bash
# Side-by-side sparse CP-ALS: dtf against SPLATT's MPI `splatt cpd` (medium-grained, one
# thread per rank), same tensor, rank, ranks and number of iterations, alternating runs.
#
#   SPLATT_BIN=/path/to/splatt bench/compare_splatt.sh [BUILD_DIR] [REPEATS]
#
# Environment: DIMS (200000x100000x50000), NNZ (10000000), R (16), NP (2), ITERS (10),
# WORK (a scratch directory, default /tmp/dtf-bench-sparse). The tensor is made once with
# `dtf generate --nnz` as .tns text (SPLATT's input) and converted to HDF5 (dtf's); the
# conversion's throughput is reported too. Per-iteration times: dtf's time_per_iter_s
# (the iterations, no set-up) and SPLATT's "CPD" time / ITERS (its iteration loop).
# SPLATT is built outside this repository, by its own build; this script only runs it.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REPEATS=${2:-3}
DIMS=${DIMS:-200000x100000x50000} NNZ=${NNZ:-10000000} R=${R:-16} NP=${NP:-2} ITERS=${ITERS:-10}
WORK=${WORK:-/tmp/dtf-bench-sparse}
: "${SPLATT_BIN:?set SPLATT_BIN to the splatt binary}"
. "$(dirname "$0")/../scripts/mpi-env.sh"
export OMP_NUM_THREADS=1
mpi=(mpirun -np "$NP" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
mkdir -p "$WORK" && cd "$WORK"
if [ ! -s x.tns ]; then
  "${mpi[@]}" "$BUILD/dtf" generate -o x.tns --dims "$DIMS" --rank "$R" --nnz "$NNZ" --noise 0.1 -q
fi
"${mpi[@]}" "$BUILD/dtf" convert x.tns x.h5 --json convert.json -q
echo "convert: $(grep -o '"text_bytes": [0-9.e+]*' convert.json), $(grep -o '"time_read_s": [0-9.]*' convert.json) on $NP ranks"
for i in $(seq "$REPEATS"); do
  "${mpi[@]}" "$BUILD/dtf" cp x.h5 -r "$R" -i "$ITERS" --tol 0 --json dtf.json -q >/dev/null
  d=$(awk -F': ' '/"time_per_iter_s"/ {sub(/,/, "", $2); printf "%.3f", $2}' dtf.json)
  dc=$(awk -F': ' '/"comm_bytes_per_iter"/ {sub(/,/, "", $2); printf "%.1f", $2 / 1e6}' dtf.json)
  out=$("${mpi[@]}" "$SPLATT_BIN" cpd x.tns -r "$R" -i "$ITERS" --tol 0 -t 1 --seed 1 --nowrite)
  s=$(echo "$out" | awk -v it="$ITERS" '/CPD / {gsub(/s/, "", $2); printf "%.3f", $2 / it}')
  vol=$(echo "$out" | awk '/MAX COMMUNICATION VOL/ {print $3}' | cut -d= -f2)
  echo "repeat $i: s/iteration dtf $d  SPLATT $s;  MB/iteration per rank: dtf $dc (counted), SPLATT $(awk -v v="${vol:-0}" -v r="$R" 'BEGIN {printf "%.1f", v * r * 8 / 1e6}') (its row estimate x R x 8)"
done
