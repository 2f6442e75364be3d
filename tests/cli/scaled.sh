#!/usr/bin/env bash
# scaled.sh: a tensor whose entries are around 1e-170 or 1e155 (valid float64 whose
# squares underflow or overflow) factors to the same fit as the same tensor at scale 1,
# dense and sparse, and info and eval report its true norm and fit.
. "$(dirname "$0")/lib.sh"
set -e
dtfrun 2 generate -o x.h5 --dims 30x20x10 --rank 3 --noise 0.05 --seed 3 -q
dtfrun 2 generate -o s.h5:/T --dims 30x20x10 --rank 3 --nnz 1500 --seed 3 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
"$PYTHON" - <<'PY'
import h5py
for scale, tag in ((1e-170, "tiny"), (1e155, "huge")):
    with h5py.File("x.h5") as f, h5py.File(f"x_{tag}.h5", "w") as g:
        g["X"] = f["X"][...] * scale
    with h5py.File("s.h5") as f, h5py.File(f"s_{tag}.h5", "w") as g:
        t = g.create_group("T")
        t.attrs["dims"] = f["T"].attrs["dims"]
        t["indices"] = f["T/indices"][...]
        t["values"] = f["T/values"][...] * scale
PY
for base in x s; do
  path=$([ $base = s ] && echo ":/T" || echo "")
  for tag in "" _tiny _huge; do
    dtfrun 2 cp "$base$tag.h5$path" -r 3 -i 30 --tol 0 --json "$base$tag.json" -o "m$base$tag.h5" -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "cp $base$tag.h5"; }
    dtfrun 3 eval "m$base$tag.h5" "$base$tag.h5$path" --json "e$base$tag.json" -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "eval $base$tag.h5"; }
    dtfrun 2 info "$base$tag.h5$path" --json "i$base$tag.json"
    [ "$RC" -eq 0 ] || { cat err.txt; fail "info $base$tag.h5"; }
  done
done
"$PYTHON" - <<'PY'
import json, h5py, numpy as np
for base in ("x", "s"):
    ref = json.load(open(f"{base}.json"))
    norm = json.load(open(f"i{base}.json"))["norm"]
    for tag, scale in (("_tiny", 1e-170), ("_huge", 1e155)):
        got = json.load(open(f"{base}{tag}.json"))
        assert abs(got["fit"] - ref["fit"]) <= 1e-9 * ref["fit"], (base, tag, got["fit"], ref["fit"])
        lam = np.array(got["lambda"]) / scale
        assert np.allclose(lam, ref["lambda"], rtol=1e-8), (base, tag, lam, ref["lambda"])
        ev = json.load(open(f"e{base}{tag}.json"))["fit"]
        assert abs(ev - ref["fit"]) <= 1e-9, (base, tag, ev, ref["fit"])
        n = json.load(open(f"i{base}{tag}.json"))["norm"] / scale
        assert abs(n - norm) <= 1e-12 * norm, (base, tag, n, norm)
    print(base, "fit", ref["fit"], "at scales 1, 1e-170, 1e155")
PY
echo ok
