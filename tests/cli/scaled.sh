#!/usr/bin/env bash
# scaled.sh CASE: a tensor whose entries are around 1e-170 or 1e155 (valid float64 whose
# squares underflow or overflow) gives the same fit or metric as the same tensor at scale 1.
#   cp        dense and sparse: the same fit (relative 1e-9) and lambda times the scale; info
#             and eval report the true norm and fit; eval of the scale-1 model on the tensor
#             times 1e-170, and of the 1e155 model on the scale-1 tensor, gives the fit of
#             about -1e170 and -1e155 that it is
#   tr        TR-ALS: the same fit (1e-9); eval of each model on its tensor gives it
#   tucker    HOOI: the same fit (1e-9); eval of each model on its tensor gives it
#   gcp       gaussian loss: the same fit and loss (relative 1e-6); eval of each model gives it
#   complete  online, batch and ALS (CP) and online (--model tr), --holdout: the same test RMSE
#             and MAE over the scale (relative 1e-6); so does eval --test of the online CP models
. "$(dirname "$0")/lib.sh"
set -e
case=$1
dtfrun 2 generate -o x.h5 --dims 12x10x8 --rank 3 --noise 0.05 --seed 3 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
[ "$case" != cp ] || dtfrun 2 generate -o s.h5:/T --dims 30x20x10 --rank 3 --nnz 1500 --seed 3 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
"$PYTHON" - <<'PY'
import os, h5py, numpy as np
x = h5py.File("x.h5")["X"][...]
o = x.copy()
o[np.random.default_rng(1).random(x.shape) < 0.4] = np.nan  # partly observed, for complete
for scale, tag in ((1.0, ""), (1e-170, "_tiny"), (1e155, "_huge")):
    with h5py.File(f"x{tag}.h5", "a") as g:
        if tag:
            g["X"] = x * scale
    with h5py.File(f"o{tag}.h5", "w") as g:
        g["O"] = o * scale
    if tag and os.path.exists("s.h5"):
        with h5py.File("s.h5") as f, h5py.File(f"s{tag}.h5", "w") as g:
            t = g.create_group("T")
            t.attrs["dims"] = f["T"].attrs["dims"]
            t["indices"] = f["T/indices"][...]
            t["values"] = f["T/values"][...] * scale
PY
# run NAME ARGS...: dtf ARGS at the three scales (INPUT in ARGS stands for the tensor), the
# summary in NAME{,_tiny,_huge}.json and the model in m_NAME{...}.h5; then eval EVAL-ARGS of
# each model on its own tensor into e_NAME{...}.json
run() {
  local name=$1 input=$2 ev=$3
  shift 3
  for tag in "" _tiny _huge; do
    local in=${input/@/$tag}
    dtfrun 2 "${@/INPUT/$in}" --json "$name$tag.json" -o "m_$name$tag.h5" -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "$* on $in: exit $RC"; }
    [ -z "$ev" ] && continue
    dtfrun 3 eval "m_$name$tag.h5" ${ev/@/$tag} --json "e_$name$tag.json" -q
    [ "$RC" -eq 0 ] || { cat err.txt; fail "eval of m_$name$tag.h5: exit $RC"; }
  done
}
# same NAME TOL KEYS...: the keys of NAME's summaries (and evals) agree over the scales,
# those that are in the data's units divided by the scale
same() {
  "$PYTHON" - "$@" <<'PY'
import sys, json, os
name, tol, keys = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
for pre in ("", "e_"):
    if not os.path.exists(f"{pre}{name}.json"):
        continue
    ref = json.load(open(f"{pre}{name}.json"))
    for tag, scale in (("_tiny", 1e-170), ("_huge", 1e155)):
        got = json.load(open(f"{pre}{name}{tag}.json"))
        for k in keys:
            unit = k.startswith(("test_rmse", "test_mae", "train_rmse", "noise_sd"))
            if k not in ref:
                continue
            a, b = ref[k], got[k] / (scale if unit else 1)
            assert abs(a - b) <= tol * abs(a), (pre + name, tag, k, a, b)
        print(pre + name, tag, {k: got[k] for k in keys if k in got})
PY
}
case $case in
cp)
  for base in x s; do
    path=$([ $base = s ] && echo ":/T" || echo "")
    run "$base" "$base@.h5$path" "$base@.h5$path" cp INPUT -r 3 -i 30 --tol 0
    for tag in "" _tiny _huge; do
      dtfrun 2 info "$base$tag.h5$path" --json "i$base$tag.json"
      [ "$RC" -eq 0 ] || { cat err.txt; fail "info $base$tag.h5"; }
    done
  done
  # a model in other units than the tensor: its fit is hugely negative, not 1 or 0
  dtfrun 2 eval m_x.h5 x_tiny.h5 --json cross_tiny.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "eval of the scale-1 model on the tensor times 1e-170: exit $RC"; }
  dtfrun 2 eval m_x_huge.h5 x.h5 --json cross_huge.json -q
  [ "$RC" -eq 0 ] || { cat err.txt; fail "eval of the 1e155 model on the scale-1 tensor: exit $RC"; }
  "$PYTHON" - <<'PY'
import json, numpy as np
for base in ("x", "s"):
    ref = json.load(open(f"{base}.json"))
    norm = json.load(open(f"i{base}.json"))["norm"]
    for tag, scale in (("_tiny", 1e-170), ("_huge", 1e155)):
        got = json.load(open(f"{base}{tag}.json"))
        assert abs(got["fit"] - ref["fit"]) <= 1e-9 * ref["fit"], (base, tag, got["fit"], ref["fit"])
        lam = np.array(got["lambda"]) / scale
        assert np.allclose(lam, ref["lambda"], rtol=1e-8), (base, tag, lam, ref["lambda"])
        ev = json.load(open(f"e_{base}{tag}.json"))["fit"]
        assert abs(ev - ref["fit"]) <= 1e-9, (base, tag, ev, ref["fit"])
        n = json.load(open(f"i{base}{tag}.json"))["norm"] / scale
        assert abs(n - norm) <= 1e-12 * norm, (base, tag, n, norm)
    print(base, "fit", ref["fit"], "at scales 1, 1e-170, 1e155")
# ||X - M|| / ||X|| ~ ||M|| / ||X|| ~ 1 at scale 1, and M is 1e170 (1e155) times X here
for tag, big in (("tiny", 1e170), ("huge", 1e155)):
    fit = json.load(open(f"cross_{tag}.json"))["fit"]
    print("cross", tag, fit)
    assert -1.1 * big < fit < -0.9 * big, (tag, fit)
PY
  ;;
tr)
  run tr x@.h5 x@.h5 tr INPUT -r 2 -i 10 --tol 0
  same tr 1e-9 fit
  ;;
tucker)
  run tucker x@.h5 x@.h5 tucker INPUT --ranks 2x2x2 --method hooi -i 4
  same tucker 1e-9 fit
  ;;
gcp)
  run gcp x@.h5 x@.h5 gcp INPUT -r 3 -i 5 --steps 10 --lr 0.02
  same gcp 1e-6 fit loss
  ;;
complete)
  for alg in online batch als; do
    ev=$([ $alg = online ] && echo "--test o@.h5:/O" || true)
    run "complete_$alg" o@.h5:/O "$ev" complete INPUT -r 3 -i 3 --holdout 0.2 --algorithm $alg
    same "complete_$alg" 1e-6 test_rmse test_mae
  done
  run complete_tr o@.h5:/O "" complete INPUT --model tr -r 2 -i 2 --holdout 0.2
  same complete_tr 1e-6 test_rmse test_mae
  ;;
*) fail "unknown case $case" ;;
esac
echo ok
