#!/usr/bin/env bash
# The job scripts under a real single-node SLURM (scripts/slurm-local.sh): generate,
# convert, cp, complete, tr, gcp and tucker through `sbatch --wait`, then the requeue path of cp.sbatch: the warning
# signal SLURM sends before a time limit (here sent at once with scancel), a checkpoint,
# exit 75, the job requeued, the next run resumed and finished, the same model as an
# uninterrupted run. Needs root (it starts the daemons); exits 77 (skipped) otherwise.
set -u
src=$1
[ "$(id -u)" -eq 0 ] || { echo "not root: SLURM test skipped"; exit 77; }
. "$src/scripts/mpi-env.sh"
# mpirun's second between the SIGTERM it passes on and SIGKILL (the suite sets 0)
export OMPI_MCA_odls_base_sigkill_timeout=1
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
DTF_ARGS="--holdout 0.1 -i 5" submit "$src/jobs/complete.sbatch" x.h5 4 completed.h5
[ -s completed.h5 ] || fail "complete.sbatch wrote no model"
DTF_ARGS="-i 5" submit "$src/jobs/tr.sbatch" x.h5 3x3x3 ring.h5
[ -s ring.h5 ] && grep -q "fit .* after 5 iterations" dtf-tr-*.out || fail "tr.sbatch"
DTF_ARGS="-i 3 --sample 5000 --compress topk:0.1" submit "$src/jobs/gcp.sbatch" x.h5 3 gcp.h5
[ -s gcp.h5 ] && grep -q "loss .* after 3 iterations" dtf-gcp-*.out || fail "gcp.sbatch"
submit "$src/jobs/tucker.sbatch" x.h5 0.1 tucker.h5
[ -s tucker.h5 ] && grep -q "core [0-9x]*, relative error 0.0" dtf-tucker-*.out || fail "tucker.sbatch"

# requeue LAUNCHER SIGNAL OUT: a long cp.sbatch run, signalled once its first checkpoint
# exists, must checkpoint, requeue itself, resume and finish with the model of an
# uninterrupted run. USR1 to the batch shell (SLURM's --signal warning) with srun; TERM to
# every process of the job (what SLURM does at a time limit) with mpirun, which then
# returns 1 rather than 75: the script must requeue anyway.
requeue() {
  local launcher=$1 sig=$2 out=$3
  DTF_LAUNCHER=$launcher DTF_ARGS="-i 1000 --tol 0 --checkpoint-every 50" timeout 400 \
    sbatch --wait "$src/jobs/cp.sbatch" x.h5 6 "$out" >"requeue-$out.log" 2>&1 &
  local waiter=$!
  for _ in $(seq 100); do grep -q "Submitted batch job" "requeue-$out.log" && break; sleep 0.2; done
  local id
  id=$(grep -o '[0-9]\+' "requeue-$out.log" | head -1)
  for _ in $(seq 300); do [ -f "$out.ckpt" ] && break; sleep 0.1; done
  [ -f "$out.ckpt" ] || fail "no checkpoint from job $id"
  if [ "$sig" = USR1 ]; then scancel --signal=USR1 --batch "$id"; else scancel --signal=TERM --full "$id"; fi
  # the local SLURM lets a requeued job start again after its credential expired (10 s,
  # scripts/slurm-local.sh; a real cluster's default is 120 s)
  wait "$waiter" || fail "the requeued job $id did not finish"
  local log=dtf-cp-$id.out
  grep -q "requeueing job $id" "$log" || fail "job $id ($launcher, $sig) did not requeue itself"
  grep -q "restart 1" "$log" && grep -q "resumed from $out.ckpt at iteration" "$log" || fail "job $id did not resume"
  grep -q "fit .* after 1000 iterations" "$log" || fail "the resumed job $id did not finish"
  if [ "$sig" = USR1 ]; then
    grep -q "checkpoint of iteration [0-9]* written to $out.ckpt" "$log" || fail "no checkpoint on the signal"
  else
    grep -q "the launcher returned [0-9]*, but dtf wrote $out.ckpt after the signal" "$log" ||
      fail "job $id: mpirun's exit after SIGTERM was not recognised as a checkpoint-and-stop"
  fi
  echo "ok: $launcher, $sig: checkpoint, requeue, resume"
}
requeue srun USR1 r.h5
requeue mpirun TERM t.h5
# the same model as a run that was never interrupted
. "$src/scripts/mpi-env.sh"
mpirun -np 2 "$DTF" cp x.h5 -r 6 -i 1000 --tol 0 -o plain.h5 -q >/dev/null || fail "direct run"
"$PYTHON" - <<'PY' || fail "requeued model differs"
import h5py, numpy as np
with h5py.File("plain.h5") as a:
    for name in ("r.h5", "t.h5"):
        with h5py.File(name) as b:
            for k in a:
                assert np.array_equal(a[k][:], b[k][:]), (name, k)
print("requeued runs equal the uninterrupted one, bit for bit")
PY
echo "ok: generate, convert and cp under SLURM; signal -> checkpoint -> exit 75 -> requeue -> resume"
