/* The Tucker solver's state, shared by its files: src/tucker/tucker.c (the driver: ST-HOSVD
 * steps, HOOI sweeps, the core, state and memory estimate), gram.c (the Gram of mode n),
 * eigen.c (its eigenvectors and the rank, LAPACK or ScaLAPACK), ttm.c (the n-mode product),
 * sparse.c (a sparse tensor's semi-sparse records), randomized.c (the randomized range
 * finder), budget.c (the ranks under --budget). Not installed: the library's interface is
 * include/dtf/tucker.h. */
#ifndef DTF_TUCKER_IMPL_H
#define DTF_TUCKER_IMPL_H

#include <stdint.h>
#include <stdlib.h>

#include "dtf/semisparse.h"
#include "dtf/tucker.h"

#define RING_CHUNK_DOUBLES (1 << 19) /* 4 MiB a ring buffer */
#define TTM_CHUNK 4096               /* columns an in-place n-mode product takes at a time */

/* A distributed tensor's block on the grid: this rank's part (C order) of a tensor of
 * shape dims, at start, len long in each mode. */
typedef struct {
  const double *data;
  double *own; /* data, when this block owns it (freed with the block) */
  double *mut; /* data, when an n-mode product may overwrite it */
  int64_t dims[DTF_MAX_MODES], start[DTF_MAX_MODES], len[DTF_MAX_MODES];
} block_t;

static inline void tucker_block_free(block_t *b) {
  free(b->own);
  b->own = b->mut = NULL;
  b->data = NULL;
}

struct dtf_tucker {
  const dtf_grid_t *g;
  dtf_tensor_t *t;
  dtf_tucker_options_t o;
  int N;
  MPI_Comm fibre[DTF_MAX_MODES];
  double norm, scale, nx2; /* ||X||, the power of two applied, (scale ||X||)^2 */
  block_t x;               /* the input */
  block_t cur;             /* ST-HOSVD: the tensor truncated in the modes done so far */
  int sparse;              /* a sparse input: its entries and their products as records */
  int64_t nnz;             /* this rank's entries */
  int64_t *inds;           /* nnz x N global indices */
  double *vals;
  dtf_semi_t semi; /* ST-HOSVD: the sparse tensor truncated in the modes done so far */
  int step;        /* ST-HOSVD: modes done; then HOOI sweeps done, plus N */
  double delta;
  int converged;
  double *fit_history;
  int ranks[DTF_MAX_MODES];
  double *U[DTF_MAX_MODES];   /* I_n x R_n, for the modes done */
  double *eig[DTF_MAX_MODES]; /* every eigenvalue of the mode's Gram, descending, / nx2 */
  int64_t neig[DTF_MAX_MODES];
  double discarded; /* sum of the eigenvalues left out so far (scaled) */
  double budget_bound, t_budget;
  double fit;
  dtf_tucker_model_t model;
  int have_model;
  double t_gram, t_eig, t_ttm, t_comm;
  dtf_comm_stats_t comm;
};

/* the columns of a mode-`mode` unfolding of shape d: every other extent multiplied */
static inline int64_t tucker_prod_except(int N, const int64_t *d, int mode) {
  int64_t p = 1;
  for (int k = 0; k < N; k++)
    if (k != mode) p *= d[k];
  return p;
}

/* the iteration under way, as its progress line numbers it (a HOOI sweep counts itself at its start) */
static inline int tucker_iteration(const dtf_tucker_t *s) { return s->step >= s->N ? s->step : s->step + 1; }

/* what tucker_multiplies reads: the solver, the records multiplied, the mode */
typedef struct {
  const dtf_tucker_t *s;
  const dtf_semi_t *x;
  int n;
} owner_t;

/* gram.c: this rank's count values of mode n's Gram are finite (and the faults injected) */
dtf_status tucker_gram_check(const dtf_tucker_t *s, int n, double *rows, int64_t count);
/* gram.c: this rank's rows (L x I) of the Gram of block b's mode n, scale applied, summed
 * over the mode's slice. Collective. */
dtf_status tucker_gram(dtf_tucker_t *s, const block_t *b, int n, double scale, double *rows);

/* eigen.c: column r of U (I x R) with its largest entry positive, V's (K x R) flipped alike */
void tucker_fix_signs(int64_t I, int R, double *U, int64_t K, double *V);
/* eigen.c: whether a mode of I indices on P ranks is solved by ScaLAPACK */
int tucker_use_scalapack(const dtf_tucker_options_t *o, int64_t I, int P);
/* eigen.c: the leading eigenvectors of mode n's Gram from this rank's rows (freed), the rank,
 * every eigenvalue. Collective. */
dtf_status tucker_eigen(dtf_tucker_t *s, int n, int64_t I, int64_t L, int64_t off, int fixed, double *rows,
                        double **U, double *w);

/* ttm.c: out = alpha U^T x_n in, reduce-scattered in the fibre (or in place). Collective. */
dtf_status tucker_ttm(dtf_tucker_t *s, block_t *in, int n, const double *U, int R, double alpha, int inplace,
                      block_t *out);

/* sparse.c: whether this rank's copy of a record's group multiplies it (ctx: owner_t) */
int tucker_multiplies(const int64_t *rec, void *ctx);
/* sparse.c: the rows of mode n's Gram from the records of x (freed), *got the records as
 * exchanged. Collective. */
dtf_status tucker_sparse_gram(dtf_tucker_t *s, dtf_semi_t *x, int n, double *rows, dtf_semi_t *got);
/* sparse.c: the records of the input, scaled. Collective. */
dtf_status tucker_sparse_records(dtf_tucker_t *s, dtf_semi_t *out);

/* randomized.c: one randomized step for mode n of s->cur: the factor, the eigenvalues seen,
 * the energy outside the sketch, the truncated block. Collective. */
dtf_status tucker_randomized(dtf_tucker_t *s, int n, double alpha, int fixed, double **U, double *w,
                             int64_t *neig, double *outside, block_t *next);

/* budget.c: --budget's ranks into s->o.ranks from every mode's spectrum. Collective. */
dtf_status tucker_budget_shape(dtf_tucker_t *s);

#endif
