#!/usr/bin/env bash
# Tensor completion on the real tensors of ../shared/data (issue 20): dtf complete's defaults
# (CP and tensor ring, online and batch EM), ALS with the rank and ridge chosen on a
# validation split, and baselines (training mean, bias-only model, degree score for binary
# data), all on the same seeded splits of each tensor's observed cells.
#
#   bench/compare_complete_real.sh [options]
#
# options:
#   --build DIR        the build directory holding dtf (default: build)
#   --dtf PATH         the dtf binary (default: BUILD/dtf)
#   --np N             MPI ranks for every dtf run (default 2)
#   --seeds N          seeds 1..N (default 5)
#   --regimes "A B"    percentages of the observed cells to train on (default "80 10 1"; the
#                      test cells are the others, at most --test-max of them, sampled)
#   --data "D ..."     only these data sets (names as in ../shared/data, e.g. "kinship il2")
#   --quick            1 seed, regimes 80 and 1: a trial run
#   --config "L=ARGS"  one more dtf configuration, label L, run on every case (repeatable);
#                      ARGS are dtf complete options, e.g. "L=--model cp -r 10 --bias off"
#   --config-gaussian "L=ARGS"  the same, run on the gaussian cases only
#   --als-args "ARGS"  replace the ALS row's options (default: --reg auto --rank auto when
#                      `dtf complete --help` shows --validation and auto, else the stand-in
#                      -r 10 --reg 0.1)
#   --iters N          pass -i N to every dtf run (default: dtf's default)
#   --test-max N       at most N test cells a split (default 100000)
#   --work DIR         scratch (default /tmp/dtf-bench-complete-real); splits, runs, results
#   --out FILE         the markdown report (default WORK/results.md)
#   --resume           keep the results already in WORK and run only the missing ones
#                      (without it, WORK's results are removed first)
#   --timeout S        stop a dtf run after S seconds, counted as failed (default 1800)
#   --data-dir DIR     the data (default: the repository's ../shared/data)
#
# Every split is made by bench/complete_real.py (not by dtf's --holdout), so dtf and the
# baselines see the same cells: train.h5 (dense, NaN on held-out and missing cells), test.h5
# (dense, only the test cells observed, for `dtf complete --test`), and the test cells as a COO
# group for `dtf predict --at`. Every metric is computed by the helper from the predictions
# (dtf predict for dtf runs) and compared with the --json summary's own test metric.
# Output: a markdown table per data set and regime (median, min and max over the seeds of test
# RMSE or AUC, median effective rank and seconds, collapsed runs, failed runs, whether the
# JSON metric equals the predictions'), and the best configuration per data set and regime.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
py=/usr/bin/python3
helper="$here/complete_real.py"
cmdline="bench/compare_complete_real.sh${*:+ $*}"
BUILD=build DTF="" NP=2 SEEDS=5 REGIMES="80 10 1" DATA="" ITERS="" TEST_MAX=100000
WORK=/tmp/dtf-bench-complete-real OUT="" RESUME=0 TIMEOUT=1800 ALS_ARGS=""
DATA_DIR="$repo/../shared/data"
extra_labels=() extra_args=() extra_gauss=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift ;;
    --dtf) DTF=$2; shift ;;
    --np) NP=$2; shift ;;
    --seeds) SEEDS=$2; shift ;;
    --regimes) REGIMES=$2; shift ;;
    --data) DATA=$2; shift ;;
    --quick) SEEDS=1 REGIMES="80 1" ;;
    --config | --config-gaussian)
      [[ "$2" == *=* ]] || { echo "$1 takes LABEL=ARGS, not '$2'" >&2; exit 1; }
      extra_labels+=("${2%%=*}") extra_args+=("${2#*=}")
      if [ "$1" = --config ]; then extra_gauss+=(0); else extra_gauss+=(1); fi
      shift ;;
    --als-args) ALS_ARGS=$2; shift ;;
    --iters) ITERS=$2; shift ;;
    --test-max) TEST_MAX=$2; shift ;;
    --work) WORK=$2; shift ;;
    --out) OUT=$2; shift ;;
    --resume) RESUME=1 ;;
    --timeout) TIMEOUT=$2; shift ;;
    --data-dir) DATA_DIR=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option '$1' (see --help)" >&2; exit 1 ;;
  esac
  shift
done
[ -n "$DTF" ] || DTF="$BUILD/dtf"
DTF=$(cd "$(dirname "$DTF")" && pwd)/$(basename "$DTF")
[ -x "$DTF" ] || { echo "no dtf binary at $DTF (--build or --dtf)" >&2; exit 1; }
DATA_DIR=$(cd "$DATA_DIR" && pwd)
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
[ -n "$OUT" ] || OUT="$WORK/results.md"
. "$repo/scripts/mpi-env.sh"
export OMP_NUM_THREADS=1
mpi=(mpirun -np "$NP" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)

# What this dtf offers: ALS with its rank and ridge chosen on a validation split, bias terms.
help=$("$DTF" complete --help 2>&1 || true)
has_auto=0 has_bias=0
if grep -q -- '--validation' <<<"$help" && grep -q 'auto' <<<"$help"; then has_auto=1; fi
if grep -q -- '--bias' <<<"$help"; then has_bias=1; fi
if [ -n "$ALS_ARGS" ]; then als_label="als $ALS_ARGS"
elif [ "$has_auto" = 1 ]; then ALS_ARGS="--reg auto --rank auto" als_label="als, --reg auto --rank auto"
else ALS_ARGS="-r 10 --reg 0.1" als_label="als -r 10 --reg 0.1 (stand-in: no --reg auto)"
fi

# The configurations: label, dtf complete options, gaussian only (1) or every likelihood (0).
labels=("cp online -r 10" "cp batch -r 10" "tr online -r 5" "tr batch -r 5" "$als_label")
args=("--model cp -r 10 --algorithm online" "--model cp -r 10 --algorithm batch"
  "--model tr -r 5 --algorithm online" "--model tr -r 5 --algorithm batch" "--algorithm als $ALS_ARGS")
gauss=(0 0 0 0 1)
for k in "${!extra_labels[@]}"; do
  labels+=("${extra_labels[$k]}") args+=("${extra_args[$k]}") gauss+=("${extra_gauss[$k]}")
done

# The cases: data set and likelihood.
all_cases="aminoacid:gaussian kinetic:gaussian il2:gaussian birmingham_parking:gaussian
  kinship:bernoulli nations:bernoulli hangzhou_metro:gaussian hangzhou_metro:poisson"
cases=()
for c in $all_cases; do
  if [ -z "$DATA" ] || grep -qw -- "${c%%:*}" <<<"$DATA"; then cases+=("$c"); fi
done
[ ${#cases[@]} -gt 0 ] || { echo "--data '$DATA' names none of: $all_cases" >&2; exit 1; }
case_order=()
for c in "${cases[@]}"; do case_order+=("${c%%:*} (${c##*:})"); done

[ "$RESUME" = 1 ] || rm -rf "$WORK/runs" "$WORK/splits"
slug() { tr -c 'A-Za-z0-9.\n-' '_' <<<"$1"; }
t_start=$(date +%s)
echo "dtf: $DTF ($("$DTF" --version 2>&1 | head -1)); $NP ranks; seeds 1..$SEEDS; regimes $REGIMES% train"
echo "detected: --reg/--rank auto: $([ $has_auto = 1 ] && echo yes || echo no); --bias: $([ $has_bias = 1 ] && echo yes || echo no)"
for regime in $REGIMES; do
  for seed in $(seq 1 "$SEEDS"); do
    for c in "${cases[@]}"; do
      name=${c%%:*} lik=${c##*:}
      case_label="$name ($lik)"
      split="$WORK/splits/$name/r$regime/s$seed"
      rdir="$WORK/runs/$name-$lik/r$regime/s$seed"
      mkdir -p "$rdir/results"
      if [ ! -s "$split/split.npz" ]; then
        "$py" "$helper" split --data "$DATA_DIR" --name "$name" --regime "$regime" --seed "$seed" \
          --test-max "$TEST_MAX" --out "$split"
      fi
      echo "== $case_label, train $regime%, seed $seed"
      common=(--split "$split" --case "$case_label" --name "$name" --likelihood "$lik" --regime "$regime" --seed "$seed")
      if [ ! -s "$rdir/results/baseline0.json" ]; then
        "$py" "$helper" baselines "${common[@]}" --out "$rdir/results"
      fi
      for k in "${!labels[@]}"; do
        [ "${gauss[$k]}" = 1 ] && [ "$lik" != gaussian ] && continue
        s=$(slug "${labels[$k]}")
        res="$rdir/results/$s.json"
        [ -s "$res" ] && continue
        run="$rdir/$s"
        rm -rf "$run" && mkdir -p "$run"
        read -r -a opts <<<"${args[$k]}"
        [ -n "$ITERS" ] && opts+=(-i "$ITERS")
        t0=$(date +%s.%N)
        rc=0
        timeout "$TIMEOUT" "${mpi[@]}" "$DTF" complete "$split/train.h5" --test "$split/test.h5" \
          --likelihood "$lik" --seed "$seed" "${opts[@]}" --json "$run/out.json" -o "$run/model.h5" -q \
          >"$run/log" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        if [ "$rc" = 0 ]; then
          "${mpi[@]}" "$DTF" predict "$run/model.h5" --at "$split/coords.h5:/C" -o "$run/pred.h5" -q \
            >>"$run/log" 2>&1 || rc=$?
        fi
        "$py" "$helper" score "${common[@]}" --out "$res" --label "${labels[$k]}" --order "$k" \
          --args "${args[$k]}" --json "$run/out.json" --pred "$run/pred.h5" --log "$run/log" --rc "$rc" \
          --wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
        rm -f "$run/model.h5" "$run/pred.h5"
      done
    done
  done
done
t_total=$(($(date +%s) - t_start))
commit=$(git -C "$(dirname "$DTF")" describe --always --dirty 2>/dev/null || echo "commit unknown")
header="## Completion on real tensors: $(date -u +%Y-%m-%d), $("$DTF" --version 2>&1 | head -1) ($commit), $NP ranks\\n\\n"
header+="Command: \`$cmdline\` (seeds 1..$SEEDS, train ${REGIMES// /%, }% of the observed cells). "
header+="Detected: \`--reg auto --rank auto\` $([ $has_auto = 1 ] && echo yes || echo no), \`--bias\` $([ $has_bias = 1 ] && echo yes || echo no). "
header+="This run took $((t_total / 60)) min $((t_total % 60)) s"
if [ "$RESUME" = 1 ]; then header+=" (resumed: the runs it made)."; else header+="."; fi
"$py" "$helper" report --work "$WORK" --out "$OUT" --header "$header" --case-order "${case_order[@]}"
echo "report: $OUT"
