# Sourced by the job scripts: run a dtf command on the job's ranks, forward SLURM's
# warning signal to it, and requeue the job when dtf stopped after a checkpoint (75).
# DTF: the dtf binary (default: dtf on PATH).
export OPENBLAS_NUM_THREADS=1
DTF=${DTF:-dtf}
# srun launches the ranks through PMIx; outside SLURM (or without srun), mpirun
if command -v srun >/dev/null && [ -n "${SLURM_JOB_ID:-}" ]; then
  DTF_LAUNCH=(srun --mpi=pmix)
else
  DTF_LAUNCH=(mpirun)
fi

# dtf_run ARGS...: run dtf ARGS on all ranks; returns dtf's exit code.
dtf_run() {
  "${DTF_LAUNCH[@]}" "$DTF" "$@" &
  local pid=$! rc
  # `--signal=B:USR1@T` signals this shell only: pass it on to the ranks
  trap 'echo "$(date +%T) signal received: asking dtf to checkpoint"; kill -USR1 '"$pid"' 2>/dev/null' USR1 TERM
  wait "$pid"
  rc=$?
  while kill -0 "$pid" 2>/dev/null; do # a trap interrupted wait: wait for the real exit
    wait "$pid"
    rc=$?
  done
  trap - USR1 TERM
  return "$rc"
}

# dtf_requeue_on_75 RC: after a checkpoint-and-stop, requeue this job (its next run resumes).
dtf_requeue_on_75() {
  if [ "$1" -eq 75 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "$(date +%T) dtf stopped after writing its checkpoint: requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  exit "$1"
}
