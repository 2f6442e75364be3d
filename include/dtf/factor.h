/* A factor matrix A_n (I_n x R) distributed over the grid: every rank holds the rows of
 * its mode-n block (needed by its local MTTKRP), and owns an equal share of them inside
 * its mode-n slice (the rows it solves for). Row-major storage. */
#ifndef DTF_FACTOR_H
#define DTF_FACTOR_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int mode;
  int R;
  int64_t rows;        /* global I_n */
  int64_t block_start; /* global index of block[0] */
  int64_t block_len;
  int64_t own_start; /* global index of the first owned row */
  int64_t own_len;
  double *block;        /* block_len x R; owned rows at block + (own_start - block_start) * R */
  int *counts, *displs; /* per slice rank, in doubles, for reduce-scatter / allgatherv */
  MPI_Comm slice;
} dtf_factor_t;

/* Set up A_mode with R columns on grid (block zero-filled). Free with dtf_factor_free. */
dtf_status dtf_factor_init(const dtf_grid_t *grid, int mode, int R, dtf_factor_t *f);
void dtf_factor_free(dtf_factor_t *f);

/* The owned rows (own_len x R), a view into block. */
double *dtf_factor_owned(const dtf_factor_t *f);

/* Sum the block_len x R local contributions over the slice; this rank receives its
 * owned rows in out (own_len x R). */
dtf_status dtf_factor_reduce_scatter(const dtf_factor_t *f, const double *local, double *out,
                                     dtf_comm_stats_t *stats);

/* Share the owned rows with the slice so every rank has the whole block again. */
dtf_status dtf_factor_allgather(dtf_factor_t *f, dtf_comm_stats_t *stats);

/* Fill the block with standard normal draws keyed by (seed, stream, mode, label * R + col),
 * where the label of global row g is labels[g] (labels NULL: g itself). */
void dtf_factor_fill_normal(dtf_factor_t *f, uint64_t seed, uint64_t stream, const int64_t *labels);

/* dst (same mode, rank and grid as src, owned rows overwritten, then gathered) receives
 * src's row g as its row labels[g]: one MPI_Alltoallv over the grid. Undoes a relabelling
 * of the mode's indices when labels is the inverse permutation. Collective. */
dtf_status dtf_factor_relabel(const dtf_grid_t *grid, const dtf_factor_t *src, const int64_t *labels,
                              dtf_factor_t *dst, dtf_comm_stats_t *stats);

/* G = A^T A (R x R) over all ranks: each rank adds its owned rows, then an allreduce. */
dtf_status dtf_factor_gram(const dtf_factor_t *f, MPI_Comm all, double *G, dtf_comm_stats_t *stats);

/* C = A^T B (R_a x R_b) over all ranks, for two factors of the same mode and grid. */
dtf_status dtf_factor_cross(const dtf_factor_t *a, const dtf_factor_t *b, MPI_Comm all, double *C,
                            dtf_comm_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
