#!/usr/bin/env bash
# cp.sh CASE: dtf cp with constraints and row updates (--constraint, --update).
#   nonneg          a planted nonnegative rank-4 tensor (30% zeros in its factors, 1% noise), dense and
#                   sparse: every factor entry >= 0, factor match with the planted factors >= 0.99, the
#                   fit within 1e-4 of unconstrained ALS's; the JSON and the model file name the updates;
#                   --update bpp (exact nonnegative least squares) the same, at HALS's fit within 1e-5
#   mixed           --constraint nonneg,2:none: modes 1 and 3 nonnegative by HALS, mode 2 by ALS;
#                   --update hals without a constraint reaches unconstrained ALS's fit
#   ranks           --constraint nonneg on 1, 2, 3 and 4 ranks (hals dense and sparse, bpp dense): the same
#                   fit (relative 1e-12) and factors
#   svd             --init svd from the seeds whose random start stops at a plateau (fit 0.60) on a planted
#                   rank-5 tensor: fit >= 0.9999; 1 to 4 ranks give the same fits (1e-9)
#   resume          --constraint nonneg, checkpoint and resume: bit for bit the uninterrupted run; a resume
#                   with another constraint is refused, naming both
. "$(dirname "$0")/lib.sh"
set -e
case=$1
# planted: p.h5 (dense), p.tns (its nonzero cells), truth.npz
"$PYTHON" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(7)
A = [rng.random((d, 4)) for d in (30, 25, 20)]
for a in A:
    a[rng.random(a.shape) < 0.3] = 0
X = np.einsum("ir,jr,kr->ijk", *A)
X = np.maximum(X + 0.01 * X.std() * rng.standard_normal(X.shape), 0)
with h5py.File("p.h5", "w") as f: f["X"] = X
with open("p.tns", "w") as f:
    for idx in zip(*np.nonzero(X)): f.write(" ".join(str(i + 1) for i in idx) + " %.17g\n" % X[idx])
np.savez("truth.npz", *A)
PY
check() { # check MODEL JSON NONNEG_MODES: nonnegative modes, factor match with the truth
  "$PYTHON" - "$@" <<'PY'
import sys, json, itertools, h5py, numpy as np
m, s, modes = h5py.File(sys.argv[1]), json.load(open(sys.argv[2])), [int(k) for k in sys.argv[3].split(",") if k]
B = [m[f"factor_{n}"][:] for n in range(3)]
for n in modes:
    assert B[n].min() >= 0, (n, B[n].min())
t = np.load("truth.npz")
A = [t[f"arr_{n}"] / np.linalg.norm(t[f"arr_{n}"], axis=0) for n in range(3)]
C = np.ones((4, 4))
for a, b in zip(A, B): C *= np.abs(a.T @ (b / np.linalg.norm(b, axis=0)))
fms = max(np.mean([C[i, p[i]] for i in range(4)]) for p in itertools.permutations(range(4)))
print("fit", s["fit"], "fms", fms, "constraint", s["constraint"], "update", s["update"])
assert fms >= 0.99, fms
PY
}
case $case in
nonneg)
  for input in p.h5 p.tns; do
    dtfrun 2 cp $input -r 4 -i 300 --tol 1e-8 --json free.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "cp $input: exit $RC"; }
    dtfrun 2 cp $input -r 4 -i 300 --tol 1e-8 --constraint nonneg -o m.h5 --json s.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "cp $input --constraint nonneg: exit $RC"; }
    check m.h5 s.json 0,1,2
    "$PYTHON" - <<'PY'
import json, h5py
s, f, m = json.load(open("s.json")), json.load(open("free.json")), h5py.File("m.h5")
assert s["constraint"] == "nonneg,nonneg,nonneg" and s["update"] == "hals,hals,hals", s
assert m.attrs["constraint"] == b"nonneg,nonneg,nonneg" and m.attrs["update"] == b"hals,hals,hals"
assert f["update"] == "als,als,als", f
assert s["fit"] >= f["fit"] - 1e-4, (s["fit"], f["fit"])
PY
    dtfrun 2 cp $input -r 4 -i 300 --tol 1e-8 --constraint nonneg --update bpp -o m.h5 --json b.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "cp $input --update bpp: exit $RC"; }
    check m.h5 b.json 0,1,2
    "$PYTHON" -c '
import json; s, b = (json.load(open(x)) for x in ("s.json", "b.json"))
assert b["update"] == "bpp,bpp,bpp" and abs(b["fit"] - s["fit"]) < 1e-5, (b["update"], b["fit"], s["fit"])'
  done
  ;;
mixed)
  dtfrun 2 cp p.h5 -r 4 -i 300 --tol 1e-8 --constraint nonneg,2:none -o m.h5 --json s.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "--constraint nonneg,2:none: exit $RC"; }
  check m.h5 s.json 0,2
  [ "$(json_get s.json update)" = "hals,als,hals" ] || fail "updates: $(json_get s.json update)"
  dtfrun 2 cp p.h5 -r 4 -i 300 --tol 1e-8 --json free.json -q
  dtfrun 2 cp p.h5 -r 4 -i 1000 --tol 1e-10 --update hals --json cd.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "--update hals: exit $RC"; }
  "$PYTHON" -c '
import json; f, c = (json.load(open(x)) for x in ("free.json", "cd.json"))
print(f["fit"], c["fit"], c["update"]); assert c["update"] == "hals,hals,hals" and abs(c["fit"] - f["fit"]) < 1e-5'
  ;;
ranks)
  for run in "p.h5 hals" "p.tns hals" "p.h5 bpp"; do
    set -- $run
    input=$1
    for np in 1 2 3 4; do
      dtfrun $np cp $input -r 4 -i 30 --tol 0 --constraint nonneg --update $2 -o m$np.h5 --json s$np.json -q
      [ "$RC" -eq 0 ] || { cat err.txt; fail "$input on $np ranks: exit $RC"; }
    done
    "$PYTHON" - <<'PY'
import json, h5py, numpy as np
f1, m1 = json.load(open("s1.json"))["fit"], h5py.File("m1.h5")
for np_ in (2, 3, 4):
    f, m = json.load(open(f"s{np_}.json"))["fit"], h5py.File(f"m{np_}.h5")
    assert abs(f - f1) <= 1e-12 * abs(f1), (np_, f, f1)
    for n in range(3):
        d = np.abs(m[f"factor_{n}"][:] - m1[f"factor_{n}"][:]).max()
        assert d <= 1e-9, (np_, n, d)
print("fits", f1)
PY
  done
  ;;
resume)
  dtfrun 2 cp p.h5 -r 4 -i 12 --tol 0 --constraint nonneg --json full.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "full run: exit $RC"; }
  dtfrun 2 cp p.h5 -r 4 -i 6 --tol 0 --constraint nonneg --checkpoint c.h5 --checkpoint-every 6 -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "first half: exit $RC"; }
  dtfrun 2 cp p.h5 -r 4 -i 12 --tol 0 --constraint nonneg,3:none --checkpoint c.h5 --resume
  [ "$RC" -eq 2 ] || { cat err.txt; fail "a resume with another constraint: exit $RC, not 2"; }
  grep -qF "was made with --constraint (nonneg,nonneg,nonneg); this run has --constraint (nonneg,nonneg,none)" err.txt ||
    { cat err.txt; fail "the refusal does not name both constraints"; }
  dtfrun 2 cp p.h5 -r 4 -i 12 --tol 0 --constraint nonneg --checkpoint c.h5 --resume --json half.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "resume: exit $RC"; }
  grep -q "resumed from c.h5 at iteration 6" err.txt || { cat err.txt; fail "did not resume"; }
  "$PYTHON" -c '
import json; a, b = (json.load(open(f))["fit_history"] for f in ("full.json", "half.json")); print(a[-1], b[-1]); assert a == b, (a, b)'
  ;;
svd)
  # a rank-5 tensor on which 3 of 10 random starts stop at a plateau near fit 0.60 (docs/algorithms.md)
  dtfrun 2 generate -o g.h5 --dims 60x50x40 --rank 5 --seed 0 -q
  for seed in 0 3 4; do
    dtfrun 2 cp g.h5 -r 5 --seed $seed --init svd --json s.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "--init svd, seed $seed: exit $RC"; }
    "$PYTHON" -c '
import json; s = json.load(open("s.json")); print(s["init"], s["fit"]); assert s["init"] == "svd" and s["fit"] >= 0.9999, s["fit"]'
  done
  for np in 1 2 3 4; do
    dtfrun $np cp g.h5 -r 5 --init svd -i 4 --tol 0 --json s$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "--init svd on $np ranks: exit $RC"; }
  done
  "$PYTHON" -c '
import json; f = [json.load(open(f"s{k}.json"))["fit_history"] for k in (1, 2, 3, 4)]; print(f[0])
assert all(abs(a - b) <= 1e-9 for h in f[1:] for a, b in zip(h, f[0])), f'
  ;;
*) fail "unknown case $case" ;;
esac
echo PASS
