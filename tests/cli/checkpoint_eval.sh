#!/usr/bin/env bash
# checkpoint_eval.sh: dtf eval and dtf predict read a checkpoint of every kind as the model
# it holds: for cp, tr, tucker --method hooi, gcp, complete (cp and --model tr), the
# checkpoint of the last iteration evaluates on 3 ranks to the fit or test metrics the
# 2-rank run ended with, and a ring's checkpoint predicts as its model file does.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 2 generate -o x.h5 --dims 12x10x8 --rank 2 --noise 0.1 --seed 4 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
"$PYTHON" - <<'PY'
import h5py, numpy as np
x = h5py.File("x.h5")["X"][...]
x[np.random.default_rng(1).random(x.shape) < 0.4] = np.nan
with h5py.File("o.h5", "w") as f:
    f["X"] = x
with open("at.tns", "w") as f:  # a few coordinates, 1-based
    for i, j, k in ((1, 1, 1), (12, 10, 8), (5, 3, 2), (7, 9, 4)):
        f.write(f"{i} {j} {k} 0\n")
PY
check() { # check NAME EVAL-ARGS -- SOLVER ARGS...: the checkpoint evaluates as the run ended
  local name=$1 ev=$2
  shift 3
  dtfrun 2 "$@" -o "m_$name.h5" --checkpoint "c_$name.h5" --checkpoint-every 1 --json "s_$name.json" -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "$name: exit $RC"; }
  dtfrun 3 eval "c_$name.h5" $ev --json "e_$name.json" -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "eval of the checkpoint of $name: exit $RC"; }
  "$PYTHON" - "$name" <<'PY'
import sys, json
n = sys.argv[1]
a, b = (json.load(open(f"{f}_{n}.json")) for f in "se")
keys = [k for k in b if k == "fit" or k.startswith("test_") and k != "test_entries"]
assert keys, b
for k in keys:
    assert abs(a[k] - b[k]) <= 1e-9 * max(1, abs(a[k])), (n, k, a[k], b[k])
print(n, {k: b[k] for k in keys})
PY
}
check cp x.h5 -- cp x.h5 -r 2 -i 2 --tol 0
check tr x.h5 -- tr x.h5 -r 2 -i 2 --tol 0
check hooi x.h5 -- tucker x.h5 --ranks 2x2x2 --method hooi -i 2
check gcp x.h5 -- gcp x.h5 -r 2 -i 2 --steps 5 --tol 0
check complete_cp "--test o.h5" -- complete o.h5 --test o.h5 -r 2 -i 2 --tol 0
check complete_tr "--test o.h5" -- complete o.h5 --test o.h5 --model tr -r 2 -i 2 --tol 0
# predict reads a ring's checkpoint as the model file
for f in m c; do
  dtfrun 1 predict "${f}_complete_tr.h5" --at at.tns -o "p$f.tns" -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "predict of ${f}_complete_tr.h5: exit $RC"; }
done
"$PYTHON" -c '
import numpy as np
p, q = (np.loadtxt(f"p{f}.tns") for f in "mc")
p, q = p[np.lexsort(p[:, :3].T)], q[np.lexsort(q[:, :3].T)]
assert np.allclose(p, q, rtol=1e-9, atol=0), (p, q)'
echo ok
