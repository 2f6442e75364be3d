#!/usr/bin/env bash
# A single-node SLURM (slurmctld + slurmd + munge) on localhost, from Debian packages, for
# testing the job scripts. As root:
#   scripts/slurm-local.sh start     installs what is missing, starts the daemons
#   export SLURM_CONF=$(scripts/slurm-local.sh conf)
#   scripts/slurm-local.sh stop
# State lives in $SLURM_LOCAL_DIR (default: slurm-local under the temp directory).
# srun --mpi=pmix works with Debian's Open MPI; multi-node jobs would stay pending here.
set -euo pipefail
D=${SLURM_LOCAL_DIR:-${TMPDIR:-/tmp}/slurm-local}
export SLURM_CONF=$D/slurm.conf
case "${1:-}" in
conf) echo "$SLURM_CONF" ;;
start)
  mkdir -p "$D/ctld" "$D/spool"
  if ! command -v slurmctld >/dev/null; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slurmctld slurmd slurm-client munge; } >"$D/apt.log" 2>&1 || { tail -20 "$D/apt.log" >&2; exit 1; }
  fi
  mkdir -p /run/munge && chown munge:munge /run/munge
  [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey -c
  cat >"$SLURM_CONF" <<CONF
ClusterName=dtf-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
# credentials expire after 10 s (default 120): a requeued job may start again that soon
AuthInfo=cred_expire=10
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=pmix
ReturnToService=2
MailProg=/bin/true
MinJobAge=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(getconf _NPROCESSORS_ONLN) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  slurmctld -i
  slurmd -N localhost
  for i in $(seq 60); do
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && { echo "slurm up after $((i / 2)) s" >&2; exit 0; }
    sleep 0.5
  done
  echo "slurm did not start" >&2
  tail -n 20 "$D/slurmctld.log" "$D/slurmd.log" >&2
  exit 1 ;;
stop)
  for p in "$D/slurmd.pid" "$D/slurmctld.pid"; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done ;;
*) echo "usage: $0 start|stop|conf" >&2; exit 1 ;;
esac
