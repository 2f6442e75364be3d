"""Writes the HDF5 inputs of the bad-input suite into the directory given."""
import os
import sys

import h5py
import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
good = rng.standard_normal((6, 5, 4))
with h5py.File(f"{d}/good.h5", "w") as f:
    f["X"] = good
    f.create_group("grp")["inner"] = good
with h5py.File(f"{d}/strings.h5", "w") as f:
    f["X"] = np.array([[b"a", b"b"], [b"c", b"d"]], dtype="S1")
with h5py.File(f"{d}/ints.h5", "w") as f:
    f["X"] = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
with h5py.File(f"{d}/vector.h5", "w") as f:
    f["X"] = np.arange(10.0)
with h5py.File(f"{d}/empty.h5", "w") as f:
    f["X"] = np.zeros((4, 0, 3))
with h5py.File(f"{d}/nan.h5", "w") as f:
    x = good.copy()
    x[4, 2, 1] = np.nan
    f["X"] = x
with h5py.File(f"{d}/inf.h5", "w") as f:
    x = good.copy()
    x[0, 3, 2] = -np.inf
    f["X"] = x
with h5py.File(f"{d}/zeros.h5", "w") as f:
    f["X"] = np.zeros((4, 3, 2))
with h5py.File(f"{d}/ninemodes.h5", "w") as f:
    f["X"] = np.ones((2,) * 9)
with h5py.File(f"{d}/othershape.h5", "w") as f:
    f["X"] = rng.standard_normal((6, 5, 3))
with open(f"{d}/notes.txt", "w") as f:
    f.write("this is not an HDF5 file\n")
with open(f"{d}/good.h5", "rb") as src, open(f"{d}/truncated.h5", "wb") as dst:
    dst.write(src.read()[:1500])
with h5py.File(f"{d}/tiny.h5", "w") as f:
    f["X"] = np.ones((2, 2))
# a CP model file as h5py would write one by hand, 6x5x4, rank 2
with h5py.File(f"{d}/model.h5", "w") as f:
    f.attrs["model"] = np.bytes_("cp")
    f.attrs["dims"] = np.array([6, 5, 4], dtype=np.uint64)
    f.attrs["rank"] = np.int64(2)
    f["lambda"] = np.ones(2)
    for n, size in enumerate((6, 5, 4)):
        f[f"factor_{n}"] = rng.standard_normal((size, 2))
