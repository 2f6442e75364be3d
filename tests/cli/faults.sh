#!/usr/bin/env bash
# faults.sh NP: a failure on one rank, in the middle of an iteration or of a write, must
# reach every rank: all exit with the same code and one message, within the time limit
# (a hang fails), and nothing is left under an output's name. DTF_FAULT makes the last
# rank fail at iteration 3 (or its first write).
. "$(dirname "$0")/lib.sh"
set -e
np=$1
last=$((np - 1))
dtfrun 2 generate -o x.h5 --dims 40x30x20 --rank 4 --noise 0.05 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
rm -f ./*.json

# fault STAGE N CODE REGEX ARGS...: DTF_FAULT=last:N:STAGE, expect CODE and REGEX
fault() {
  local stage=$1 n=$2 code=$3 regex=$4
  shift 4
  local t0=$SECONDS
  DTF_FAULT="$last:$n:$stage" dtfrun "$np" "$@"
  [ "$RC" -eq "$code" ] || { cat err.txt; fail "$stage: exit $RC, expected $code"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$stage: stderr does not match /$regex/"; }
  [ "$(grep -c '^dtf [a-z]*: error' err.txt)" -eq 1 ] || { cat err.txt; fail "$stage: not exactly one error message"; }
  left=$(ls -A | grep -v -E '^(x\.h5|out\.txt|err\.txt)$' || true)
  [ -z "$left" ] || fail "$stage: files left behind: $left"
  echo "ok: $stage on rank $last of $np: exit $RC in $((SECONDS - t0)) s"
}
cp_args=(cp x.h5 -r 4 -i 10 --tol 0 -o m.h5 --json s.json)
fault mttkrp 3 2 "error: fault injected by DTF_FAULT on rank $last at iteration 3 \(stage mttkrp\)" "${cp_args[@]}"
fault solve 3 3 "error: fault injected by DTF_FAULT on rank $last at iteration 3 \(stage solve\)" "${cp_args[@]}"
fault nan 3 3 "error: factor [0-9] became non-finite at iteration 3" "${cp_args[@]}"
fault write 1 4 "error: fault injected by DTF_FAULT on rank $last at write 1 \(stage write\)" "${cp_args[@]}"
fault write 1 4 "fault injected by DTF_FAULT on rank $last at write 1" "${cp_args[@]:0:8}" --checkpoint ck.h5 \
  --checkpoint-every 2
fault write 1 4 "fault injected by DTF_FAULT on rank $last at write 1" generate -o y.h5 --dims 30x20x10 --rank 2
fault write 1 4 "fault injected by DTF_FAULT on rank $last at write 1" generate -o y.h5 --dims 30x20x10 --rank 2 \
  --nnz 500
fault write 1 4 "fault injected by DTF_FAULT on rank $last at write 1" generate -o y.tns --dims 30x20x10 --rank 2 \
  --nnz 500
# MPI itself failing on one rank cannot be agreed on: that rank names it and ends the job (5)
fault mpi 25 5 "error \(rank $last\): MPI_(Allreduce|Reduce_scatter) failed \(fault injected by DTF_FAULT\)" \
  "${cp_args[@]}"
# the checkpoint written before a failed one survives it, and resumes
DTF_FAULT="$last:2:write" dtfrun "$np" "${cp_args[@]:0:8}" --checkpoint ck.h5 --checkpoint-every 2
[ "$RC" -eq 4 ] && [ -s ck.h5 ] || { cat err.txt; fail "the first checkpoint did not survive the failed second"; }
dtfrun "$np" "${cp_args[@]:0:8}" --checkpoint ck.h5 --resume
[ "$RC" -eq 0 ] && grep -q "resumed from ck.h5 at iteration 2" err.txt || { cat err.txt; fail "resume"; }
echo ok
