#!/usr/bin/env bash
# Tucker side by side: dtf tucker's ST-HOSVD (LAPACK, ScaLAPACK and randomized paths) and
# TuckerMPI's sthosvd on the same dense tensor and tolerance, at 2 and 4 ranks; a mode
# whose Gram does not fit one rank's --max-mem; --budget against the greedy rule.
#
#   TUCKER_RUN=/path/to/run_sthosvd.sh bench/compare_tucker.sh [BUILD_DIR]
#
# TUCKER_RUN: a script, kept outside the repository with the TuckerMPI build it runs, that
# takes NP FILE.h5 TOL and prints TUCKER_TOTAL_S=, TUCKER_RANKS= and TUCKER_ERROR_BOUND=
# (TuckerMPI's ST-HOSVD time, max over ranks, its ranks and sqrt(sum of the left-out
# eigenvalues) / ||X||). Without it only dtf runs.
# Environment: I (120: an I^4 tensor), CORE (20), TOL (0.01), NPS ("2 4"), REPEATS (3),
# BIG (8000: the BIG x 60 x 60 tensor of the memory case, at 8 ranks), WORK (/tmp/dtf-bench-tucker).
# The I^4 tensor is a planted Tucker tensor (core CORE^4 with entries decaying as
# exp(-0.25 (i + j + k + l)), orthonormal factors) plus noise of 1e-4 of its RMS. Runs
# alternate between the codes; the tables give medians over REPEATS.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
I=${I:-120} CORE=${CORE:-20} TOL=${TOL:-0.01} NPS=${NPS:-2 4} REPEATS=${REPEATS:-3} BIG=${BIG:-8000}
WORK=${WORK:-/tmp/dtf-bench-tucker}
. "$(dirname "$0")/../scripts/mpi-env.sh"
mkdir -p "$WORK" && cd "$WORK"
D="$BUILD/dtf"
if [ ! -s t.h5 ]; then
  /usr/bin/python3 - "$I" "$CORE" <<'PY'
import sys, numpy as np, h5py
I, C = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(3)
a = np.arange(C)
G = rng.standard_normal((C,) * 4) * np.exp(-0.25 * (a[:, None, None, None] + a[None, :, None, None] + a[None, None, :, None] + a[None, None, None, :]))
U = [np.linalg.qr(rng.standard_normal((I, C)))[0] for _ in range(4)]
X = G
for n in range(4):  # X x_n U_n, one tensordot a mode
    X = np.moveaxis(np.tensordot(U[n], X, axes=([1], [n])), 0, n)
X += 1e-4 * X.std() * rng.standard_normal(X.shape)
with h5py.File("t.h5", "w") as f: f["X"] = X
PY
fi
: >times.csv
for rep in $(seq "$REPEATS"); do
  for np in $NPS; do
    for eig in lapack scalapack randomized; do
      mpirun -np "$np" --oversubscribe "$D" tucker t.h5 --tol "$TOL" --eig "$eig" --json "d-$eig-$np.json" -q >/dev/null
      /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], d["time_solve_s"], d["relative_error"], "x".join(map(str, d["ranks"])), d["compression"], "x".join(map(str, d["grid"])), sep=",")' \
        "d-$eig-$np.json" "dtf-$eig" "$np" >>times.csv
    done
    if [ -n "${TUCKER_RUN:-}" ]; then
      out=$("$TUCKER_RUN" "$np" t.h5 "$TOL" 2>&1) || { echo "$out" | tail -5; exit 1; }
      t=$(sed -n 's/^TUCKER_TOTAL_S=//p' <<<"$out") r=$(sed -n 's/^TUCKER_RANKS=//p' <<<"$out" | tr ' ,' 'xx')
      e=$(sed -n 's/^TUCKER_ERROR_BOUND=//p' <<<"$out")
      echo "tuckermpi,$np,$t,$e,$r,," >>times.csv
    fi
  done
done
/usr/bin/python3 - "$I" "$TOL" <<'PY'
import csv, statistics, sys
rows = list(csv.reader(open("times.csv")))
print(f"\nST-HOSVD of a {sys.argv[1]}^4 tensor, --tol {sys.argv[2]}: median seconds over the repeats")
print("| code | ranks | s | relative error | core shape | grid | vs TuckerMPI |")
print("|---|---|---|---|---|---|---|")
med = {}
for code, np_ in sorted({(r[0], r[1]) for r in rows}, key=lambda k: (int(k[1]), k[0])):
    rs = [r for r in rows if (r[0], r[1]) == (code, np_)]
    med[(code, np_)] = statistics.median(float(r[2]) for r in rs)
for (code, np_), t in med.items():
    r = [x for x in rows if (x[0], x[1]) == (code, np_)][-1]
    ref = med.get(("tuckermpi", np_))
    print(f"| {code} | {np_} | {t:.3f} | {float(r[3]):.4g} | {r[4]} | {r[6] or '-'} | {t / ref:.2f} |" if ref else
          f"| {code} | {np_} | {t:.3f} | {float(r[3]):.4g} | {r[4]} | {r[6] or '-'} | |")
PY

echo
echo "== a ${BIG} x 60 x 60 tensor at 8 ranks, --max-mem 400M: the replicated Gram (LAPACK) against ScaLAPACK and the randomized path"
if [ ! -s big.h5 ]; then
  /usr/bin/python3 - "$BIG" <<'PY'
import sys, numpy as np, h5py
I = int(sys.argv[1]); rng = np.random.default_rng(4)
U = np.linalg.qr(rng.standard_normal((I, 10)))[0]
X = np.einsum("abc,ia,jb,kc->ijk", rng.standard_normal((10, 8, 8)), U, rng.standard_normal((60, 8)), rng.standard_normal((60, 8)))
h5py.File("big.h5", "w")["X"] = X + 1e-3 * X.std() * rng.standard_normal(X.shape)
PY
fi
mpirun -np 8 --oversubscribe "$D" tucker big.h5 --ranks 10x8x8 --eig lapack --max-mem 400M -q 2>&1 | grep "error:" || true
mpirun -np 8 --oversubscribe "$D" tucker big.h5 --ranks 10x8x8 --max-mem 400M --json big.json -q
/usr/bin/python3 -c 'import json; d = json.load(open("big.json")); print("ScaLAPACK (automatic):", round(d["time_solve_s"], 2), "s, relative error %.4g," % d["relative_error"], "peak RSS %.0f MB per rank (max)" % (d["peak_rss_bytes_max"] / 1e6), ", Gram + eigen %.2f s" % (d["time_gram_s"] + d["time_eigen_s"]))'
for q in 0 1; do # no Gram at all: the randomized range finder, without and with a power iteration
  mpirun -np 8 --oversubscribe "$D" tucker big.h5 --ranks 10x8x8 --eig randomized --power $q --max-mem 400M --json bigr$q.json -q >/dev/null
  /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("randomized, --power", sys.argv[2] + ":", round(d["time_solve_s"], 2), "s, relative error %.6g," % d["relative_error"], "peak RSS %.0f MB per rank (max)" % (d["peak_rss_bytes_max"] / 1e6))' bigr$q.json $q
done

echo
echo "== --budget against the greedy rule (a 40^4 slice of the tensor, spectra by numpy)"
/usr/bin/python3 - <<'PY'
import numpy as np, h5py
X = h5py.File("t.h5")["X"][:40, :40, :40, :40]
h5py.File("small.h5", "w")["X"] = X
unf = lambda T, n: np.moveaxis(T, n, 0).reshape(T.shape[n], -1)
tails = []
for n in range(4):
    ev = np.linalg.svd(unf(X, n), compute_uv=False) ** 2
    tails.append(np.concatenate([np.cumsum(ev[::-1])[::-1], [0.0]]))
np.save("tails.npy", np.array(tails, dtype=object), allow_pickle=True)
PY
for P in 2000 8000 30000; do
  mpirun -np 2 "$D" tucker small.h5 --budget "$P" --json b$P.json -q >/dev/null
  shape=$(/usr/bin/python3 - "$P" <<'PY'
import sys, time, numpy as np
P = float(sys.argv[1]); tails = np.load("tails.npy", allow_pickle=True); dims = [len(t) - 1 for t in tails]
t0 = time.perf_counter(); R = [1] * 4
size = lambda R: np.prod(R) + sum(r * d for r, d in zip(R, dims))
while True:  # greedy: the mode whose next rank removes the most error per added number
    best, arg = 0, None
    for n in range(4):
        if R[n] == dims[n]: continue
        S = R.copy(); S[n] += 1
        if size(S) > P: continue
        gain = (tails[n][R[n]] - tails[n][S[n]]) / (size(S) - size(R))
        if gain > best: best, arg = gain, n
    if arg is None: break
    R[arg] += 1
t = time.perf_counter() - t0
print("x".join(map(str, R)), "%.3g" % t, "%.4g" % np.sqrt(sum(tails[n][R[n]] for n in range(4)) / tails[0][0]))
PY
)
  mpirun -np 2 "$D" tucker small.h5 --ranks "${shape%% *}" --json g$P.json -q >/dev/null
  /usr/bin/python3 - "$P" "$shape" <<'PY'
import json, sys
P, (gshape, gt, gb) = sys.argv[1], sys.argv[2].split()
b, g = json.load(open(f"b{P}.json")), json.load(open(f"g{P}.json"))
print(f"budget {P}: exact {'x'.join(map(str, b['ranks']))} ({b['parameters']:.0f} numbers) bound {b['budget_bound']:.4g} "
      f"error {b['relative_error']:.4g}, search + spectra {b['time_budget_s']:.3f} s | greedy {gshape} "
      f"({g['parameters']:.0f} numbers) bound {gb} error {g['relative_error']:.4g}, {gt} s")
PY
done
