#!/usr/bin/env bash
# tucker.sh CASE: dtf tucker (distributed ST-HOSVD) against numpy.
#   svd            full ranks: every mode's eigenvalues are the squared singular values of the
#                  unfolding (numpy's SVD, relative 1e-9); ranks 5x4x3x3: each factor spans the
#                  subspace of numpy's ST-HOSVD (projectors within 1e-8), the core and the error match
#   order          --order 3,1,4,2: the error of numpy's ST-HOSVD in that order; --order auto
#                  takes the modes by decreasing I_n / R_n
#   tol            noisy tensors, EPS 0.05, 0.1, 0.3: the error of the written model (numpy) is at
#                  most EPS and equals the reported one; no rank could be smaller by the rule
#   ranks          1, 2, 3 and 4 ranks give the same error (relative 1e-9) and, with --tol, the same core
#   eval-predict   eval gives tucker's fit, predict the model's values (numpy), info the core's shape
#   scaled         a tensor times 1e150 and 1e-160: the same error (relative 1e-9)
#   reconstruct    the full reconstruction equals numpy's; a slab (3 ranks) equals the same block
#                  of the full one (2 ranks), bit for bit
#   hooi           HOOI sweeps after ST-HOSVD: the error after each sweep equals numpy's HOOI
#                  from the same start (relative 1e-9), never rises; 1-4 ranks agree
#   hooi-resume    HOOI checkpointed after 2 sweeps and resumed ends bit for bit where an
#                  uninterrupted run does
#   budget         --budget P for several P: the shape equals a brute-force search over every
#                  shape (numpy's spectra), its bound is reported, the error is at most the bound
#   scalapack      the LAPACK and ScaLAPACK eigen paths at 1-4 ranks: the same error (relative
#                  1e-9), ranks (--tol) and factor subspaces (1e-9), ST-HOSVD and HOOI
#   randomized     --eig randomized: with ranks, the error within 1.05 x the exact path's, and
#                  with --power 2 within 1.005 x and below the error without (1 and 3 ranks
#                  agree); with --tol, the error at most EPS, also where the sketch must grow past
#                  32 columns; 1-4 ranks agree (relative 1e-9)
#   memory         a 1200-index mode at 8 ranks under --max-mem 11M: the LAPACK path is refused
#                  naming the Gram, the automatic choice takes ScaLAPACK and matches numpy
#   sparse         a Tucker tensor with 70% of its entries zeroed, as FROSTT text and as a dense
#                  dataset: ST-HOSVD and HOOI of the text at 1 and 4 ranks give the dense path's
#                  fit after each step, eigenvalues, core and factors (relative 1e-9); --tol (by
#                  ScaLAPACK) the same ranks, --budget the same shape; eval of the model gives its
#                  fit; HOOI checkpointed on 2 ranks and resumed on 3 ends where an uninterrupted
#                  run does; a failed Gram exits 2 on every rank
#   aminoacid DIR  DIR/aminoacid.tns and DIR/aminoacid.h5 (../shared/data), HOOI 3x3x3: the same
#                  error from the sparse and the dense path
. "$(dirname "$0")/lib.sh"
set -e
case=$1
make() { # make NAME DIMS NOISE [SCALE]: a Tucker tensor with core 6x5x4x4 and decaying spectrum, plus noise
  "$PYTHON" - "$@" <<'PY'
import sys, numpy as np, h5py
name, dims, noise = sys.argv[1], [int(d) for d in sys.argv[2].split("x")], float(sys.argv[3])
scale = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
rng = np.random.default_rng(5)
core = rng.standard_normal((6, 5, 4, 4)) * np.exp(-0.4 * np.add.outer(np.add.outer(np.arange(6), np.arange(5)), np.add.outer(np.arange(4), np.arange(4))))
U = [np.linalg.qr(rng.standard_normal((d, r)))[0] for d, r in zip(dims, core.shape)]
X = np.einsum("abcd,ia,jb,kc,ld->ijkl", core, *U)
X = X + noise * X.std() * rng.standard_normal(X.shape)
with h5py.File(f"{name}.h5", "w") as f: f["X"] = X * scale
PY
}
case $case in
svd)
  make t 14x12x10x9 0.05
  dtfrun 2 tucker t.h5 --ranks 14x12x10x9 --json full.json -o full.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker full ranks: exit $RC"; }
  dtfrun 3 tucker t.h5 --ranks 5x4x3x3 --json s.json -o m.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker 5x4x3x3: exit $RC"; }
  tail -2 err.txt
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
X = h5py.File("t.h5")["X"][...]
nx = np.linalg.norm(X)
unf = lambda T, n: np.moveaxis(T, n, 0).reshape(T.shape[n], -1)
full = json.load(open("full.json"))
for n in range(4):
    ev = np.array(full[f"eigenvalues_{n}"]) * nx ** 2
    sv = np.linalg.svd(unf(X, n), compute_uv=False) ** 2
    assert np.allclose(ev, sv, rtol=1e-9, atol=1e-12 * sv[0]), (n, ev[:4], sv[:4])
print("eigenvalues = squared singular values of every unfolding")
# numpy's ST-HOSVD, modes in order
R, Y, Us = (5, 4, 3, 3), X.copy(), []
for n in range(4):
    u = np.linalg.svd(unf(Y, n), full_matrices=False)[0][:, :R[n]]
    Us.append(u)
    Y = np.moveaxis(np.tensordot(u.T, np.moveaxis(Y, n, 0), axes=1), 0, n)
m = h5py.File("m.h5")
for n in range(4):
    F = m[f"factor_{n}"][...]
    assert F.shape == (X.shape[n], R[n])
    d = np.abs(F @ F.T - Us[n] @ Us[n].T).max()
    assert d < 1e-8, (n, d)
    assert np.abs(F.T @ F - np.eye(R[n])).max() < 1e-12
G = m["core"][...]
M = np.einsum("abcd,ia,jb,kc,ld->ijkl", G, *[m[f"factor_{n}"][...] for n in range(4)])
err = np.linalg.norm(X - M) / nx
ref = np.linalg.norm(X - np.einsum("abcd,ia,jb,kc,ld->ijkl", Y, *Us)) / nx
s = json.load(open("s.json"))
print("error", err, "numpy ST-HOSVD", ref, "reported", s["relative_error"])
assert abs(err - ref) <= 1e-9 * ref and abs(s["relative_error"] - ref) <= 1e-8 * ref
assert abs(np.linalg.norm(G) - np.linalg.norm(Y)) <= 1e-10 * np.linalg.norm(Y)
PY
  ;;
order)
  make t 14x12x10x9 0.1
  dtfrun 2 tucker t.h5 --ranks 3x6x2x5 --order 3,1,4,2 --json o.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "--order 3,1,4,2: exit $RC"; }
  dtfrun 3 tucker t.h5 --ranks 3x6x2x5 --order auto --json a.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "--order auto: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
X = h5py.File("t.h5")["X"][...]
unf = lambda T, n: np.moveaxis(T, n, 0).reshape(T.shape[n], -1)
def st(order, R=(3, 6, 2, 5)):
    Y = X
    for n in order:
        u = np.linalg.svd(unf(Y, n), full_matrices=False)[0][:, :R[n]]
        Y = np.moveaxis(np.tensordot(u.T, np.moveaxis(Y, n, 0), axes=1), 0, n)
    return np.sqrt(max(0, np.linalg.norm(X) ** 2 - np.linalg.norm(Y) ** 2)) / np.linalg.norm(X)
o, a = json.load(open("o.json")), json.load(open("a.json"))
print("order", o["mode_order"], o["relative_error"], st([2, 0, 3, 1]), "auto", a["mode_order"], a["relative_error"])
assert o["mode_order"] == [2, 0, 3, 1] and abs(o["relative_error"] - st([2, 0, 3, 1])) <= 1e-9 * o["relative_error"]
assert a["mode_order"] == [2, 0, 1, 3], a["mode_order"]  # I/R: 14/3, 12/6, 10/2, 9/5
assert abs(a["relative_error"] - st([2, 0, 1, 3])) <= 1e-9 * a["relative_error"]
PY
  ;;
tol)
  make t 16x14x12x10 0.1
  for eps in 0.05 0.1 0.3; do
    dtfrun 2 tucker t.h5 --tol $eps --json s$eps.json -o m$eps.h5
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker --tol $eps: exit $RC"; }
    tail -1 err.txt
    "$PYTHON" - $eps <<'PY'
import json, sys, numpy as np, h5py
eps = float(sys.argv[1])
X = h5py.File("t.h5")["X"][...]
m = h5py.File(f"m{eps}.h5")
M = np.einsum("abcd,ia,jb,kc,ld->ijkl", m["core"][...], *[m[f"factor_{n}"][...] for n in range(4)])
err = np.linalg.norm(X - M) / np.linalg.norm(X)
s = json.load(open(f"s{eps}.json"))
print("tol", eps, "ranks", s["ranks"], "error", err)
assert err <= eps, (err, eps)
assert abs(err - s["relative_error"]) <= 1e-8 * err
# the rule: each mode's left-out eigenvalues (of the tensor as truncated so far) sum to at most
# eps^2/N of ||X||^2, and one more left out would exceed it
for n in range(4):
    ev, r = np.array(s[f"eigenvalues_{n}"]), s["ranks"][n]
    assert ev[r:].clip(0).sum() <= eps ** 2 / 4 * (1 + 1e-12)
    assert r == 1 or ev[r - 1:].clip(0).sum() > eps ** 2 / 4
PY
  done
  ;;
ranks)
  make t 13x11x10x9 0.1
  for np in 1 2 3 4; do
    dtfrun $np tucker t.h5 --ranks 4x4x3x3 --json r$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker on $np ranks: exit $RC"; }
    dtfrun $np tucker t.h5 --tol 0.2 --json e$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker --tol on $np ranks: exit $RC"; }
  done
  "$PYTHON" - <<'PY'
import json
for kind in "re":
    s = [json.load(open(f"{kind}{n}.json")) for n in (1, 2, 3, 4)]
    v = [x["relative_error"] for x in s]
    print(kind, v, [x["ranks"] for x in s], [x["grid"] for x in s])
    assert all(abs(a - v[0]) <= 1e-9 * v[0] for a in v), v
    assert all(x["ranks"] == s[0]["ranks"] for x in s)
PY
  ;;
eval-predict)
  make t 12x10x9x8 0.05
  dtfrun 2 tucker t.h5 --ranks 4x4x3x3 -o m.h5 --json s.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker: exit $RC"; }
  dtfrun 3 eval m.h5 t.h5 --json e.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "eval: exit $RC"; }
  dtfrun 1 info m.h5
  grep -q "tucker model, dims 12x10x9x8" out.txt || { cat out.txt; fail "info does not name the model"; }
  "$PYTHON" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(1)
with open("at.tns", "w") as f:
    for _ in range(50): f.write(" ".join(str(rng.integers(1, d + 1)) for d in (12, 10, 9, 8)) + " 0\n")
PY
  dtfrun 2 predict m.h5 --at at.tns -o p.tns
  [ "$RC" -eq 0 ] || { cat err.txt; fail "predict: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
s, e = json.load(open("s.json")), json.load(open("e.json"))
print("tucker fit", s["fit"], "eval fit", e["fit"])
assert abs(s["fit"] - e["fit"]) <= 1e-9, (s["fit"], e["fit"])
m = h5py.File("m.h5")
M = np.einsum("abcd,ia,jb,kc,ld->ijkl", m["core"][...], *[m[f"factor_{n}"][...] for n in range(4)])
rows = [l.split() for l in open("p.tns") if not l.startswith("#")]
assert len(rows) == 50
for r in rows:
    idx = tuple(int(i) - 1 for i in r[:4])
    assert abs(float(r[4]) - M[idx]) <= 1e-12 * np.abs(M).max(), (idx, r[4], M[idx])
print("predict = the model's values at 50 indices")
PY
  ;;
scaled)
  for s in 1 1e150 1e-160; do
    make t$s 12x10x9x8 0.1 $s
    dtfrun 2 tucker t$s.h5 --tol 0.2 --json s$s.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker on the tensor times $s: exit $RC"; }
  done
  "$PYTHON" - <<'PY'
import json
v = [json.load(open(f"s{s}.json")) for s in ("1", "1e150", "1e-160")]
e = [x["relative_error"] for x in v]
print(e, [x["ranks"] for x in v])
assert all(abs(a - e[0]) <= 1e-9 * e[0] for a in e) and all(x["ranks"] == v[0]["ranks"] for x in v)
PY
  ;;
reconstruct)
  make t 12x10x9x8 0.05
  dtfrun 2 tucker t.h5 --ranks 4x4x3x3 -o m.h5 -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker: exit $RC"; }
  dtfrun 2 reconstruct m.h5 -o full.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "reconstruct: exit $RC"; }
  dtfrun 3 reconstruct m.h5 -o slab.h5:/part --slab 2:7,0:10,4:5,1:1
  [ "$RC" -eq 0 ] || { cat err.txt; fail "reconstruct --slab: exit $RC"; }
  cat out.txt
  "$PYTHON" - <<'PY'
import numpy as np, h5py
m = h5py.File("m.h5")
M = np.einsum("abcd,ia,jb,kc,ld->ijkl", m["core"][...], *[m[f"factor_{n}"][...] for n in range(4)])
F, S = h5py.File("full.h5")["X"][...], h5py.File("slab.h5")["part"][...]
assert F.shape == M.shape and S.shape == (7, 10, 5, 1), (F.shape, S.shape)
assert np.abs(F - M).max() <= 1e-12 * np.abs(M).max()
assert np.array_equal(S, F[2:9, :, 4:9, 1:2]), np.abs(S - F[2:9, :, 4:9, 1:2]).max()
print("full = numpy's, the slab = its block of the full one")
PY
  ;;
hooi)
  make t 12x10x9x8 0.3
  for np in 1 2 3 4; do
    dtfrun $np tucker t.h5 --ranks 3x3x2x2 --method hooi -i 4 --json h$np.json -o m$np.h5
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker --method hooi on $np ranks: exit $RC"; }
  done
  tail -3 err.txt
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
X = h5py.File("t.h5")["X"][...]
nx = np.linalg.norm(X)
unf = lambda T, n: np.moveaxis(T, n, 0).reshape(T.shape[n], -1)
ttm = lambda T, U, n: np.moveaxis(np.tensordot(U.T, np.moveaxis(T, n, 0), axes=1), 0, n)
R, Y, U = (3, 3, 2, 2), X.copy(), []
for n in range(4):
    U.append(np.linalg.svd(unf(Y, n), full_matrices=False)[0][:, :R[n]])
    Y = ttm(Y, U[n], n)
errs = [np.sqrt(max(0, nx ** 2 - np.linalg.norm(Y) ** 2)) / nx]
for sweep in range(4):
    for n in range(4):
        Z = X
        for k in range(4):
            if k != n: Z = ttm(Z, U[k], k)
        U[n] = np.linalg.svd(unf(Z, n), full_matrices=False)[0][:, :R[n]]
    G = ttm(Z, U[3], 3)
    errs.append(np.sqrt(max(0, nx ** 2 - np.linalg.norm(G) ** 2)) / nx)
h = json.load(open("h1.json"))
got = [1 - f for f in h["fit_history"][3:]]
print("numpy HOOI errors", errs, "\ndtf", got)
assert len(got) == len(errs) and all(abs(a - b) <= 1e-9 * b for a, b in zip(got, errs))
assert all(b <= a * (1 + 1e-12) for a, b in zip(got, got[1:])), "the error rose"
assert got[-1] < got[0], "HOOI did not improve on ST-HOSVD"
v = [json.load(open(f"h{n}.json"))["fit"] for n in (1, 2, 3, 4)]
print("1-4 ranks", v)
assert all(abs(a - v[0]) <= 1e-9 * abs(v[0]) for a in v), v
m = h5py.File("m2.h5")
M = np.einsum("abcd,ia,jb,kc,ld->ijkl", m["core"][...], *[m[f"factor_{n}"][...] for n in range(4)])
assert abs(np.linalg.norm(X - M) / nx - got[-1]) <= 1e-9 * got[-1]
PY
  ;;
hooi-resume)
  make t 12x10x9x8 0.3
  dtfrun 2 tucker t.h5 --ranks 3x3x2x2 --method hooi -i 5 --json full.json -o full.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "uninterrupted: exit $RC"; }
  dtfrun 2 tucker t.h5 --ranks 3x3x2x2 --method hooi -i 2 --checkpoint c.h5 --checkpoint-every 1 -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "first part: exit $RC"; }
  dtfrun 2 tucker t.h5 --ranks 3x3x2x2 --method hooi -i 5 --checkpoint c.h5 --resume --json r.json -o r.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "resumed: exit $RC"; }
  grep -q "resumed from c.h5 at iteration 6" err.txt || { cat err.txt; fail "did not resume at iteration 6"; }
  dtfrun 2 tucker t.h5 --ranks 3x3x3x2 --method hooi -i 5 --checkpoint c.h5 --resume
  [ "$RC" -eq 2 ] || { cat err.txt; fail "a checkpoint of other ranks was not refused (exit $RC)"; }
  grep -q "was made with --ranks" err.txt || { cat err.txt; fail "no message naming --ranks"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
a, b = json.load(open("full.json")), json.load(open("r.json"))
print(a["fit_history"], b["fit_history"])
assert a["fit_history"] == b["fit_history"] and a["fit"] == b["fit"]
fa, fb = h5py.File("full.h5"), h5py.File("r.h5")
assert all(np.array_equal(fa[k][...], fb[k][...]) for k in ["core"] + [f"factor_{n}" for n in range(4)])
print("resumed = uninterrupted, bit for bit")
PY
  ;;
budget)
  make t 10x9x8x7 0.2
  for p in 60 200 500 1500; do
    dtfrun 2 tucker t.h5 --budget $p --json b$p.json -o m$p.h5
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker --budget $p: exit $RC"; }
    tail -1 out.txt
  done
  "$PYTHON" - <<'PY'
import itertools, json, numpy as np, h5py
X = h5py.File("t.h5")["X"][...]
nx2 = np.linalg.norm(X) ** 2
unf = lambda T, n: np.moveaxis(T, n, 0).reshape(T.shape[n], -1)
tails = []
for n in range(4):
    ev = np.linalg.svd(unf(X, n), compute_uv=False) ** 2
    tails.append([ev[r:].sum() for r in range(X.shape[n] + 1)])
for p in (60, 200, 500, 1500):
    best, arg = None, None
    for R in itertools.product(*[range(1, d + 1) for d in X.shape]):
        if np.prod(R) + sum(r * d for r, d in zip(R, X.shape)) > p: continue
        v = sum(tails[n][R[n]] for n in range(4))
        if best is None or v < best: best, arg = v, R
    s = json.load(open(f"b{p}.json"))
    m = h5py.File(f"m{p}.h5")
    M = np.einsum("abcd,ia,jb,kc,ld->ijkl", m["core"][...], *[m[f"factor_{n}"][...] for n in range(4)])
    err = np.linalg.norm(X - M) / np.sqrt(nx2)
    print(p, "brute force", arg, np.sqrt(best / nx2), "dtf", s["ranks"], s["budget_bound"], "error", err)
    assert tuple(s["ranks"]) == arg, (s["ranks"], arg)
    assert abs(s["budget_bound"] - np.sqrt(best / nx2)) <= 1e-9 * np.sqrt(best / nx2)
    assert s["parameters"] <= p and err <= s["budget_bound"] * (1 + 1e-12)
PY
  ;;
scalapack)
  make t 13x11x10x9 0.1
  for np in 1 2 3 4; do
    for e in lapack scalapack; do
      dtfrun $np tucker t.h5 --tol 0.2 --eig $e --json t$e$np.json -o t$e$np.h5 -q
      [ "$RC" -eq 0 ] || { cat err.txt; fail "--eig $e on $np ranks: exit $RC"; }
      dtfrun $np tucker t.h5 --ranks 4x4x3x3 --method hooi -i 2 --eig $e --json h$e$np.json -q
      [ "$RC" -eq 0 ] || { cat err.txt; fail "hooi --eig $e on $np ranks: exit $RC"; }
    done
  done
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
for kind in "th":
    runs = [json.load(open(f"{kind}{e}{n}.json")) for e in ("lapack", "scalapack") for n in (1, 2, 3, 4)]
    v = [r["relative_error"] for r in runs]
    print(kind, v)
    assert all(abs(a - v[0]) <= 1e-9 * v[0] for a in v) and all(r["ranks"] == runs[0]["ranks"] for r in runs)
ref = h5py.File("tlapack1.h5")
for n in (2, 3, 4):
    m = h5py.File(f"tscalapack{n}.h5")
    for k in range(4):
        A, B = ref[f"factor_{k}"][...], m[f"factor_{k}"][...]
        assert np.abs(A @ A.T - B @ B.T).max() < 1e-9, (n, k)
        assert np.abs(A - B).max() < 1e-7, (n, k)  # the same signs too
print("LAPACK and ScaLAPACK: the same errors, ranks and factors")
PY
  ;;
randomized)
  make t 16x14x12x10 0.1
  dtfrun 2 tucker t.h5 --ranks 5x4x4x3 --eig lapack --json exact.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "exact: exit $RC"; }
  for np in 1 2 3 4; do
    dtfrun $np tucker t.h5 --ranks 5x4x4x3 --eig randomized --json r$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "randomized on $np ranks: exit $RC"; }
  done
  for np in 1 3; do # 3 ranks split mode 4: its power products gather W in the fibre
    dtfrun $np tucker t.h5 --ranks 5x4x4x3 --eig randomized --power 2 --json p$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "randomized --power 2 on $np ranks: exit $RC"; }
  done
  "$PYTHON" - <<'PY'
import json
e = json.load(open("exact.json"))["relative_error"]
r = json.load(open("r1.json"))["relative_error"]
p = [json.load(open(f"p{n}.json"))["relative_error"] for n in (1, 3)]
print("exact", e, "randomized", r, "with 2 power iterations", p)
assert abs(p[0] - p[1]) <= 1e-9 * p[0] and p[0] <= 1.005 * e and p[0] < r, (e, r, p)
PY
  "$PYTHON" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(8)
X = rng.standard_normal((70, 12, 10)) * np.exp(-0.05 * np.arange(70))[:, None, None]
h5py.File("wide.h5", "w")["X"] = X
PY
  dtfrun 2 tucker wide.h5 --tol 0.15 --eig randomized --json w.json -o w.h5
  [ "$RC" -eq 0 ] || { cat err.txt; fail "randomized --tol: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
e = json.load(open("exact.json"))["relative_error"]
v = [json.load(open(f"r{n}.json"))["relative_error"] for n in (1, 2, 3, 4)]
print("exact", e, "randomized", v)
assert all(abs(a - v[0]) <= 1e-9 * v[0] for a in v) and v[0] <= 1.05 * e
s = json.load(open("w.json"))
X = h5py.File("wide.h5")["X"][...]
m = h5py.File("w.h5")
M = np.einsum("abc,ia,jb,kc->ijk", m["core"][...], *[m[f"factor_{n}"][...] for n in range(3)])
err = np.linalg.norm(X - M) / np.linalg.norm(X)
print("tol 0.15: ranks", s["ranks"], "sketch of mode 1", len(s["eigenvalues_0"]), "error", err, s["relative_error"])
assert err <= 0.15 and abs(err - s["relative_error"]) <= 1e-8 * err
assert len(s["eigenvalues_0"]) > 32, "the sketch did not grow"
PY
  ;;
memory)
  "$PYTHON" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(2)
U = np.linalg.qr(rng.standard_normal((1200, 6)))[0]
X = np.einsum("abc,ia,jb,kc->ijk", rng.standard_normal((6, 5, 5)), U, rng.standard_normal((8, 5)), rng.standard_normal((8, 5)))
h5py.File("big.h5", "w")["X"] = X + 0.01 * X.std() * rng.standard_normal(X.shape)
PY
  DTF_RUN_TIMEOUT=200 dtfrun 8 tucker big.h5 --ranks 6x5x5 --eig lapack --max-mem 11M -o m.h5
  [ "$RC" -eq 2 ] || { cat err.txt; fail "the LAPACK path was not refused (exit $RC)"; }
  grep -q "the largest is 1200 x 1200, held whole by rank 0 for LAPACK" err.txt || { cat err.txt; fail "message"; }
  [ ! -e m.h5 ] || fail "a model was written"
  DTF_RUN_TIMEOUT=200 dtfrun 8 tucker big.h5 --ranks 6x5x5 --max-mem 11M -o m.h5 --json s.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "the automatic path: exit $RC"; }
  grep -q "ScaLAPACK for a Gram above a quarter of --max-mem" err.txt || { cat err.txt; fail "no path named"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
X = h5py.File("big.h5")["X"][...]
m = h5py.File("m.h5")
M = np.einsum("abc,ia,jb,kc->ijk", m["core"][...], *[m[f"factor_{n}"][...] for n in range(3)])
err = np.linalg.norm(X - M) / np.linalg.norm(X)
s = json.load(open("s.json"))
print("error", err, "reported", s["relative_error"], "peak rss", s["peak_rss_bytes_max"])
assert abs(err - s["relative_error"]) <= 1e-8 * err and err < 0.011
PY
  ;;
sparse)
  "$PYTHON" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(9)
core = rng.standard_normal((4, 3, 3, 2))
U = [np.linalg.qr(rng.standard_normal((d, r)))[0] for d, r in zip((11, 9, 8, 7), core.shape)]
X = np.einsum("abcd,ia,jb,kc,ld->ijkl", core, *U)
X[rng.random(X.shape) < 0.7] = 0
with h5py.File("d.h5", "w") as f: f["X"] = X
with open("s.tns", "w") as f:
    for ix in zip(*np.nonzero(X)):
        f.write(" ".join(str(i + 1) for i in ix) + " %.17g\n" % X[ix])
PY
  run() { # run NP INPUT NAME ARGS...: a tucker run that must succeed
    local np=$1 in=$2 name=$3; shift 3
    dtfrun "$np" tucker "$in" --json "$name.json" -o "$name.h5" "$@"
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker $in $* at $np ranks: exit $RC"; }
  }
  run 2 d.h5 dense --ranks 4x3x3x2 --method hooi -i 3
  for np in 1 4; do run $np s.tns sparse$np --ranks 4x3x3x2 --method hooi -i 3; done
  run 3 d.h5 dtol --tol 0.2
  run 3 s.tns stol --tol 0.2 --eig scalapack
  run 2 d.h5 dbud --budget 120
  run 3 s.tns sbud --budget 120
  dtfrun 2 eval sparse4.h5 s.tns --json eval.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "eval of the sparse model: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
J = lambda n: json.load(open(n + ".json"))
close = lambda a, b, tol=1e-9: np.allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())
d = J("dense")
m = h5py.File("dense.h5")
for np_ in (1, 4):
    s = J(f"sparse{np_}")
    # ST-HOSVD (the first 4 entries), then the HOOI sweeps
    assert len(s["fit_history"]) == len(d["fit_history"]) and close(s["fit_history"], d["fit_history"]), (np_, s["fit_history"], d["fit_history"])
    for n in range(4):
        assert close(s[f"eigenvalues_{n}"], d[f"eigenvalues_{n}"]), (np_, n)
    h = h5py.File(f"sparse{np_}.h5")
    assert close(h["core"][...], m["core"][...]), np_
    for n in range(4):
        assert close(h[f"factor_{n}"][...], m[f"factor_{n}"][...]), (np_, n)
print("the text at 1 and 4 ranks = the dense path: ST-HOSVD fit %.12f, after HOOI %.12f" % (d["fit_history"][3], d["fit_history"][-1]))
a, b = J("dtol"), J("stol")
assert a["ranks"] == b["ranks"] and abs(a["relative_error"] - b["relative_error"]) <= 1e-9, (a["ranks"], b["ranks"])
assert b["relative_error"] <= 0.2
a, b = J("dbud"), J("sbud")
assert a["ranks"] == b["ranks"] and abs(a["budget_bound"] - b["budget_bound"]) <= 1e-9, (a["ranks"], b["ranks"])
e = J("eval")
assert abs(e["fit"] - d["fit_history"][-1]) <= 1e-9, (e["fit"], d["fit_history"][-1])
print("--tol ranks", J("stol")["ranks"], "(ScaLAPACK), budget shape", b["ranks"], ": the same as dense; eval gives the fit")
PY
  # HOOI of the text checkpointed after 2 sweeps on 2 ranks, resumed on 3: where 4 uninterrupted sweeps end
  run 2 s.tns ck --ranks 4x3x3x2 --method hooi -i 2 --checkpoint c.h5
  run 3 s.tns resumed --ranks 4x3x3x2 --method hooi -i 3 --checkpoint c.h5 --resume
  "$PYTHON" - <<'PY'
import json
a, b = (json.load(open(n + ".json"))["fit_history"][-1] for n in ("sparse1", "resumed"))
assert abs(a - b) <= 1e-12, (a, b)
print("sparse HOOI resumed on 3 ranks ends at", b)
PY
  ;;
aminoacid)
  run() {
    dtfrun 2 tucker "$1" --ranks 3x3x3 --method hooi -i 3 --json "$2.json"
    [ "$RC" -eq 0 ] || { cat err.txt; fail "tucker $1: exit $RC"; }
  }
  run "$2/aminoacid.h5" dense
  run "$2/aminoacid.tns" sparse
  "$PYTHON" - <<'PY'
import json
a, b = (json.load(open(n + ".json")) for n in ("dense", "sparse"))
assert abs(a["relative_error"] - b["relative_error"]) <= 1e-9, (a["relative_error"], b["relative_error"])
print("aminoacid 3x3x3 HOOI: the .tns and the .h5 give error %.10f" % b["relative_error"])
PY
  ;;
*) fail "unknown case $case" ;;
esac
