#!/usr/bin/env bash
# Sparse Tucker against its dense copy: dtf tucker on a sparse tensor (FROSTT text) and on
# the same tensor stored dense, ST-HOSVD and HOOI at the same ranks, NP ranks. Both must
# give the same error; the table gives the median time of each and the peak memory.
#
#   bench/tucker_sparse.sh [BUILD_DIR]
#
# Environment: DIMS (400x300x200), DENSITY (0.02), RANKS (10x10x10), NP (2), SWEEPS (5),
# REPEATS (3), WORK (/tmp/dtf-bench-tucker-sparse). The tensor is a planted Tucker tensor
# (core of RANKS, entries decaying as exp(-0.3 (i + j + k)), orthonormal factors) with all
# but a DENSITY fraction of its entries set to zero. Runs alternate between the two inputs.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
DIMS=${DIMS:-400x300x200} DENSITY=${DENSITY:-0.02} RANKS=${RANKS:-10x10x10} NP=${NP:-2}
SWEEPS=${SWEEPS:-5} REPEATS=${REPEATS:-3} WORK=${WORK:-/tmp/dtf-bench-tucker-sparse}
. "$(dirname "$0")/../scripts/mpi-env.sh"
mkdir -p "$WORK" && cd "$WORK"
D="$BUILD/dtf"
if [ ! -s s.tns ]; then
  /usr/bin/python3 - "$DIMS" "$DENSITY" "$RANKS" <<'PY'
import sys, numpy as np, h5py
dims = [int(d) for d in sys.argv[1].split("x")]
dens, R = float(sys.argv[2]), [int(r) for r in sys.argv[3].split("x")]
rng = np.random.default_rng(4)
G = rng.standard_normal(R) * np.exp(-0.3 * sum(np.ix_(*[np.arange(r) for r in R])))
X = G
for n, d in enumerate(dims):
    U = np.linalg.qr(rng.standard_normal((d, R[n])))[0]
    X = np.moveaxis(np.tensordot(U, X, axes=([1], [n])), 0, n)
X[rng.random(X.shape) >= dens] = 0
with h5py.File("d.h5", "w") as f: f["X"] = X
nz = np.nonzero(X)
np.savetxt("s.tns", np.column_stack([i + 1 for i in nz] + [X[nz]]), fmt=["%d"] * len(dims) + ["%.17g"])
print(f"{len(nz[0])} entries")
PY
fi
: >times.csv
for rep in $(seq "$REPEATS"); do
  for method in sthosvd hooi; do
    extra=(); [ "$method" = hooi ] && extra=(--method hooi -i "$SWEEPS")
    for input in s.tns d.h5; do
      /usr/bin/time -f "%M" -o rss.txt mpirun --oversubscribe -np "$NP" "$D" tucker "$input" --ranks "$RANKS" \
        "${extra[@]}" -q --json run.json >/dev/null
      /usr/bin/python3 - "$method" "$input" "$(cat rss.txt)" >>times.csv <<'PY'
import json, sys
j = json.load(open("run.json"))
print(f"{sys.argv[1]},{sys.argv[2]},{j['time_solve_s']:.4f},{j['relative_error']:.12f},{int(sys.argv[3]) / 1024:.0f}")
PY
    done
  done
done
/usr/bin/python3 - <<'PY'
import csv, statistics as st
rows = list(csv.reader(open("times.csv")))
print("| method | input | median solve s | relative error | peak RSS MB (mpirun's largest rank) |")
print("|---|---|---|---|---|")
med = {}
for m in ("sthosvd", "hooi"):
    for i in ("s.tns", "d.h5"):
        r = [x for x in rows if x[0] == m and x[1] == i]
        med[m, i] = st.median(float(x[2]) for x in r)
        print(f"| {m} | {i} | {med[m, i]:.3f} | {r[0][3]} | {max(int(x[4]) for x in r)} |")
    errs = {x[3] for x in rows if x[0] == m}
    print(f"| {m} | sparse / dense time | {med[m, 's.tns'] / med[m, 'd.h5']:.3f} | {'same' if len(errs) == 1 else 'DIFFER'} | |")
PY
