"""Interop with h5py: dtf reads what h5py writes (float32, nested dataset path), and the
model file dtf writes reads back with the documented names, shapes and attributes, and
rebuilds (with numpy) to the fit dtf reports."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DTF, MPIEXEC = os.environ["DTF"], os.environ["MPIEXEC"]


def dtf(np_, *args):
    r = subprocess.run([MPIEXEC, "--oversubscribe", "-np", str(np_), DTF, *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"dtf {args} exit {r.returncode}: {r.stderr}"
    return r.stdout


os.chdir(tempfile.mkdtemp())
rng = np.random.default_rng(3)
A, B, C = (rng.standard_normal((n, 2)) for n in (9, 8, 7))
X = np.einsum("ir,jr,kr->ijk", A, B, C) + 0.01 * rng.standard_normal((9, 8, 7))
X32 = X.astype(np.float32)
with h5py.File("in.h5", "w") as f:
    f.create_group("data")["T"] = X32

# info reads float32 and reports the norm of exactly those values
dtf(2, "info", "in.h5:/data/T", "--json", "info.json")
info = json.load(open("info.json"))
assert info["dims"] == [9, 8, 7] and info["element_bytes"] == 4, info
norm = np.linalg.norm(X32.astype(np.float64))
assert abs(info["norm"] - norm) <= 1e-12 * norm, (info["norm"], norm)

dtf(3, "cp", "in.h5:/data/T", "-r", "2", "-i", "300", "--tol", "1e-12", "-o", "model.h5",
    "--json", "cp.json", "-q")
summary = json.load(open("cp.json"))

with h5py.File("model.h5", "r") as m:
    attrs = dict(m.attrs)
    model = attrs["model"].decode() if isinstance(attrs["model"], bytes) else attrs["model"]
    assert model == "cp", attrs
    assert list(attrs["dims"]) == [9, 8, 7] and attrs["dims"].dtype == np.uint64
    assert int(attrs["rank"]) == 2
    assert int(attrs["iterations"]) == summary["iterations"]
    assert abs(float(attrs["fit"]) - summary["fit"]) < 1e-15
    assert "dtf_version" in attrs
    lam = m["lambda"][:]
    assert lam.shape == (2,) and lam.dtype == np.float64
    F = [m[f"factor_{n}"][:] for n in range(3)]
    assert [f.shape for f in F] == [(9, 2), (8, 2), (7, 2)]
    assert sorted(m.keys()) == ["factor_0", "factor_1", "factor_2", "lambda"]
for f in F:
    assert np.allclose(np.linalg.norm(f, axis=0), 1.0, atol=1e-12)
M = np.einsum("r,ir,jr,kr->ijk", lam, *F)
Xd = X32.astype(np.float64)
fit = 1 - np.linalg.norm(Xd - M) / np.linalg.norm(Xd)
assert abs(fit - summary["fit"]) < 1e-9, (fit, summary["fit"])
assert fit > 0.99, fit
# a model file written by h5py with its default (variable-length UTF-8) string for `model`
with h5py.File("model.h5", "r") as m, h5py.File("byhand.h5", "w") as h:
    for k in m:
        h[k] = m[k][:]
    for k, v in m.attrs.items():
        h.attrs[k] = v
    h.attrs["model"] = "cp"
out = dtf(2, "eval", "byhand.h5", "in.h5:/data/T")
assert abs(float(out.split()[1]) - summary["fit"]) < 1e-6, out

print(f"ok: fit {fit:.10f} rebuilt with numpy, dtf reported {summary['fit']:.10f}")
