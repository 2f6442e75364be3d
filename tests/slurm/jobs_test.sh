#!/usr/bin/env bash
# The job scripts under a real single-node SLURM (scripts/slurm-local.sh): generate,
# convert and cp through `sbatch --wait`, then the requeue path of cp.sbatch: the warning
# signal SLURM sends before a time limit (here sent at once with scancel), a checkpoint,
# exit 75, the job requeued, the next run resumed and finished, the same model as an
# uninterrupted run. Needs root (it starts the daemons); exits 77 (skipped) otherwise.
set -u
src=$1
[ "$(id -u)" -eq 0 ] || { echo "not root: SLURM test skipped"; exit 77; }
. "$src/scripts/mpi-env.sh"
export SLURM_LOCAL_DIR=$TMPDIR/slurm
"$src/scripts/slurm-local.sh" start || exit 1
export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf
trap '"$src/scripts/slurm-local.sh" stop' EXIT
work=$TMPDIR/work && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*" >&2; tail -n 30 ./*.out >&2; exit 1; }
submit() { timeout 300 sbatch --wait "$@" >>sbatch.log 2>&1 || fail "sbatch $* (exit $?)"; }

DTF_ARGS="--noise 0.05" submit "$src/jobs/generate.sbatch" x.h5 200x150x100 6
[ -s x.h5 ] && grep -q "wrote x.h5:/X 200x150x100" dtf-generate-*.out || fail "generate.sbatch"
DTF_ARGS="--nnz 3000" submit "$src/jobs/generate.sbatch" s.tns 30x20x10 3
DTF_ARGS="--sum-duplicates" submit "$src/jobs/convert.sbatch" s.tns s.h5:/T
grep -q "wrote s.h5:/T: 30x20x10, 3000 entries" dtf-convert-*.out || fail "convert.sbatch"
DTF_ARGS="-i 30 --tol 0 --json direct.json" submit "$src/jobs/cp.sbatch" x.h5 6 direct.h5
[ -s direct.h5 ] || fail "cp.sbatch wrote no model"

# requeue: a long run, signalled once its first checkpoint exists
DTF_ARGS="-i 3000 --tol 0 --checkpoint-every 50" timeout 400 sbatch --wait "$src/jobs/cp.sbatch" x.h5 6 r.h5 \
  >requeue.log 2>&1 &
waiter=$!
for _ in $(seq 100); do grep -q "Submitted batch job" requeue.log && break; sleep 0.2; done
id=$(grep -o '[0-9]\+' requeue.log | head -1)
for _ in $(seq 300); do [ -f r.h5.ckpt ] && break; sleep 0.1; done
[ -f r.h5.ckpt ] || fail "no checkpoint from job $id"
scancel --signal=USR1 --batch "$id"
# a requeued job waits about two minutes before it may start again: let it start now
for _ in $(seq 200); do
  if scontrol show job "$id" 2>/dev/null | grep -q "Restarts=1"; then
    scontrol update JobId="$id" StartTime=now 2>/dev/null && break
  fi
  sleep 0.2
done
wait "$waiter" || fail "the requeued job did not finish"
log=dtf-cp-$id.out
grep -q "checkpoint of iteration [0-9]* written to r.h5.ckpt" "$log" || fail "no checkpoint on the signal"
grep -q "requeueing job $id" "$log" || fail "the job did not requeue itself"
grep -q "restart 1" "$log" && grep -q "resumed from r.h5.ckpt at iteration" "$log" || fail "the next run did not resume"
grep -q "fit .* after 3000 iterations" "$log" || fail "the resumed run did not finish"
# the same model as a run that was never interrupted
. "$src/scripts/mpi-env.sh"
mpirun -np 2 "$DTF" cp x.h5 -r 6 -i 3000 --tol 0 -o plain.h5 -q >/dev/null || fail "direct run"
"$PYTHON" - <<'PY' || fail "requeued model differs"
import h5py, numpy as np
with h5py.File("plain.h5") as a, h5py.File("r.h5") as b:
    for k in a:
        assert np.array_equal(a[k][:], b[k][:]), k
print("requeued run equals the uninterrupted one, bit for bit")
PY
echo "ok: generate, convert and cp under SLURM; signal -> checkpoint -> exit 75 -> requeue -> resume"
