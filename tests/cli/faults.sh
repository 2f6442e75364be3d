#!/usr/bin/env bash
# faults.sh NP: every fault stage (include/dtf/fault.h) in every solver. A failure on one
# rank, in the middle of an iteration or of a write, must reach every rank: all exit with
# the stage's code and one message, within the time limit (a hang fails), and nothing is
# left but the input (and, where the run recovers, its outputs). DTF_FAULT makes the last
# rank fail. The solvers take turns at 2, 3 and 4 ranks: this run takes the rows of NP.
. "$(dirname "$0")/lib.sh"
set -e
np=$1
last=$((np - 1))
export DTF_RUN_TIMEOUT=${DTF_FAULT_TIMEOUT:-40}
dtfrun 2 generate -o x.h5 --dims 14x12x10 --rank 3 --noise 0.05 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate"; }
dtfrun 2 generate -o sp.h5 --dims 14x12x10 --rank 3 --nnz 800 -q
[ "$RC" -eq 0 ] || { cat err.txt; fail "generate sparse"; }
keep='x\.h5|sp\.h5|out\.txt|err\.txt'

# fault STAGE N CODE REGEX LEAVES ARGS...: DTF_FAULT=last:N:STAGE, expect exit CODE, one
# error message (or none with CODE 0) matching REGEX, and no files but the inputs and LEAVES
fault() {
  local stage=$1 n=$2 code=$3 regex=$4 leaves=$5
  shift 5
  local t0=$SECONDS
  rm -f m.h5 s.json
  DTF_FAULT="$last:$n:$stage" dtfrun "$np" "$@"
  local what="$stage:$n in '$*' on rank $last of $np"
  [ "$RC" -eq "$code" ] || { cat err.txt; fail "$what: exit $RC, expected $code"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$what: stderr does not match /$regex/"; }
  local errors=$(grep -c '^dtf [a-z]*: error' err.txt || true)
  [ "$errors" -eq $((code ? 1 : 0)) ] || { cat err.txt; fail "$what: $errors error messages"; }
  left=$(ls -A | grep -v -E "^($keep${leaves:+|$leaves})\$" || true)
  [ -z "$left" ] || fail "$what: files left behind: $left"
  echo "ok: $what: exit $RC in $((SECONDS - t0)) s"
}

injected() { echo "error: fault injected by DTF_FAULT on rank $last at $1 \\(stage $2\\)"; }

# row NP NAME ITERATION NAN_CODE NAN_REGEX MPI_STAGE:N ARGS...: the stages of one solver
# (mttkrp, solve and nan at ITERATION, its first write, the MPI call) when NP is this run's
row() {
  local rnp=$1 name=$2 it=$3 nan_code=$4 nan_regex=$5 mpi=$6
  shift 6
  [ "$rnp" -eq "$np" ] || return 0
  echo "== $name"
  local args=("$@" -o m.h5 --json s.json) nan_leaves=""
  [ "$nan_code" -ne 0 ] || nan_leaves='m\.h5|s\.json'
  fault mttkrp "$it" 2 "$(injected "iteration $it" mttkrp)" "" "${args[@]}"
  fault solve "$it" 3 "$(injected "iteration $it" solve)" "" "${args[@]}"
  fault nan "$it" "$nan_code" "$nan_regex" "$nan_leaves" "${args[@]}"
  fault write 1 4 "$(injected "write 1" write)" "" "${args[@]}"
  # MPI itself failing on one rank cannot be agreed on: that rank names it and ends the job (5)
  local stage=${mpi%:*} call=${mpi%:*}
  call=${call#mpi}
  fault "$stage" "${mpi##*:}" 5 "error \\(rank $last\\): MPI_${call#:}[A-Za-z_]* failed \\(fault injected by DTF_FAULT\\)" \
    "" "${args[@]}"
}

cp_nan="error: factor [0-9] became non-finite at iteration 2"
em_nan="error: row [0-9]+ of block [0-9] became non-finite at epoch 2"
gram_nan() { echo "error: the Gram of mode [0-9] became non-finite at iteration $1"; }
row 2 "cp dense" 2 3 "$cp_nan" mpi:Reduce_scatter:4 cp x.h5 -r 3 -i 4 --tol 0
row 3 "cp sparse" 2 3 "$cp_nan" mpi:30 cp sp.h5 -r 3 -i 4 --tol 0
row 4 "cp nonneg (hals)" 2 3 "$cp_nan" mpi:Reduce_scatter:4 cp x.h5 -r 3 -i 4 --tol 0 --constraint nonneg
row 4 "tr" 2 3 "error: core [0-9] became non-finite at iteration 2" mpi:Reduce_scatter:4 tr x.h5 -r 2 -i 4 --tol 0
# gcp undoes an epoch whose loss is not finite and goes on with smaller steps (a random start:
# the svd start is the Tucker code, its faults in the rows below)
row 2 "gcp" 2 0 "epoch 2: the loss became non-finite; undone" mpi:Allreduce:8 gcp x.h5 -r 3 --steps 3 -i 4 --tol 0 --init random
row 3 "complete cp" 2 3 "$em_nan" mpi:Reduce_scatter:4 complete x.h5 --holdout 0.1 -r 3 -i 4 --tol 0 --bias off
row 2 "complete cp, offsets" 2 3 "error: the offset of index [0-9]+ of mode [0-9] became non-finite at epoch 2" mpi:Reduce_scatter:4 complete x.h5 --holdout 0.1 -r 3 -i 4 --tol 0 --bias on
row 4 "complete tr" 2 3 "$em_nan" mpi:Reduce_scatter:4 complete x.h5 --holdout 0.1 --model tr -r 2 -i 4 --tol 0 --bias off
# Tucker: the mpi stage inside the Gram's ring, the ScaLAPACK bridge, the sketch's gather
row 4 "tucker sthosvd" 2 3 "$(gram_nan 2)" mpi:Sendrecv:2 tucker x.h5 -r 3
row 2 "tucker hooi" 4 3 "$(gram_nan 4)" mpi:Sendrecv:2 tucker x.h5 -r 3 --method hooi -i 2
row 3 "tucker scalapack" 2 3 "$(gram_nan 2)" mpi:Alltoallv:1 tucker x.h5 -r 3 --eig scalapack
row 4 "tucker randomized" 2 3 "$(gram_nan 2)" mpi:Allgatherv:2 tucker x.h5 -r 3 --eig randomized
row 2 "tucker sparse" 2 3 "$(gram_nan 2)" mpi:Alltoallv:3 tucker sp.h5 -r 3

# signal SIG_RANK:SIG:STAGE REGEX ARGS...: the signal raised at STAGE (load: the input read;
# output: an output's temporary created) ends the run with exit 75, rank 0 saying so, and
# no file but the inputs and the checkpoint ck.h5 (if any, unchanged)
signal() {
  local fault=$1 regex=$2
  shift 2
  local t0=$SECONDS before
  before=$(cksum ck.h5 2>/dev/null || true)
  # mpirun's second between SIGTERM and SIGKILL (the suite sets 0): the ranks that got the
  # signal all stop, and rank 0 must not be killed by the first one's exit before it speaks
  OMPI_MCA_odls_base_sigkill_timeout=1 DTF_FAULT="$fault" dtfrun "$np" "$@"
  local what="signal $fault in '$*' at $np ranks"
  [ "$RC" -eq 75 ] || { cat err.txt; fail "$what: exit $RC, expected 75"; }
  grep -Eq -- "$regex" err.txt || { cat err.txt; fail "$what: stderr does not match /$regex/"; }
  [ "$(cksum ck.h5 2>/dev/null || true)" = "$before" ] || fail "$what: the checkpoint changed"
  left=$(ls -A | grep -v -E "^($keep|ck\.h5)\$" || true)
  [ -z "$left" ] || fail "$what: files left behind: $left"
  echo "ok: $what: exit 75 in $((SECONDS - t0)) s"
}
loading="stopped by signal (10|15) while reading the input: nothing was written or checkpointed"
nothing="stopped by signal (10|15): nothing was written or checkpointed \\(an unfinished output is removed"

# the other writes: a checkpoint (and the one before a failed one survives it, and resumes),
# generated tensors
cp_args=(cp x.h5 -r 3 -i 4 --tol 0)
case $np in
2)
  fault write 1 4 "$(injected "write 1" write)" "" "${cp_args[@]}" --checkpoint ck.h5 --checkpoint-every 2
  DTF_FAULT="$last:2:write" dtfrun "$np" "${cp_args[@]}" --checkpoint ck.h5 --checkpoint-every 2
  [ "$RC" -eq 4 ] && [ -s ck.h5 ] || { cat err.txt; fail "the first checkpoint did not survive the failed second"; }
  dtfrun "$np" "${cp_args[@]}" --checkpoint ck.h5 --resume
  [ "$RC" -eq 0 ] && grep -q "resumed from ck.h5 at iteration 2" err.txt || { cat err.txt; fail "resume"; }
  # a signal while loading, with a checkpoint to resume from: stopped, the checkpoint intact
  signal "-1:15:load" "dtf cp: $loading" "${cp_args[@]}" --checkpoint ck.h5 --resume -o m.h5
  # with --checkpoint a signal during a write is acted on at the next iteration's end
  DTF_FAULT="-1:10:output" dtfrun "$np" "${cp_args[@]}" -i 50 --checkpoint ck.h5 --checkpoint-every 1
  [ "$RC" -eq 75 ] && grep -q "signal 10: checkpoint of iteration 2 written to ck.h5" err.txt ||
    { cat err.txt; fail "a signal during a checkpoint's write: exit $RC"; }
  rm -f ck.h5
  signal "-1:15:load" "dtf tucker: $loading" tucker sp.h5 -r 2 -o m.h5
  ;;
3)
  # one rank alone signalled: it ends, and mpirun takes the others down (no hang)
  signal "$last:10:load" "stopped by signal|exited with non-zero status" complete sp.h5 -r 2 --checkpoint ck.h5
  signal "-1:15:output" "dtf convert: $nothing" convert sp.h5 y.tns
  fault write 1 4 "$(injected "write 1" write)" "" generate -o y.h5 --dims 30x20x10 --rank 2
  fault write 1 4 "$(injected "write 1" write)" "" generate -o y.h5 --dims 30x20x10 --rank 2 --nnz 500
  ;;
4)
  fault write 1 4 "$(injected "write 1" write)" "" generate -o y.tns --dims 30x20x10 --rank 2 --nnz 500
  fault write 1 4 "$(injected "write 1" write)" "" convert sp.h5 y.tns
  signal "-1:10:output" "dtf generate: $nothing" generate -o y.h5 --dims 30x20x10 --rank 2
  signal "-1:15:output" "dtf cp: stopped by signal 15: nothing was written" cp x.h5 -r 2 -i 2 -o m.h5
  signal "0:15:load" "dtf info: $loading" info x.h5
  ;;
esac
echo ok
