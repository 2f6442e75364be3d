#!/usr/bin/env bash
# Tensor-ring ALS side by side: dtf tr (exact and sampled) against TensorLy's
# tensor_ring_als and tensor_ring_als_sampled on the same planted ring, plus dtf's rates
# against OpenBLAS DGEMM in the same session (bench_tr) and a sparse tensor.
#
#   TENSORLY_SRC=/path/to/tensorly bench/compare_tr.sh [BUILD_DIR]
#
# Environment: I (80: an I^4 tensor), BOND (8), SWEEPS (8: exact runs; sampled runs make
# 4 x SWEEPS, their sweeps being far cheaper), J (samples per core update, 5000), NNZ
# (sparse entries, 4000000), WORK (scratch, /tmp/dtf-bench-tr). The ring has
# normal cores (bonds BOND) plus noise of 1% of its RMS; the best relative error is then
# about 0.01. TensorLy runs from its source with Debian's numpy (/usr/bin/python3) and
# one BLAS thread; without TENSORLY_SRC only dtf runs. Output: one line per run (median
# seconds per sweep over sweeps 2..SWEEPS, relative error after SWEEPS sweeps).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
I=${I:-80} BOND=${BOND:-8} SWEEPS=${SWEEPS:-8} J=${J:-5000} NNZ=${NNZ:-4000000}
WORK=${WORK:-/tmp/dtf-bench-tr}
. "$(dirname "$0")/../scripts/mpi-env.sh"
mkdir -p "$WORK" && cd "$WORK"
if [ ! -s ring.h5 ]; then
  /usr/bin/python3 - "$I" "$BOND" <<'PY'
import sys, numpy as np, h5py
I, R = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
G = [rng.standard_normal((R, I, R)) / np.sqrt(R) for _ in range(4)]
X = np.einsum("aib,bjc,ckd,dla->ijkl", *G, optimize=True)
X += 0.01 * X.std() * rng.standard_normal(X.shape)
with h5py.File("ring.h5", "w") as f: f["X"] = X
np.save("ring.npy", X)
PY
fi
echo "== dtf rates against DGEMM (bench_tr, 2 ranks, ${I}^4, bonds $BOND)"
mpirun -np 2 "$BUILD/bench/bench_tr" --dims "${I}x${I}x${I}x${I}" --bond "$BOND" --iters "$SWEEPS" --sampled "$J"

# median seconds of sweeps 2.. from dtf's progress lines (a sampled run: of the sweeps that
# did not compute the exact fit, "fit -")
median_sweep() {
  awk -v sampled="${2:-0}" '/^iter/ && $2 > 1 && (!sampled || $4 == "-") {
    for (i = 1; i <= NF; i++) if ($i == "s") print $(i - 1) }' "$1" | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
for np in 1 2; do
  mpirun -np $np "$BUILD/dtf" tr ring.h5 -r "$BOND" -i "$SWEEPS" --tol 0 --json exact$np.json 2>exact$np.log >/dev/null
  mpirun -np $np "$BUILD/dtf" tr ring.h5 -r "$BOND" -i $((4 * SWEEPS)) --tol 0 --sampled "$J" \
    --fit-every $((4 * SWEEPS)) --json sampled$np.json 2>sampled$np.log >/dev/null
  for run in exact sampled; do
    /usr/bin/python3 - "$run" "$np" "$(median_sweep $run$np.log "$([ $run = sampled ] && echo 1 || echo 0)")" <<'PY'
import json, sys
run, np_, t = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open(f"{run}{np_}.json"))
print(f"dtf {run:8s} np={np_}  {t:.4f} s/sweep  relative error {1 - d['fit']:.5f} after {d['iterations']} sweeps")
PY
  done
done
if [ -n "${TENSORLY_SRC:-}" ]; then
  for s in 0 "$J"; do
    OPENBLAS_NUM_THREADS=1 PYTHONPATH="$TENSORLY_SRC" /usr/bin/python3 - "$BOND" "$SWEEPS" "$s" 2>/dev/null <<'PY'
import sys, time, numpy as np
import tensorly as tl
from tensorly.decomposition import tensor_ring_als, tensor_ring_als_sampled
X = np.load("ring.npy"); R, sweeps, J = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
stamps = []
cb = lambda tr, err: stamps.append(time.perf_counter())
t0 = time.perf_counter()
if J:
    out = tensor_ring_als_sampled(X, R, n_samples=J, n_iter_max=4 * sweeps, tol=0, random_state=1, callback=cb)
else:
    out = tensor_ring_als(X, R, n_iter_max=sweeps, tol=0, random_state=1, callback=cb)
sw = np.diff([t0] + stamps)[1:]  # the first callback comes before any sweep
err = np.linalg.norm(X - tl.tr_to_tensor(out)) / np.linalg.norm(X)
name = "sampled" if J else "exact"
print(f"TensorLy {name:8s} np=1  {np.median(sw[1:]):.4f} s/sweep  relative error {err:.5f} after {len(sw)} sweeps")
PY
  done
fi
echo "== sparse: dtf generate --nnz $NNZ (200000x100000x50000), bonds $BOND, 2 ranks"
[ -s sparse.h5 ] || mpirun -np 2 "$BUILD/dtf" generate -o sparse.h5 --dims 200000x100000x50000 --rank 8 --nnz "$NNZ" \
  --noise 0.1 -q
mpirun -np 2 "$BUILD/dtf" tr sparse.h5 -r "$BOND" -i 4 --tol 0 --json sparse.json 2>sparse.log >/dev/null
/usr/bin/python3 - "$(median_sweep sparse.log)" "$NNZ" "$BOND" <<'PY'
import sys
t, nnz, R = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
# per entry and core: the design row (N - 2 products of R x R matrices) and its update
flops = nnz * 3 * (2 * 1 * R ** 3 + 2 * R * R)
print(f"dtf sparse np=2  {t:.4f} s/sweep  {flops / t / 1e9:.2f} GFLOP/s (per entry and core: 2 (N-2) R^3 + 2 R^2)")
PY
