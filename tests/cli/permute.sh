#!/usr/bin/env bash
# permute.sh INPUT RANK: with --permute the run starts from the same factors (keyed by the
# original labels) and the model is written in the original labels, so it equals the
# plain run's model: same fit (relative 1e-9), same factors (1e-9).
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 3 cp "$1" -r "$2" -i 30 --tol 0 -o plain.h5 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "plain run"; }
dtfrun 3 cp "$1" -r "$2" -i 30 --tol 0 -o perm.h5 --permute --json perm.json
[ "$RC" -eq 0 ] || { cat err.txt; fail "permuted run"; }
grep -q "after random relabelling" err.txt || fail "no imbalance report for the relabelled run"
[ "$(json_get perm.json permute)" = True ] || fail "summary lacks permute"
"$PYTHON" <<'PY'
import h5py, numpy as np
with h5py.File("plain.h5") as a, h5py.File("perm.h5") as b:
    fa, fb = float(a.attrs["fit"]), float(b.attrs["fit"])
    assert abs(fa - fb) <= 1e-9 * abs(fa), (fa, fb)
    n = 0
    while f"factor_{n}" in a:
        d = np.abs(a[f"factor_{n}"][:] - b[f"factor_{n}"][:]).max()
        assert d < 1e-9, f"factor_{n} differs by {d}"
        n += 1
print("ok: fit", fa, fb)
PY
echo ok
