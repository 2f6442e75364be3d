#!/usr/bin/env bash
# generate --nnz: exactly N distinct in-range nonzeros, the same values whatever the number
# of ranks and whether written as HDF5 or .tns, at the planted model's values when
# noise-free.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 1 generate -o a.h5 --dims 40x30x20 --rank 3 --nnz 5000 --seed 7 --truth t.h5
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate on 1 rank"; }
dtfrun 3 generate -o b.h5:/S --dims 40x30x20 --rank 3 --nnz 5000 --seed 7
dtfrun 2 generate -o c.tns --dims 40x30x20 --rank 3 --nnz 5000 --seed 7
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate .tns"; }
"$PYTHON" <<'PY'
import h5py, numpy as np
a, b = h5py.File("a.h5")["X"], h5py.File("b.h5")["S"]
ia, va = a["indices"][:].astype(np.int64), a["values"][:]
assert ia.shape == (5000, 3) and list(a.attrs["dims"]) == [40, 30, 20]
assert len(np.unique(ia, axis=0)) == 5000, "coordinates are not distinct"
assert (ia >= 0).all() and (ia < [40, 30, 20]).all()
assert np.array_equal(ia, b["indices"][:]) and np.allclose(va, b["values"][:], rtol=0, atol=1e-13)
t = np.loadtxt("c.tns")
assert np.array_equal(t[:, :3].astype(np.int64) - 1, ia) and np.allclose(t[:, 3], va, rtol=0, atol=1e-13)
with h5py.File("t.h5") as m:
    M = np.einsum("r,ir,jr,kr->ijk", m["lambda"][:], m["factor_0"][:], m["factor_1"][:], m["factor_2"][:])
assert np.allclose(M[tuple(ia.T)], va, rtol=1e-12, atol=1e-12), "values are not the planted model's"
print("ok: 5000 distinct nonzeros, planted values, equal on 1, 2 and 3 ranks")
PY
echo ok
