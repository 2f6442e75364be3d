/* Sparse nonzeros to their owners: the medium-grained decomposition of DESIGN.md. */
#ifndef DTF_DISTRIBUTE_H
#define DTF_DISTRIBUTE_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/coo.h"
#include "dtf/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The grid coordinate along a mode of n indices in `parts` balanced blocks that holds
 * index i (the inverse of dtf_block_range). */
int dtf_block_owner(int64_t n, int parts, int64_t i);

/* Send every entry of in (global indices) to the rank whose block holds it, with
 * MPI_Alltoallv (indices, values, and tags if in has them). out receives this rank's
 * entries with block-local indices (free with dtf_coo_free). Indices must be in range
 * (the readers check). Collective. */
dtf_status dtf_distribute_coo(const dtf_grid_t *grid, const dtf_coo_t *in, dtf_coo_t *out,
                              dtf_comm_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
