/* The N-dimensional Cartesian process grid and the balanced block partition. */
#ifndef DTF_GRID_H
#define DTF_GRID_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/status.h"
#include "dtf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES];   /* global tensor shape */
  int pdims[DTF_MAX_MODES];      /* P_1 x ... x P_N */
  int coords[DTF_MAX_MODES];     /* this rank's grid coordinates */
  int64_t start[DTF_MAX_MODES];  /* this rank's block: first global index per mode */
  int64_t len[DTF_MAX_MODES];    /* this rank's block: length per mode */
  int rank, size;                /* in comm */
  MPI_Comm comm;                 /* the Cartesian communicator */
  MPI_Comm slice[DTF_MAX_MODES]; /* ranks sharing coords[n]: the mode-n slice */
  int slice_rank[DTF_MAX_MODES], slice_size[DTF_MAX_MODES];
} dtf_grid_t;

/* Part `index` of n items split into `parts` contiguous blocks whose sizes differ by at
 * most one (the larger ones first). */
void dtf_block_range(int64_t n, int parts, int index, int64_t *start, int64_t *len);

/* Choose P_1..P_N (product nprocs, P_n <= dims[n]) minimising the factor rows each rank
 * exchanges per sweep, sum_n dims[n] / P_n. DTF_ERR_USAGE if no such grid exists. */
dtf_status dtf_grid_choose(int nprocs, int nmodes, const int64_t *dims, int *pdims);

/* Parse "2x2x1" into pdims (nmodes entries). */
dtf_status dtf_grid_parse(const char *text, int nmodes, int *pdims);

/* Build the grid over comm for the shape dims; pdims NULL chooses it. Collective.
 * The grid is freed with dtf_grid_free. */
dtf_status dtf_grid_create(MPI_Comm comm, int nmodes, const int64_t *dims, const int *pdims,
                           dtf_grid_t **out);
void dtf_grid_free(dtf_grid_t *grid);

/* The ranks that share every grid coordinate but the one of `mode` (P_mode of them,
 * ordered by that coordinate): the owners of one block column of the mode-`mode`
 * unfolding. Free with dtf_grid_fibre_free. Collective. */
dtf_status dtf_grid_fibre(const dtf_grid_t *grid, int mode, MPI_Comm *out);
/* Free a communicator from dtf_grid_fibre (MPI_COMM_NULL: nothing to do). Collective. */
void dtf_grid_fibre_free(MPI_Comm *comm);

/* The grid rank at coordinates coords. */
int dtf_grid_rank(const dtf_grid_t *grid, const int *coords);

/* "2x1x1" into buf. */
void dtf_grid_format(const dtf_grid_t *grid, char *buf, int size);

#ifdef __cplusplus
}
#endif
#endif
