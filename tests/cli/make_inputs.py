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
def model_variant(name, attrs=None, edit=None, **h5args):
    """A copy of model.h5 as name.h5 with attributes changed (None: removed) and each
    dataset passed through edit(name, array)."""
    with h5py.File(f"{d}/model.h5") as src, h5py.File(f"{d}/{name}.h5", "w", **h5args) as f:
        for k, v in src.attrs.items():
            f.attrs[k] = v
        for k, v in (attrs or {}).items():
            if v is None:
                del f.attrs[k]
            else:
                f.attrs[k] = v
        for k in src:
            f[k] = edit(k, src[k][...]) if edit else src[k][...]


# a sparse COO tensor (about 20% nonzeros) and the same tensor dense
shape = (14, 9, 11)
dense = np.where(rng.random(shape) < 0.2, rng.standard_normal(shape), 0.0)
idx = np.argwhere(dense != 0)


def coo(path, indices, values, dims=shape, dtype=np.uint64):
    with h5py.File(path, "w") as f:
        g = f.create_group("T")
        if dims is not None:
            g.attrs["dims"] = np.array(dims, dtype=np.uint64)
        if indices is not None:
            g["indices"] = indices.astype(dtype)
        if values is not None:
            g["values"] = values


coo(f"{d}/coo.h5", idx, dense[dense != 0])
with h5py.File(f"{d}/coo_dense.h5", "w") as f:
    f["X"] = dense
bad = idx.copy()
bad[7, 1] = 9  # mode 2 has size 9: index 9 is out of range
coo(f"{d}/coo_out_of_range.h5", bad, dense[dense != 0])
neg = idx.astype(np.int64)
neg[3, 0] = -1
coo(f"{d}/coo_negative.h5", neg, dense[dense != 0], dtype=np.int64)
v = dense[dense != 0].copy()
v[5] = np.nan
coo(f"{d}/coo_nan.h5", idx, v)
coo(f"{d}/coo_no_values.h5", idx, None)
coo(f"{d}/coo_wrong_columns.h5", idx[:, :2], dense[dense != 0])
coo(f"{d}/coo_length_mismatch.h5", idx, dense[dense != 0][:-1])
coo(f"{d}/coo_zero_dim.h5", idx, dense[dense != 0], dims=(14, 0, 11))

# FROSTT text: a good one with comments and blank lines, and one fault per file
def tns(name, text):
    with open(f"{d}/{name}.tns", "w") as f:
        f.write(text)


tns("good", "# a comment\n1 1 1 1.5\n\n2 3 1 -2\n  # indented comment\n3 2 2 4e-3\n1 3 2 7\n")
tns("index_zero", "1 1 1 1.0\n2 0 1 2.0\n")
tns("negative", "1 1 1 1.0\n1 1 1 2.0\n-1 2 1 2.0\n")
tns("not_number", "1 1 1 1.0\n1 x 1 2.0\n")
tns("bad_value", "1 1 1 1.0\n1 2 1 abc\n")
tns("nan_value", "1 1 1 1.0\n# c\n1 2 1 nan\n")
tns("columns", "1 1 1 1.0\n1 2 2.0\n")
tns("one_index", "1 1.0\n2 2.0\n")
tns("duplicate", "1 1 1 1.0\n2 2 2 2.0\n3 3 3 3.0\n2 2 2 0.5\n")
tns("empty", "# nothing here\n\n")
# dimension products beyond 64 bits
coo(f"{d}/coo_overflow.h5", np.zeros((1, 3)), np.ones(1), dims=(2**40, 2**40, 2**40))
tns("overflow", "1 4000000000000 4000000000000 1.0\n2 1 1 2.0\n")
tns("huge_index", "1 1 1 1.0\n1 99999999999999999999 1 2.0\n")
# a mode of 2e9 indices from three lines: refused by memory estimates, never allocated
tns("mode_2e9", "1 1 1 1.0\n2000000000 2 2 2.0\n3 3 3 1.5\n")

# a dataset compressed with h5py's LZF filter, which the HDF5 C library cannot decode
with h5py.File(f"{d}/lzf.h5", "w") as f:
    f.create_dataset("X", data=good, compression="lzf", chunks=(3, 5, 4))
# links that lead nowhere
with h5py.File(f"{d}/dangling.h5", "w") as f:
    f["real"] = good
    f["X"] = h5py.SoftLink("/missing")
    f["E"] = h5py.ExternalLink("no_such_file.h5", "/X")
# a COO group without entries, and one whose rows 2 and 6 repeat coordinates
coo(f"{d}/coo_empty.h5", np.zeros((0, 3)), np.zeros(0))
dup = idx[:8].copy()
dup[6] = dup[2]
coo(f"{d}/coo_dup.h5", dup, np.arange(1.0, 9.0))
# model files that hold a NaN or an Inf
def poke(where, value):
    def edit(k, a):
        if k == where:
            a.flat[3 if a.ndim == 2 else 1] = value
        return a
    return edit


model_variant("model_nan", edit=poke("factor_1", np.nan))
model_variant("model_inf", edit=poke("lambda", np.inf))
# an HDF5 file holding other data, and one whose /X is an external link into good.h5
with h5py.File(f"{d}/other_data.h5", "w") as f:
    f["Y"] = np.ones(3)
    f["notes/readme"] = np.bytes_("keep me")
with h5py.File(f"{d}/extlink.h5", "w") as f:
    f["X"] = h5py.ExternalLink("good.h5", "/X")
# partly observed inputs of dtf complete
with h5py.File(f"{d}/observed.h5", "w") as f:
    x = good.copy()
    x[rng.random(x.shape) < 0.3] = np.nan
    f["X"] = x
    f["mask"] = (~np.isnan(x)).astype(np.uint8)
    f["mask_small"] = np.ones((6, 5, 3), dtype=np.uint8)
    f["mask_two"] = np.where(np.isnan(x), 0, 2).astype(np.uint8)
    f["mask_float"] = np.ones((6, 5, 4))
    f["none"] = np.full((6, 5, 4), np.nan)
    one = np.full((6, 5, 4), np.nan)  # one observation: nothing left for a validation split
    one[2, 3, 1] = 1.5
    f["one"] = one
    f["small"] = good[:, :, :3]
    b = (good > 0).astype(float)
    b[1, 2, 3] = 0.5
    f["binary"] = b
    c = np.round(np.exp(good))
    f["counts"] = c
    c2 = c.copy()
    c2[2, 1, 0] = -1
    f["negative"] = c2
    c3 = c.copy()
    c3[0, 4, 1] = 2.5
    f["fractional"] = c3
# a model of a kind this dtf cannot read
# a tensor-ring checkpoint and model file of good.h5's shape (for the refusals)
for name, state in (("tr_checkpoint", "checkpoint"), ("model_tr", "model")):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        f.attrs["model"] = np.bytes_("tr")
        f.attrs["solver"] = np.bytes_("tr-als")
        f.attrs["state"] = np.bytes_(state)
        f.attrs["format_version"] = np.int64(1)
        f.attrs["dtf_version"] = np.bytes_("0.1.0")
        f.attrs["dims"] = np.array([6, 5, 4], dtype=np.uint64)
        f.attrs["bond_ranks"] = np.array([2, 2, 2], dtype=np.int64)
        for n, size in enumerate((6, 5, 4)):
            f[f"core_{n}"] = rng.standard_normal((2, size, 2))
# a good Tucker model of good.h5's shape, core 2x2x2
with h5py.File(f"{d}/model_tucker_good.h5", "w") as f:
    f.attrs["model"] = np.bytes_("tucker")
    f.attrs["dims"] = np.array([6, 5, 4], dtype=np.uint64)
    f.attrs["core_shape"] = np.array([2, 2, 2], dtype=np.int64)
    f["core"] = rng.standard_normal((2, 2, 2))
    for n, size in enumerate((6, 5, 4)):
        f[f"factor_{n}"] = np.linalg.qr(rng.standard_normal((size, 2)))[0]
# CP's datasets under the kinds "tucker" (it lacks core_shape) and "ht" (a kind dtf does not read)
for kind in ("tucker", "ht"):
    model_variant(f"model_{kind}", {"model": np.bytes_(kind)})

# issue 19: numbers read whole and headers checked
tns("overflow_value", "1 1 1 1.0\n2 2 2 1" + "0" * 400 + "\n")  # 1e400: beyond any double
tns("long_mode", "1 4294967297 1 1.0\n2 4294967298 1 2.0\n")  # mode 2 longer than 2^32
with h5py.File(f"{d}/coo.h5") as f:
    coo_idx, coo_val = f["T/indices"][...], f["T/values"][...]
for name, dims in (("coo_dims_fraction", np.array([14.7, 9.2, 11.9])),
                   ("coo_dims_negative", np.array([14, -9, 11], dtype=np.int64)),
                   ("coo_dims_nan", np.array([14.0, np.nan, 11.0]))):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        g = f.create_group("T")
        g.attrs["dims"] = dims
        g["indices"], g["values"] = coo_idx, coo_val
big = coo_idx.copy()
big[3, 0] = 2**64 - 1  # beyond int64: named as written, not clamped
coo(f"{d}/coo_index_2e64.h5", big, coo_val)


def damage(path, name):
    """Flip a byte of the object header of `name` (a version-2 header, whose checksum
    then fails): the link stays, the object cannot be read."""
    with h5py.File(path, "r") as f:
        addr = h5py.h5o.get_info(f[name].id).addr
    b = bytearray(open(path, "rb").read())
    assert b[addr:addr + 4] == b"OHDR", "not a version-2 object header"
    b[addr + 6] ^= 0xFF
    open(path, "wb").write(b)


with h5py.File(f"{d}/damaged.h5", "w", libver="latest") as f:
    f["X"] = good
damage(f"{d}/damaged.h5", "X")
model_variant("model_damaged", libver="latest")
damage(f"{d}/model_damaged.h5", "factor_1")
# CP models with a bad header: a newer format, dims missing, of floats, with a size 0, too few
for name, change in (("model_v99", {"format_version": np.int64(99)}), ("model_nodims", {"dims": None}),
                     ("model_floatdims", {"dims": np.array([6.0, 5.0, 4.0])}),
                     ("model_zerodim", {"dims": np.array([6, 0, 4], dtype=np.int64)}),
                     ("model_onedim", {"dims": np.array([120], dtype=np.uint64)})):
    model_variant(name, change)
# the CP model with the likelihoods of dtf complete (bernoulli, poisson)
for lik in ("bernoulli", "poisson"):
    model_variant(f"model_{lik}", {"likelihood": np.bytes_(lik)})
