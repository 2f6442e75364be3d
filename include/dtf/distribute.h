/* Sparse nonzeros to their owners: the medium-grained decomposition of DESIGN.md. */
#ifndef DTF_DISTRIBUTE_H
#define DTF_DISTRIBUTE_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The grid coordinate along a mode of n indices in `parts` balanced blocks that holds
 * index i (the inverse of dtf_block_range). */
int dtf_block_owner(int64_t n, int parts, int64_t i);

/* Send every nonzero (global 0-based inds, nnz x nmodes row-major, and vals) to the rank
 * whose block holds it, with one MPI_Alltoallv. The rank receives its nonzeros with
 * block-local indices in *local_inds / *local_vals (malloc'd, *local_nnz entries).
 * Indices must be in range (the caller checks). Collective. */
dtf_status dtf_distribute_coo(const dtf_grid_t *grid, int64_t nnz, const int64_t *inds, const double *vals,
                              int64_t *local_nnz, int64_t **local_inds, double **local_vals,
                              dtf_comm_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
