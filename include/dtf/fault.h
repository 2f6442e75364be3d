/* Test-only fault injection, so that the tests can show that a failure on one rank, at
 * any stage of an iteration, of a write or of MPI itself, reaches every rank without a
 * hang, and that a signal at any stage ends a run in its documented way.
 *
 *   DTF_FAULT=RANK:N:STAGE     (in the environment of the ranks; RANK -1: every rank)
 *
 * makes rank RANK of MPI_COMM_WORLD fail at STAGE. For the stages of an iteration N is
 * the iteration (1-based, as the progress lines number it; 0 matches every one):
 *   mttkrp  the local contraction fails as an allocation would (exit 2): the MTTKRP of
 *           cp and tr, the gradient of gcp, the E-step of complete, the Gram of tucker;
 *   solve   the local solve fails (exit 3): the rows' normal equations of cp, tr and
 *           complete, the optimizer step of gcp, the eigen-decomposition of tucker;
 *   nan     a NaN is written into the rank's own rows (its factor or core rows; tucker:
 *           its rows of the Gram): cp, tr, complete and tucker stop (exit 3), gcp
 *           undoes the epoch (its loss is not finite) and goes on with smaller steps.
 * The other stages:
 *   write   this rank's part of the N-th output file it writes fails (exit 4);
 *   flush, close  HDF5's flush or close of the rank's N-th HDF5 output fails (exit 4);
 *   rename  rank 0's N-th rename of a finished output fails (exit 4);
 *   unreserved  rank 0 skips the space checks and the reservation of its outputs, as on
 *           a file system without statvfs figures or fallocate;
 *   mpi     the N-th MPI call of the rank through mpi/comm.h's wrappers fails as a broken
 *           MPI would (exit 5, the job aborted); mpi:NAME counts only the calls of
 *           MPI_NAME (mpi:Sendrecv: the rings of tucker's Grams);
 *   load    the rank raises signal N (10 SIGUSR1, 15 SIGTERM) on itself once its input
 *           is read, before the tensor is built;
 *   output  the same once the temporary of its first output exists.
 * Without DTF_FAULT nothing changes. */
#ifndef DTF_FAULT_H
#define DTF_FAULT_H

#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tell the fault switch this process's rank in MPI_COMM_WORLD (dtf_grid_create does). */
void dtf_fault_set_rank(int rank);

/* 1 if DTF_FAULT asks this rank to fail at `stage` now (n: the iteration, or 0 to count
 * the occurrences of the stage), else 0. */
int dtf_fault(const char *stage, int n);

/* 1 if DTF_FAULT asks this rank to fail at the current occurrence of `stage` (counted
 * over every call), or at that of `stage`:`call` (counted over the calls of that name). */
int dtf_fault_call(const char *stage, const char *call);

/* DTF_FAULT=RANK:SIG:stage: raise signal SIG on this rank (once) if it is RANK. */
void dtf_fault_raise(const char *stage);

/* DTF_OK, or `code` with a message naming the injected fault when dtf_fault(stage, n). */
dtf_status dtf_fault_status(const char *stage, int n, dtf_status code);

#ifdef __cplusplus
}
#endif
#endif
