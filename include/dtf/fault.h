/* Test-only fault injection, so that the tests can show that a failure on one rank, at
 * any stage of an iteration or of a write, reaches every rank without a hang.
 *
 *   DTF_FAULT=RANK:N:STAGE     (in the environment of the ranks)
 *
 * makes rank RANK of MPI_COMM_WORLD fail at STAGE: for the stages of an iteration N is
 * the iteration (1-based), for write the N-th output file the rank writes, for mpi
 * its N-th sum-reduction; N = 0 matches every time. Stages: mttkrp (an allocation failure), solve (a local
 * numerical failure), nan (a NaN written into the rank's factor rows), write (this
 * rank's part of an output file), flush and close (HDF5's flush or close of its N-th HDF5
 * output fails on the rank), rename (rank 0's N-th rename of a finished output fails),
 * unreserved (rank 0 skips the space checks and the reservation of its outputs, as on a
 * file system without statvfs figures or fallocate), mpi (the N-th sum-reduction of the
 * rank fails as a broken MPI would: exit 5). Without DTF_FAULT nothing changes. */
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

/* DTF_OK, or `code` with a message naming the injected fault when dtf_fault(stage, n). */
dtf_status dtf_fault_status(const char *stage, int n, dtf_status code);

#ifdef __cplusplus
}
#endif
#endif
