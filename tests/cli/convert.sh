#!/usr/bin/env bash
# convert.sh TNS: .tns -> HDF5 (2 ranks) -> .tns (3 ranks) -> HDF5 (4 ranks) keeps every
# coordinate and value exactly and in order; duplicates are refused or summed.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 2 convert "$1" a.h5:/T
[ "$RC" -eq 0 ] || { cat err.txt; fail "convert to HDF5"; }
dtfrun 3 convert a.h5:/T b.tns
[ "$RC" -eq 0 ] || { cat err.txt; fail "convert to .tns"; }
dtfrun 4 convert b.tns c.h5
[ "$RC" -eq 0 ] || { cat err.txt; fail "convert back"; }
"$PYTHON" - "$1" <<'PY'
import sys, h5py, numpy as np
orig = np.loadtxt(sys.argv[1], comments="#", ndmin=2)
back = np.loadtxt("b.tns", ndmin=2)
assert np.array_equal(orig, back), "text round trip changed coordinates or values"
with h5py.File("a.h5") as a, h5py.File("c.h5") as c:
    for k in ("indices", "values"):
        assert np.array_equal(a["T"][k][:], c["X"][k][:]), k
    assert np.array_equal(a["T"]["indices"][:] + 1, orig[:, :-1].astype(np.uint64))
    assert list(a["T"].attrs["dims"]) == list(orig[:, :-1].max(axis=0).astype(int))
print("exact:", orig.shape)
PY
echo ok
