/* The BLACS/ScaLAPACK bridge: the leading eigenpairs of a symmetric matrix too large for one
 * rank, from rows held across a communicator, by pdsyevd on a 2-D BLACS grid. */
#ifndef DTF_SCALAPACK_H
#define DTF_SCALAPACK_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* S is symmetric, I x I. A rank with holder set holds rows [row0, row0 + nrows) of S (all
 * columns, row-major, in rows: malloc'd memory, freed here as soon as it is packed); the
 * holders' rows cover S once. On return every rank of
 * comm has w (every eigenvalue, ascending), *R = choose(w, ctx) (1 to I; called on every
 * rank with the same w) and *U (malloc'd, I x *R, row-major: column r the eigenvector of
 * w[I - 1 - r], the r-th largest). S is redistributed block-cyclically (blocks of 64 or
 * fewer, a near-square process grid) by one alltoallv and solved by pdsyevd; the columns
 * are gathered by one allreduce of I R numbers. Collective. */
dtf_status dtf_scalapack_eigen(MPI_Comm comm, int64_t I, int holder, int64_t row0, int64_t nrows,
                               double *rows, int (*choose)(const double *w, void *ctx), void *ctx, double *w,
                               double **U, int *R, dtf_comm_stats_t *stats);

/* Bytes per rank dtf_scalapack_eigen needs beyond the rows and U (the block-cyclic matrix,
 * the eigenvectors, pdsyevd's workspace, the send and receive buffers), for P ranks. */
double dtf_scalapack_eigen_bytes(int64_t I, int P);

#ifdef __cplusplus
}
#endif
#endif
