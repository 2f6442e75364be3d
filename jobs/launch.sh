# Sourced by the job scripts: run a dtf command on the job's ranks, forward SLURM's
# warning signal to it, and requeue the job when dtf stopped after a checkpoint (75).
# DTF: the dtf binary (default: dtf on PATH).
# DTF_LAUNCHER: "srun" or "mpirun" (default: srun --mpi=pmix inside a job, else mpirun).
export OPENBLAS_NUM_THREADS=1
DTF=${DTF:-dtf}
case "${DTF_LAUNCHER:-}" in
srun) DTF_LAUNCH=(srun --mpi=pmix) ;;
mpirun) DTF_LAUNCH=(mpirun) ;;
*)
  if command -v srun >/dev/null && [ -n "${SLURM_JOB_ID:-}" ]; then
    DTF_LAUNCH=(srun --mpi=pmix)
  else
    DTF_LAUNCH=(mpirun)
  fi
  ;;
esac
DTF_SIGNALLED_AT=

# dtf_run ARGS...: run dtf ARGS on all ranks; returns dtf's exit code.
dtf_run() {
  "${DTF_LAUNCH[@]}" "$DTF" "$@" &
  local pid=$! rc
  # `--signal=B:USR1@T` signals this shell only: pass it on to the ranks
  trap 'DTF_SIGNALLED_AT=${DTF_SIGNALLED_AT:-$(date +%s)}; echo "$(date +%T) signal received: asking dtf to checkpoint"; kill -USR1 '"$pid"' 2>/dev/null' USR1 TERM INT
  wait "$pid"
  rc=$?
  while kill -0 "$pid" 2>/dev/null; do # a trap interrupted wait: wait for the real exit
    wait "$pid"
    rc=$?
  done
  trap - USR1 TERM INT
  return "$rc"
}

# dtf_requeue_on_75 RC CHECKPOINT: after a checkpoint-and-stop, requeue this job (its next
# run resumes). mpirun returns 1, not 75, when it got SIGTERM or SIGINT itself (Open MPI
# 4.1: SLURM signals every process of the job at its time limit); a checkpoint written
# after the signal reached this script counts as a stop after a checkpoint too.
dtf_requeue_on_75() {
  local rc=$1 ckpt=${2:-}
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 75 ] && [ -n "$DTF_SIGNALLED_AT" ] && [ -n "$ckpt" ] && [ -f "$ckpt" ] &&
    [ "$(stat -c %Y "$ckpt")" -ge "$DTF_SIGNALLED_AT" ]; then
    echo "$(date +%T) the launcher returned $rc, but dtf wrote $ckpt after the signal: treating it as exit 75"
    rc=75
  fi
  if [ "$rc" -eq 75 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "$(date +%T) dtf stopped after writing its checkpoint: requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  exit "$rc"
}
