#!/usr/bin/env bash
# gcp.sh CASE: dtf gcp (generalized CP by first-order optimization).
#   planted LOSS       a planted rank-3 tensor of LOSS's data (gaussian noise-free; counts and 0/1 drawn
#                      from planted rates and probabilities) on 40x35x30: factor match score >= 0.95
#   ranks KIND         1, 2, 3 and 4 ranks give the same loss with --compress none (relative 1e-9):
#                      KIND dense (sampled), full (every entry), sparse (stratified), observed (NaN cells)
#   compress SPEC      on 3 ranks with a compressor: the loss falls, the bytes sent are below the
#                      uncompressed ones, and bytes_uncompressed equals a --compress none run's bytes;
#                      under --net-model 1Gb:5us the modelled waiting is within the solve time
#   budget SPEC        3 ranks, defaults but the compressor: a bare kind (core) starts at its ladder's first
#                        rung and rises after a check whose cosine is below 0.5; a given budget
#                        (core:32) stays, and a cosine below 0.3 is reported as noise
#   pick               --compress auto on 3 ranks: the probe's line names every kind and the one picked (with at
#                        least 0.4 of none's fall), the JSON's budget; the probe's bytes count in epoch 1's
#   resume SPEC        checkpoint and resume (optimizer moments and compressor residuals included): bit for bit,
#                        the bytes' histories too; SPEC auto: no --lr, the step size's own state;
#                        SPEC picked: --compress auto, the kind its probe picked
#   init als           --init als:3: the first epoch's fit at least CP-ALS's after 3 sweeps from the same seed
#   init svd           --init svd (2 ranks, no step taken): each factor's columns orthonormal and in the span of
#                        numpy's leading singular vectors of its unfolding, lambda_r = X x1 a_r x2 b_r x3 c_r
#   defaults LOSS      no option but the rank (the step size finds itself) on 30x25x20: converged; gaussian at
#                        CP-ALS's fit (within 0.01), counts and 0/1 within 2% of the planted model's mean loss
. "$(dirname "$0")/lib.sh"
set -e
case=$1
plant() { # plant LOSS DIMS: p.h5 (X), truth.npz
  "$PYTHON" - "$@" <<'PY'
import sys, numpy as np, h5py
loss, dims = sys.argv[1], [int(d) for d in sys.argv[2].split("x")]
R, rng = 3, np.random.default_rng(5)
if loss == "poisson-identity": A = [rng.uniform(0.2, 1.5, (n, R)) for n in dims]
elif loss == "poisson": A = [np.column_stack([rng.uniform(0.8, 1.2, n), rng.uniform(-1, 1, (n, R - 1))]) for n in dims]
else: A = [rng.standard_normal((n, R)) for n in dims]
x = np.einsum("ir,jr,kr->ijk", *A)
if loss == "gaussian": y = x
elif loss == "poisson": y = rng.poisson(np.exp(0.7 * x / x.std())).astype(float)
elif loss == "poisson-identity": y = rng.poisson(20 * x / x.mean()).astype(float)
else: y = (rng.random(x.shape) < 1 / (1 + np.exp(-3 * x / x.std()))).astype(float)
with h5py.File("p.h5", "w") as f: f["X"] = y
np.savez("truth.npz", *A)
PY
}
case $case in
planted)
  plant "$2" 40x35x30
  DTF_RUN_TIMEOUT=200 dtfrun 2 gcp p.h5 -r 3 --loss "$2" -i 100 --tol 1e-7 --lr 0.02 --steps 20 -o m.h5 --json s.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "gcp: exit $RC"; }
  "$PYTHON" - "$2" <<'PY'
import sys, json, numpy as np, h5py
m, t = h5py.File("m.h5"), np.load("truth.npz")
A = [t[f"arr_{n}"] for n in range(3)]; B = [m[f"factor_{n}"][:] for n in range(3)]
unit = lambda M: M / np.linalg.norm(M, axis=0)
S = np.ones((3, 3))
for a, b in zip(A, B): S *= np.abs(unit(a).T @ unit(b))
score, ua, ub = 0, set(), set()
for _ in range(3):
    v, i, j = max((S[i, j], i, j) for i in range(3) for j in range(3) if i not in ua and j not in ub)
    score += v; ua.add(i); ub.add(j)
score /= 3
s = json.load(open("s.json"))
print(sys.argv[1], "factor match score", score, "loss", s["loss"], "epochs", s["iterations"])
assert score >= 0.95, score
assert m.attrs["loss"].decode() == sys.argv[1]
PY
  ;;
defaults)
  # no --lr: the step size finds itself; gaussian: CP-ALS's fit (within 1%); poisson and
  # bernoulli: within 2% of the planted model's mean loss
  plant "$2" 30x25x20
  # gaussian with noise (a noise-free fit's loss falls by the same fraction every epoch)
  input=p.h5
  [ "$2" != gaussian ] || { dtfrun 2 generate -o g.h5 --dims 30x25x20 --rank 3 --noise 0.05 -q && input=g.h5; }
  DTF_RUN_TIMEOUT=200 dtfrun 2 gcp $input -r 3 --loss "$2" --json s.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "gcp: exit $RC"; }
  [ "$2" != gaussian ] || dtfrun 2 cp $input -r 3 --json cp.json -q
  "$PYTHON" - "$2" <<'PY'
import sys, json, numpy as np, h5py
loss, s = sys.argv[1], json.load(open("s.json"))
print(loss, "loss", s["loss"], "epochs", s["iterations"], "converged", s["converged"], "fit", s.get("fit"))
assert s["converged"], "the default run did not converge"
if loss == "gaussian":
    cp = json.load(open("cp.json"))["fit"]
    assert s["fit"] >= cp - 0.01, (s["fit"], cp)
else:
    t = np.load("truth.npz"); x = np.einsum("ir,jr,kr->ijk", *[t[f"arr_{n}"] for n in range(3)])
    y = h5py.File("p.h5")["X"][:]
    m = 0.7 * x / x.std() if loss == "poisson" else 3 * x / x.std()
    f = np.exp(m) - y * m if loss == "poisson" else np.logaddexp(0, m) - y * m
    assert s["loss"] <= f.mean() + 0.02 * abs(f.mean()), (s["loss"], f.mean())
PY
  ;;
init)
  dtfrun 2 generate -o g.h5 --dims 24x20x16 --rank 3 --noise 0.05 --seed 4 -q
  if [ "$2" = als ]; then
    dtfrun 2 gcp g.h5 -r 3 -i 1 --seed 2 --init als:3 --json s.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "gcp: exit $RC"; }
    dtfrun 2 cp g.h5 -r 3 -i 3 --tol 0 --seed 2 --json cp.json -q
    "$PYTHON" -c '
import json; s, c = json.load(open("s.json")), json.load(open("cp.json")); print(s["init"], s["fit"], "cp", c["fit"])
assert s["init"] == "als:3" and s["fit"] >= c["fit"] - 1e-9, (s["fit"], c["fit"])'
    exit 0
  fi
  dtfrun 2 gcp g.h5 -r 3 -i 1 --lr 1e-14 --grid 2x1x1 --init svd -o m.h5 --json s.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "gcp: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np, h5py
x, m = h5py.File("g.h5")["X"][:], h5py.File("m.h5")
F = [m[f"factor_{n}"][:] for n in range(3)]
lam = m["lambda"][:]
assert json.load(open("s.json"))["init"] == "svd"
for n, f in enumerate(F):
    u = np.linalg.svd(np.moveaxis(x, n, 0).reshape(x.shape[n], -1), full_matrices=False)[0][:, :3]
    inside = np.linalg.norm(u.T @ f) / np.linalg.norm(f)
    print("mode", n, "orthonormal", np.abs(f.T @ f - np.eye(3)).max(), "in the span", inside)
    assert np.abs(f.T @ f - np.eye(3)).max() < 1e-6 and inside > 0.999
best = np.einsum("ijk,ir,jr,kr->r", x, *F)
print("lambda", lam, "best", best)
assert np.allclose(lam, best, rtol=1e-6, atol=1e-9 * np.abs(best).max())
PY
  ;;
ranks)
  extra=(--sample 3000)
  input=p.h5
  plant gaussian 24x20x16
  case $2 in
  full) extra=() ;;
  observed) "$PYTHON" -c '
import h5py, numpy as np
x = h5py.File("p.h5")["X"][:]; rng = np.random.default_rng(2); x[rng.random(x.shape) < 0.3] = np.nan
with h5py.File("o.h5", "w") as f: f["X"] = x' ; input=o.h5 ;;
  sparse) dtfrun 2 generate -o sp.h5 --dims 300x200x100 --rank 3 --nnz 20000 -q; input=sp.h5 ;;
  auto) extra=() ;; # every entry, no --lr: rises undone and step sizes alike at every rank count
  esac
  lr=(--lr 0.02) iters=3
  [ "$2" != auto ] || lr=() iters=12
  for np in 1 2 3 4; do
    dtfrun $np gcp $input -r 3 -i $iters --steps 10 "${lr[@]}" "${extra[@]}" --json s$np.json -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "gcp on $np ranks: exit $RC"; }
  done
  "$PYTHON" -c '
import json; v = [json.load(open(f"s{n}.json"))["loss"] for n in (1, 2, 3, 4)]; print(v)
assert all(abs(a - v[0]) <= 1e-9 * abs(v[0]) for a in v), v'
  ;;
compress)
  plant gaussian 36x30x24
  dtfrun 3 gcp p.h5 -r 3 -i 4 --steps 20 --lr 0.02 --sample 4000 --grid 3x1x1 --json none.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "none: exit $RC"; }
  dtfrun 3 gcp p.h5 -r 3 -i 4 --steps 20 --lr 0.02 --sample 4000 --grid 3x1x1 --compress "$2" --json c.json -q \
    --net-model 1Gb:5us
  [ "$RC" -eq 0 ] || { cat err.txt; fail "$2: exit $RC"; }
  "$PYTHON" - "$2" <<'PY'
import json, sys
n, c = json.load(open("none.json")), json.load(open("c.json"))
print(sys.argv[1], "bytes/epoch", c["comm_bytes_per_iter"], "of", c["comm_bytes_uncompressed_per_iter"],
      "(none:", n["comm_bytes_per_iter"], ") loss", c["loss_history"][0], "->", c["loss"])
assert c["comm_bytes_per_iter"] < c["comm_bytes_uncompressed_per_iter"]
assert abs(c["comm_bytes_uncompressed_per_iter"] - n["comm_bytes_per_iter"]) <= 1e-6 * n["comm_bytes_per_iter"] + 16
assert c["loss"] < c["loss_history"][0] or c["loss"] < 0.5 * n["loss_history"][0]
# the network model's waiting: at least each step's latency, part of the solve time
net, steps = c["time_network_model_s"], 4 * 20
print("modelled network", net, "s of", c["time_solve_s"])
assert net >= steps * 5e-6 and net <= c["time_solve_s"], (net, c["time_solve_s"])
assert "time_network_model_s" not in n
PY
  ;;
budget)
  plant gaussian 36x30x24
  dtfrun 3 gcp p.h5 -r 3 -i 6 --grid 3x1x1 --compress "$2" --json c.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "$2: exit $RC"; }
  noise=$(grep -c "mostly noise" err.txt || true)
  "$PYTHON" - "$2" "$noise" <<'PY'
import json, sys
spec, noise, c = sys.argv[1], int(sys.argv[2]), json.load(open("c.json"))
b, cos = c["budget_history"], [x if x is not None else float("nan") for x in c["cosine_history"]]
print(spec, "budget", b, "cosine", cos, "noise reports", noise)
assert cos[0] == cos[0], "no check at epoch 1"
assert noise == sum(1 for x in cos if x < 0.3), (noise, cos)
if ":" in spec:
    assert all(v == 32 for v in b) and c["budget"] == spec, b
else:
    assert c["compress"] == "core" and c["budget"] == f"core:{int(b[-1])}"
    # epoch 1's check decides its rung: 8 doubled when the cosine was below 0.5
    assert b[0] == (16 if cos[0] < 0.5 else 8), (b[0], cos[0])
    assert max(b) > 8, b
PY
  ;;
pick)
  plant gaussian 36x30x24
  dtfrun 3 gcp p.h5 -r 3 -i 2 --sample 3000 --steps 20 --grid 3x1x1 --compress auto --json c.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "auto: exit $RC"; }
  line=$(grep -E -- "--compress auto: [0-9]+ steps from the start" err.txt) || { cat err.txt; fail "no probe line"; }
  dtfrun 3 gcp p.h5 -r 3 -i 1 --sample 3000 --steps 20 --grid 3x1x1 --json none.json -q
  "$PYTHON" - "$line" <<'PY'
import json, re, sys
line, c, n = sys.argv[1], json.load(open("c.json")), json.load(open("none.json"))
print(line)
kinds = re.findall(r" (none|core|topk|qsgd|powersgd)(?::[0-9.]+)? ([0-9.e+-]+) of none's fall", line)
assert [k for k, _ in kinds] == ["none", "core", "topk", "qsgd", "powersgd"], kinds
picked = re.search(r"picked (\w+)", line).group(1)
assert c["compress"] == "auto" and c["budget"].split(":")[0] == picked, (c["budget"], picked)
assert float(dict(kinds)[picked]) >= 0.4, kinds  # at least 0.4 of none's fall
# the probe's bytes count: epoch 1 sent at least none's 4 probe steps (of its 20 an epoch)
assert c["bytes_history"][0] >= 0.99 * 4 / 20 * n["bytes_history"][0], (c["bytes_history"][0], n["bytes_history"][0])
PY
  ;;
resume)
  plant gaussian 24x20x16
  args=(p.h5 -r 3 --sample 2000 --steps 10 --lr 0.02 --tol 0 --compress "$2") half=3 all=6
  # auto: no --lr, the step size's state: epochs that rose (moments restarted) before the
  # checkpoint, more after
  [ "$2" != auto ] || args=(p.h5 -r 3 --tol 0) half=12 all=24
  [ "$2" != picked ] || args=(p.h5 -r 3 --sample 2000 --steps 10 --tol 0 --compress auto) half=3 all=6
  dtfrun 2 gcp "${args[@]}" -i $all --json full.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "full run: exit $RC"; }
  [ "$2" != auto ] || [ "$(grep -c 'undone' err.txt)" -ge 2 ] || { cat err.txt; fail "no epoch rose"; }
  dtfrun 2 gcp "${args[@]}" -i $half --checkpoint c.h5 --checkpoint-every $half -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "first half: exit $RC"; }
  dtfrun 2 gcp "${args[@]}" -i $all --checkpoint c.h5 --resume --json half.json
  [ "$RC" -eq 0 ] || { cat err.txt; fail "resume: exit $RC"; }
  grep -q "resumed from c.h5 at iteration $half" err.txt || { cat err.txt; fail "did not resume"; }
  "$PYTHON" -c '
import json; a, b = (json.load(open(f)) for f in ("full.json", "half.json")); print(a["loss"], b["loss"])
assert a["loss"] == b["loss"], (a["loss"], b["loss"])
# the bytes go on from the checkpoint (they started again at 0)
for k in ("bytes_history", "bytes_uncompressed_history", "budget_history", "cosine_history"):
    assert a.get(k) == b.get(k), (k, a.get(k), b.get(k))'
  ;;
*) fail "unknown case $case" ;;
esac
echo ok
