#!/usr/bin/env bash
# resume_refusals.sh: --resume refuses a checkpoint that belongs to another run before any
# iteration (exit 2), naming the option that differs as the user gives it, and leaves the
# checkpoint as it was: one row per solver and option that changes the result, over one
# checkpoint per solver (rows run six at a time, on 1 rank where
# the ranks do not matter). Also: a damaged checkpoint is refused
# naming the file and the field; a run resumed from the checkpoint of its last iteration
# reports, in its result line, summary and model file, what the interrupted run did; a first
# iteration has no delta ("delta -"). STRIDE (default 1): run every STRIDE-th row only.
. "$(dirname "$0")/lib.sh"
stride=${1:-1}
set -e
"$PYTHON" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(1)
A = [rng.random((n, 2)) for n in (12, 10, 8)]
x = np.einsum("ir,jr,kr->ijk", *A)
def dense(name, v):
    with h5py.File(name, "w") as f:
        f["X"] = v
dense("x.h5", x + 0.05 * rng.standard_normal(x.shape))
dense("y.h5", x + 0.05 * rng.standard_normal(x.shape))
dense("z.h5", rng.standard_normal((12, 10, 9)))
dense("p.h5", rng.poisson(3 * x).astype(float))
idx = np.argwhere(rng.random(x.shape) < 0.3)
with h5py.File("s.h5", "w") as f:
    g = f.create_group("T")
    g.attrs["dims"] = np.array(x.shape, dtype=np.uint64)
    g["indices"] = idx.astype(np.uint64)
    g["values"] = x[tuple(idx.T)]
PY

# bg NAME NP ARGS...: dtf in the background, in a TMPDIR of its own (see isolate.sh);
# NAME.out, NAME.err, NAME.rc
bg() {
  local name=$1 np=$2
  shift 2
  mkdir -p "$TMPDIR/$name"
  (
    rc=0
    TMPDIR=$TMPDIR/$name timeout "${DTF_RUN_TIMEOUT:-120}" "$MPIEXEC" --oversubscribe -np "$np" "$DTF" "$@" \
      </dev/null >"$name.out" 2>"$name.err" || rc=$?
    echo "$rc" >"$name.rc"
  ) &
}

# one checkpoint per solver, of its last iteration (-i 2), with the uninterrupted run's
# model and summary
declare -A base=(
  [cp]="cp x.h5 -r 2 -i 2 --tol 0"
  [cps]="cp s.h5:/T -r 2 -i 2 --tol 0"
  [tr]="tr x.h5 -r 2 -i 2 --tol 0 --sampled 40 --fit-every 1"
  [gcp]="gcp p.h5 -r 2 -i 2 --tol 0 --compress topk:0.5 --grid 2x1x1"
  [cpl]="complete p.h5 -r 2 -i 2 --holdout 0.2"
  [ctr]="complete p.h5 --model tr --ranks 2x2x2 -i 2 --test y.h5"
  [tk]="tucker x.h5 -r 2 --method hooi -i 2 --order 3,1,2 --eig randomized"
  [tkb]="tucker x.h5 --budget 200 --method hooi -i 2" # its ranks are found, not asked for
)
for k in "${!base[@]}"; do
  # shellcheck disable=SC2086
  bg "a_$k" 2 ${base[$k]} --checkpoint "ck_$k.h5" --checkpoint-every 1 -o "u_$k.h5" --json "a_$k.json"
done
wait
for k in "${!base[@]}"; do
  [ "$(cat "a_$k.rc")" -eq 0 ] || { cat "a_$k.err"; fail "setup: ${base[$k]}"; }
  case $k in tr | ctr | cpl | tk) # no earlier value: no delta (it was "inf")
    grep -Eq '^iter 1 .*  delta -  ' "a_$k.err" || { cat "a_$k.err"; fail "${base[$k]}: a first iteration's delta"; } ;;
  esac
done

# resumed where it ended: the same report, summary and model as the run that wrote it
unset 'base[cps]'
for k in "${!base[@]}"; do
  np=1
  [ "$k" != gcp ] || np=2 # its compressors' state is per rank
  # shellcheck disable=SC2086
  bg "b_$k" $np ${base[$k]} --checkpoint "ck_$k.h5" --resume -o "m_$k.h5" --json "b_$k.json"
done
wait
for k in "${!base[@]}"; do
  [ "$(cat "b_$k.rc")" -eq 0 ] || { cat "b_$k.err"; fail "resume at the end: ${base[$k]}"; }
  ! grep -q '^iter' "b_$k.err" || fail "${base[$k]}: iterated after its last iteration"
  [ "$(head -c 24 "b_$k.out")" = "$(head -c 24 "a_$k.out")" ] || fail "${base[$k]}: $(head -1 "b_$k.out")"
done
"$PYTHON" - "${!base[@]}" <<'PY' || fail "a run resumed at its end reports otherwise"
import json, sys, h5py, numpy as np
for k in sys.argv[1:]:
    a, b = json.load(open(f"a_{k}.json")), json.load(open(f"b_{k}.json"))
    skip = {"resumed_at", "output", "peak_rss_bytes_max", "ranks", "grid"}
    for key, v in a.items():
        if key in skip or key.startswith("time_") or key.startswith("comm_"):
            continue
        w = b.get(key)
        # what a run recomputes on other ranks (a baseline) may differ in its last bits
        same = w == v or (isinstance(v, float) and isinstance(w, float) and abs(v - w) <= 1e-12 * abs(v))
        assert same, f"{k}: summary key {key}: {v} uninterrupted, {w} resumed at the end"
    with h5py.File(f"u_{k}.h5") as u, h5py.File(f"m_{k}.h5") as m:
        for key in ("fit", "iterations"):
            x, y = u.attrs[key], m.attrs[key]
            assert x == y or (np.isnan(x) and np.isnan(y)), f"{k}: model attribute {key}: {x}, resumed {y}"
PY
echo "ok: ${#base[@]} runs resumed at their end"

# damaged checkpoints
cp ck_cp.h5 nan.h5
cp ck_cp.h5 minus.h5
cp ck_cp.h5 inf.h5
cp ck_gcp.h5 lr.h5
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("nan.h5", "r+") as f:
    v = f["factor_1"][()]
    v[4, 1] = np.nan
    f["factor_1"][...] = v
with h5py.File("minus.h5", "r+") as f:
    f.attrs.modify("iterations", -5)
with h5py.File("inf.h5", "r+") as f:
    f.attrs.modify("fit", np.inf)
with h5py.File("lr.h5", "r+") as f:
    f.attrs.modify("lr", np.nan)
PY
sum=$(sha1sum ./*.h5)

# NP | CHECKPOINT | what follows "checkpoint 'CHECKPOINT' " in the message (ERE) | ARGS
rows=$(
  cat <<'EOF'
1 | ck_cp | was made with --rank 2; this run has --rank 3 | cp x.h5 -r 3 -i 4
1 | ck_cp | was made with --seed 0; this run has --seed 5 | cp x.h5 -r 2 -i 4 --seed 5
1 | ck_cp | was made from another input of the same shape | cp y.h5 -r 2 -i 4
1 | ck_cp | was made for a 12x10x8 tensor; this input is 12x10x9 | cp z.h5 -r 2 -i 4
1 | ck_cp | is at iteration 2; this run allows 1 \(-i\) | cp x.h5 -r 2 -i 1
1 | ck_cp | is a cp-als checkpoint; this run is tr-als | tr x.h5 -r 2 -i 4
1 | ck_cps | was made with no --permute; this run has --permute \(seed 0\) | cp s.h5:/T -r 2 -i 4 --permute
1 | ck_tr | was made with --ranks 2x2x2; this run has --ranks 3x3x3 | tr x.h5 -r 3 -i 4 --sampled 40 --fit-every 1
1 | ck_tr | was made with --seed 0; this run has --seed 5 | tr x.h5 -r 2 -i 4 --sampled 40 --fit-every 1 --seed 5
1 | ck_tr | was made with --reg 0; this run has --reg 0.1 | tr x.h5 -r 2 -i 4 --sampled 40 --fit-every 1 --reg 0.1
1 | ck_tr | was made with --init random; this run has --init svd | tr x.h5 -r 2 -i 4 --sampled 40 --fit-every 1 --init svd
1 | ck_tr | was made with --sampled 40; this run has --sampled 50 | tr x.h5 -r 2 -i 4 --sampled 50 --fit-every 1
1 | ck_tr | was made with --sampled 40; this run has no --sampled | tr x.h5 -r 2 -i 4
1 | ck_tr | was made with --fit-every 1; this run has --fit-every 10 | tr x.h5 -r 2 -i 4 --sampled 40
1 | ck_gcp | was made with --rank 2; this run has --rank 3 | gcp p.h5 -r 3 -i 4 --compress topk:0.5
1 | ck_gcp | was made with --seed 0; this run has --seed 5 | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --seed 5
1 | ck_gcp | was made with --loss gaussian; this run has --loss poisson | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --loss poisson
1 | ck_gcp | was made with --optimizer adam; this run has --optimizer sgd | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --optimizer sgd
1 | ck_gcp | was made with --compress topk:0.5; this run has --compress topk:0.25 | gcp p.h5 -r 2 -i 4 --compress topk:0.25
1 | ck_gcp | was made with --compress topk:0.5; this run has --compress none | gcp p.h5 -r 2 -i 4
1 | ck_gcp | was made with no --lr; this run has --lr 0.01 | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --lr 0.01
1 | ck_gcp | was made with --steps 10; this run has --steps 5 | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --steps 5
1 | ck_gcp | was made with no --sample; this run has --sample 100 | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --sample 100
2 | ck_gcp | holds state of each rank \('compress_0'\), written by 2 ranks on grid 2x1x1; this run has 2 ranks on grid 1x2x1 | gcp p.h5 -r 2 -i 4 --compress topk:0.5 --grid 1x2x1
1 | ck_gcp | holds state of each rank \('compress_0'\), written by 2 ranks on grid 2x1x1; this run has 1 rank on grid 1x1x1 | gcp p.h5 -r 2 -i 4 --compress topk:0.5
1 | ck_cpl | was made with --holdout 0.2; this run has --holdout 0.3 | complete p.h5 -r 2 -i 4 --holdout 0.3
1 | ck_cpl | was made with --holdout 0.2; this run has no --holdout | complete p.h5 -r 2 -i 4
1 | ck_cpl | is of model cp; this run is of model tr \(--model\) | complete p.h5 --model tr -r 2 -i 4 --holdout 0.2
1 | ck_cpl | was made with --likelihood gaussian; this run has --likelihood poisson | complete p.h5 -r 2 -i 4 --holdout 0.2 --likelihood poisson
1 | ck_cpl | was made with --algorithm online; this run has --algorithm batch | complete p.h5 -r 2 -i 4 --holdout 0.2 --algorithm batch
1 | ck_cpl | was made with --rank 2; this run has --rank 3 | complete p.h5 -r 3 -i 4 --holdout 0.2
1 | ck_cpl | was made with --seed 0; this run has --seed 5 | complete p.h5 -r 2 -i 4 --holdout 0.2 --seed 5
1 | ck_cpl | was made with --batches 10; this run has --batches 5 | complete p.h5 -r 2 -i 4 --holdout 0.2 --batches 5
1 | ck_cpl | was made with --kappa 0.7; this run has --kappa 0.8 | complete p.h5 -r 2 -i 4 --holdout 0.2 --kappa 0.8
1 | ck_cpl | was made with --prune 0.01; this run has --prune 0.1 | complete p.h5 -r 2 -i 4 --holdout 0.2 --prune 0.1
1 | ck_cpl | was made with --merge 0.995; this run has --merge 0.9 | complete p.h5 -r 2 -i 4 --holdout 0.2 --merge 0.9
1 | ck_cpl | is at epoch 2; this run allows 1 \(-i\) | complete p.h5 -r 2 -i 1 --holdout 0.2
1 | ck_ctr | is of model tr; this run is of model cp \(--model\) | complete p.h5 -r 2 -i 4 --test y.h5
1 | ck_ctr | was made with --ranks 2x2x2; this run has --ranks 2x3x2 | complete p.h5 --model tr --ranks 2x3x2 -i 4 --test y.h5
1 | ck_ctr | was made with --test \(960 entries, checksum [0-9a-f]{16}\); this run has --test \(960 entries, checksum [0-9a-f]{16}\) | complete p.h5 --model tr --ranks 2x2x2 -i 4 --test x.h5
1 | ck_ctr | was made with --test \(960 entries, checksum [0-9a-f]{16}\); this run has no --test | complete p.h5 --model tr --ranks 2x2x2 -i 4
1 | ck_tk | was made with --ranks 2x2x2; this run has --ranks 3x3x3 | tucker x.h5 -r 3 --method hooi -i 4 --order 3,1,2 --eig randomized
1 | ck_tk | was made with --order 3,1,2; this run has --order 2,1,3 | tucker x.h5 -r 2 --method hooi -i 4 --order 2,1,3 --eig randomized
1 | ck_tk | was made with no --tol; this run has --tol 0.1 | tucker x.h5 --tol 0.1 --method hooi -i 4 --order 3,1,2 --eig randomized
1 | ck_tk | was made with no --budget; this run has --budget 200 | tucker x.h5 --budget 200 --method hooi -i 4 --order 3,1,2 --eig randomized
1 | ck_tk | was made with --eig randomized; this run has --eig lapack | tucker x.h5 -r 2 --method hooi -i 4 --order 3,1,2 --eig lapack
1 | ck_tk | was made with --seed 0; this run has --seed 5 | tucker x.h5 -r 2 --method hooi -i 4 --order 3,1,2 --eig randomized --seed 5
1 | ck_tk | was made with --power 0; this run has --power 1 | tucker x.h5 -r 2 --method hooi -i 4 --order 3,1,2 --eig randomized --power 1
1 | ck_tk | was made with --oversample 10; this run has --oversample 5 | tucker x.h5 -r 2 --method hooi -i 4 --order 3,1,2 --eig randomized --oversample 5
1 | ck_tk | is after 2 HOOI sweeps; this run allows 1 \(-i\) | tucker x.h5 -r 2 --method hooi -i 1 --order 3,1,2 --eig randomized
1 | nan | : dataset 'factor_1' holds nan at row 4, column 1 \(0-based\) | cp x.h5 -r 2 -i 4
1 | minus | : attribute 'iterations' is -5; a checkpoint is written after an iteration | cp x.h5 -r 2 -i 4
1 | inf | : attribute 'fit' is inf; it must be a finite number | cp x.h5 -r 2 -i 4
2 | lr | : attribute 'lr' is nan; it must be a finite number | gcp p.h5 -r 2 -i 4 --compress topk:0.5
EOF
)

trim() {
  local s=${1#"${1%%[! ]*}"}
  echo "${s%"${s##*[! ]}"}"
}
n=0 launched=0
while IFS='|' read -r np ck regex args; do
  n=$((n + 1))
  [ $((n % stride)) -eq 0 ] || continue
  np=$(trim "$np") ck=$(trim "$ck") regex=$(trim "$regex") args=$(trim "$args")
  echo "$ck|$regex|$args" >"row$n.txt"
  # shellcheck disable=SC2086
  bg "row$n" "$np" $args --checkpoint "$ck.h5" --resume
  launched=$((launched + 1))
  [ $((launched % 6)) -ne 0 ] || wait
done <<<"$rows"
wait
bad=0
for ((k = stride; k <= n; k += stride)); do
  IFS='|' read -r ck regex args <"row$k.txt"
  [ "${regex:0:1}" = ":" ] || regex=" $regex" # what follows "checkpoint 'CK.h5'"
  rc=$(cat "row$k.rc") why=""
  if [ "$rc" -ne 2 ]; then
    why="exit $rc, expected 2"
  elif ! grep -Eq -- "checkpoint '$ck.h5'$regex" "row$k.err"; then
    why="stderr does not match /checkpoint '$ck.h5'$regex/"
  elif grep -q '^iter' "row$k.err"; then
    why="iterated before refusing"
  fi
  [ -z "$why" ] || { grep -v '^---\|^ \|^$' "row$k.err" | head -3; echo "FAIL: $args ($ck.h5): $why"; bad=$((bad + 1)); }
done
[ "$bad" -eq 0 ] || fail "$bad of $n rows"
echo "ok: $((n / stride)) refusals"
[ "$(sha1sum ./*.h5)" = "$sum" ] || fail "a refused resume changed a file"

echo ok
