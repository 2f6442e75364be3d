# Source this for running dtf with Open MPI on a workstation or in a container:
# one BLAS thread per rank, more ranks than cores allowed, and (containers and CI often
# run as root) Open MPI's root check acknowledged.
export OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Where MUNGE is installed (SLURM's packages bring it) but munged is not running, PMIx's
# munge security module retries its socket for 2.3 s at every mpirun before it gives up;
# a job on one machine needs no credentials from it.
if [ -z "${PMIX_MCA_psec:-}" ] && ! pgrep -x munged >/dev/null 2>&1; then
  export PMIX_MCA_psec=native
fi
