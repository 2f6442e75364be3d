#!/usr/bin/env bash
# ranks_agree.sh INPUT RANK [MIN_FIT [MAX_FIT]]: dtf cp at 1, 2, 3 and 4 ranks gives the
# same fit (relative 1e-9) and the same factors; optionally MIN_FIT < fit < MAX_FIT.
# CP_ARGS adds flags to every run (e.g. --permute). If INPUT is
# "generate", a noisy rank-4 tensor is generated first.
. "$(dirname "$0")/lib.sh"
set -e
input=$1 rank=$2 minfit=${3:-} maxfit=${4:-}
if [ "$input" = generate ]; then
  dtfrun 2 generate -o x.h5 --dims 23x17x12x5 --rank 4 --noise 0.05 --seed 9
  [ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
  input=$WORK/x.h5
fi
for np in 1 2 3 4; do
  # shellcheck disable=SC2086
  dtfrun $np cp "$input" -r "$rank" -i 60 --tol 1e-9 -o m$np.h5 --json s$np.json -q ${CP_ARGS:-}
  [ "$RC" -eq 0 ] || { cat err.txt; fail "cp on $np ranks: exit $RC"; }
  echo "np=$np: $(cat out.txt)"
done
"$PYTHON" - "$minfit" "$maxfit" <<'PY'
import json, sys, h5py, numpy as np
minfit = float(sys.argv[1]) if sys.argv[1] else None
maxfit = float(sys.argv[2]) if sys.argv[2] else None
fits = [json.load(open(f"s{n}.json"))["fit"] for n in (1, 2, 3, 4)]
ref = fits[0]
for n, f in zip((1, 2, 3, 4), fits):
    assert abs(f - ref) <= 1e-9 * abs(ref), f"fit at {n} ranks {f!r} differs from {ref!r}"
    assert json.load(open(f"s{n}.json"))["ranks"] == n
if minfit is not None:
    assert ref > minfit, f"fit {ref} not above {minfit}"
if maxfit is not None:
    assert ref < maxfit, f"fit {ref} not below {maxfit}"
with h5py.File("m1.h5") as a:
    for n in (2, 3, 4):
        with h5py.File(f"m{n}.h5") as b:
            assert np.allclose(a["lambda"][:], b["lambda"][:], rtol=1e-6, atol=0)
            k = 0
            while f"factor_{k}" in a:
                d = np.max(np.abs(a[f"factor_{k}"][:] - b[f"factor_{k}"][:]))
                assert d < 1e-6, f"factor_{k} differs by {d} at {n} ranks"
                k += 1
print("fits", fits)
PY
echo ok
