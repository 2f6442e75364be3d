#!/usr/bin/env bash
# Tensor completion side by side: dtf complete (online EM, batch EM, ALS) against SPLATT's
# `splatt complete` (its sc16 branch; ALS over several regularisations, and CCD++), on one
# train / validation / test split of a planted sparse tensor, the same rank.
#
#   SPLATT_BIN=/path/to/splatt bench/compare_complete.sh [BUILD_DIR]
#
# Environment: DIMS (2000x1500x1000), NNZ (22500000: about 20 million train entries),
# R (10), NP (2), EPOCHS (20), REGS (SPLATT's ALS ridges, "0.01 0.1 1"), WORK (scratch,
# default /tmp/dtf-bench-complete). The tensor is `dtf generate --nnz` (the planted
# model's values plus noise of sd 0.1 x RMS at the listed entries), split 88.9 / 5.6 /
# 5.6 % at random by awk; dtf trains on train and reports test, SPLATT trains on train,
# validates on validation and reports test. Without SPLATT_BIN only dtf runs.
# Output: one line per run (seconds per epoch, final test RMSE, bytes per epoch), the time
# each dtf algorithm needs to reach batch EM's final test RMSE, and curves.csv
# (run, seconds, test or validation RMSE per epoch) for the plot (bench/plot_complete.py).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
DIMS=${DIMS:-2000x1500x1000} NNZ=${NNZ:-22500000} R=${R:-10} NP=${NP:-2} EPOCHS=${EPOCHS:-20}
REGS=${REGS:-0.01 0.1 1}
WORK=${WORK:-/tmp/dtf-bench-complete}
. "$(dirname "$0")/../scripts/mpi-env.sh"
export OMP_NUM_THREADS=1
mpi=(mpirun -np "$NP" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
mkdir -p "$WORK" && cd "$WORK"
if [ ! -s test.tns ]; then
  "${mpi[@]}" "$BUILD/dtf" generate -o all.tns --dims "$DIMS" --rank "$R" --nnz "$NNZ" --noise 0.1 --seed 3 -q
  awk 'BEGIN {srand(11)} {r = rand(); f = r < 0.8889 ? "train.tns" : r < 0.9444 ? "val.tns" : "test.tns"; print > f}' all.tns
  rm all.tns
fi
echo "train $(wc -l <train.tns), validation $(wc -l <val.tns), test $(wc -l <test.tns) entries; rank $R; $NP ranks"
echo "run,seconds,rmse" >curves.csv
for alg in batch online als; do
  "${mpi[@]}" "$BUILD/dtf" complete train.tns --test test.tns -r "$R" --algorithm "$alg" -i "$EPOCHS" --tol 0 \
    --json "dtf-$alg.json" -q >/dev/null
  /usr/bin/python3 - "$alg" <<'PY'
import json, sys
a = sys.argv[1]; d = json.load(open(f"dtf-{a}.json"))
print(f"dtf {a:7s} {d['time_per_iter_s']:.3f} s/epoch  test RMSE {d['test_rmse']:.5f}  rank {d['effective_rank']}  "
      f"{d['comm_bytes_per_iter'] / 1e6:.2f} MB/epoch per rank")
with open("curves.csv", "a") as f:
    for t, r in zip(d["seconds_history"], d["test_rmse_history"]): f.write(f"dtf {a},{t},{r}\n")
PY
done
/usr/bin/python3 - <<'PY'
import json
target = json.load(open("dtf-batch.json"))["test_rmse"]
for a in ("batch", "online", "als"):
    d = json.load(open(f"dtf-{a}.json"))
    t = next((t for t, r in zip(d["seconds_history"], d["test_rmse_history"]) if r <= target), None)
    print(f"dtf {a:7s} reaches batch EM's final test RMSE {target:.5f} after " + (f"{t:.1f} s" if t else "(never)"))
PY
if [ -n "${SPLATT_BIN:-}" ]; then
for alg in als ccd; do
    for reg in $REGS; do
    [ "$alg" = ccd ] && [ "$reg" != "$(echo "$REGS" | awk '{print $2}')" ] && continue
    out=$(OMP_NUM_THREADS=$NP "$SPLATT_BIN" complete train.tns val.tns test.tns -a "$alg" -r "$R" -i "$EPOCHS" \
      -t "$NP" --reg "$reg" --seed 1 --tol 0 --nowrite)
    echo "$out" | awk -v run="splatt $alg reg $reg" '/^epoch:/ {for (i = 1; i <= NF; i++) {if ($i == "RMSE-vl:") v = $(i + 1); if ($i == "time:") {t = $(i + 1); sub(/s/, "", t)}} print run "," t "," v}' >>curves.csv
    echo "$out" | awk -v a="$alg" -v reg="$reg" -v n="$EPOCHS" '/^epoch:/ {for (i = 1; i <= NF; i++) if ($i == "time:") {t = $(i + 1); sub(/s/, "", t)}} /TEST RMSE/ {rm = $3} END {printf "splatt %s reg %-5s %.3f s/epoch  test RMSE %s\n", a, reg, t / n, rm}'
    done
  done
fi
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 "$(dirname "$0")/plot_complete.py" curves.csv complete_rmse.png && echo "plot: $WORK/complete_rmse.png"
fi
