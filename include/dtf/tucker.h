/* Tucker: the model (a core and one factor per mode, both replicated on every rank) and
 * the distributed ST-HOSVD solver. x(i_1..i_N) = sum_r core[r_1..r_N] prod_n U_n[i_n][r_n].
 * docs/algorithms.md gives the distribution of the Grams and n-mode products and their
 * cost. */
#ifndef DTF_TUCKER_H
#define DTF_TUCKER_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/grid.h"
#include "dtf/solver.h"
#include "dtf/state.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES];
  int ranks[DTF_MAX_MODES];       /* the core's shape R_1 x .. x R_N */
  double *core;                   /* prod R_n doubles, C order */
  double *factors[DTF_MAX_MODES]; /* I_n x R_n, row-major */
  int64_t start[DTF_MAX_MODES];   /* this rank's grid block, for block-local indices */
  double fit;
  int iterations;
} dtf_tucker_model_t;

/* Allocate a zero model of core shape `ranks` for the grid's tensor. */
dtf_status dtf_tucker_model_init(const dtf_grid_t *grid, const int *ranks, dtf_tucker_model_t *m);
void dtf_tucker_model_free(dtf_tucker_model_t *m);

/* Add the model to a manifest: attributes core_shape, fit, iterations; fields core
 * (R_1 x .. x R_N) and factor_0 .. factor_{N-1} (I_n x R_n), all replicated. */
void dtf_tucker_model_describe(dtf_tucker_model_t *m, dtf_state_t *s);

/* x[k] at count block-local indices inds (count x nmodes) of this rank's grid block.
 * Node-local. */
void dtf_tucker_model_predict(const dtf_tucker_model_t *m, int64_t count, const int64_t *inds, double *x);

/* This rank's block (start, len; C order) of the model's full tensor, into out. */
dtf_status dtf_tucker_model_block(const dtf_tucker_model_t *m, const int64_t *start, const int64_t *len,
                                  double *out);

/* Fit 1 - ||X - M|| / ||X|| of the model on t: <X, M> from the n-mode products of a dense
 * block with the factors' rows (other kinds: their entries), ||M|| from the core and the
 * factors' Grams. Collective. */
dtf_status dtf_tucker_fit(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_tucker_model_t *m, double *fit);

/* The core shape R (1 <= R_n <= dims[n]) minimising sum_n sum_{j >= R_n} eig[n][j] (each
 * mode's eigenvalues, descending: the HOSVD error bound, squared) subject to
 * prod R_n + sum I_n R_n <= budget, found exactly by a depth-first search over modes 1..N-1
 * (the last mode takes the largest rank that fits) pruned by a bound on the remaining
 * modes. Returns the bound's value, or -1 if even rank 1 does not fit. Node-local. */
double dtf_tucker_budget_shape(int N, const int64_t *dims, const double *const *eig, double budget,
                               int *ranks);

/* Core shape from "AxBxC" (one per mode, each 1 to I_n); DTF_ERR_USAGE naming the fault. */
dtf_status dtf_tucker_parse_ranks(const char *text, int nmodes, const int64_t *dims, int *ranks);

/* The eigensolver of each mode's Gram: automatic (ScaLAPACK when the Gram would take more
 * than a quarter of max_mem and there are several ranks), LAPACK on rank 0, ScaLAPACK
 * over every rank, or no Gram at all: a randomized range finder of the unfolding. */
typedef enum { DTF_EIG_AUTO, DTF_EIG_LAPACK, DTF_EIG_SCALAPACK, DTF_EIG_RANDOMIZED } dtf_eig_path_t;

typedef struct {
  int ranks[DTF_MAX_MODES]; /* the core's shape, or all 0 with tol > 0 */
  dtf_eig_path_t eig;
  int oversample; /* randomized: columns of the sketch beyond the rank (10) */
  int power;      /* randomized: power iterations, each a product with Y_(n) Y_(n)^T (0) */
  uint64_t seed;  /* randomized: the test matrices' draws (0) */
  double tol;     /* > 0: the smallest ranks with ||X - M|| / ||X|| <= tol (ST-HOSVD's guarantee) */
  double budget;  /* > 0: the shape of least HOSVD error bound with core + factors <= budget numbers */
  int order[DTF_MAX_MODES]; /* the modes in the order they are truncated */
  int hooi;                 /* refine by HOOI sweeps after ST-HOSVD */
  int max_sweeps;           /* HOOI: at most this many sweeps (10) */
  double hooi_tol;          /* HOOI: stop when the fit changes by less (1e-6) */
  double max_mem;
  int overwrite_input; /* ST-HOSVD of a dense input may truncate it in place (dtf_dense_tensor_spend) */
  dtf_log_fn log;
  void *ctx;
} dtf_tucker_options_t;

/* Defaults: modes in order 0..N-1, ST-HOSVD only (HOOI: 10 sweeps, 1e-6). */
void dtf_tucker_options_default(dtf_tucker_options_t *o, int nmodes);

typedef struct dtf_tucker dtf_tucker_t;

/* Bytes per rank (the largest over ranks) of an ST-HOSVD of t: the tensor's copies, the
 * Gram and its row block, the ring buffers. Collective. */
double dtf_tucker_memory(const dtf_grid_t *grid, const dtf_tensor_t *t, const dtf_tucker_options_t *o);

/* Prepare an ST-HOSVD of the dense tensor t; refuses other kinds and runs above
 * o->max_mem before allocating. Collective. */
dtf_status dtf_tucker_init(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_tucker_options_t *o,
                           dtf_tucker_t **out);

/* The solver behind the generic interface: iterations 1..N truncate one mode each
 * (ST-HOSVD); with hooi, each later iteration is one HOOI sweep over the modes. */
dtf_solver_t dtf_tucker_solver(dtf_tucker_t *s);

typedef struct {
  int iterations, converged;
  const double *fit_history;
  int ranks[DTF_MAX_MODES];                 /* chosen so far (0: not yet) */
  double fit;                               /* after the modes truncated so far (exact for ST-HOSVD) */
  const double *eigenvalues[DTF_MAX_MODES]; /* of each truncated mode's Gram, descending, / ||X||^2 */
  int64_t neig[DTF_MAX_MODES];
  double t_gram, t_eig, t_ttm, t_comm;
  double budget_bound;             /* with a budget: the chosen shape's HOSVD bound on the relative error */
  double t_budget;                 /* the spectra of every mode and the search */
  const dtf_tucker_model_t *model; /* the model once finished */
} dtf_tucker_summary_t;

void dtf_tucker_summary(const dtf_tucker_t *s, dtf_tucker_summary_t *out);

void dtf_tucker_free(dtf_tucker_t *s);

/* A start for a rank-R CP model: the ST-HOSVD of t of ranks shape[n] = min(I_n, R) (the
 * randomized range finder, keyed by seed, on a dense tensor; the Grams on a sparse one),
 * run to its end; dtf_tucker_summary(*out) then gives each mode's leading singular
 * vectors (factors) and the core. Free *out with dtf_tucker_free. Collective. */
dtf_status dtf_tucker_cp_start(const dtf_grid_t *grid, dtf_tensor_t *t, int R, uint64_t seed, double max_mem,
                               dtf_log_fn log, void *ctx, dtf_tucker_t **out, int *shape);

/* The process grid for an ST-HOSVD of a tensor of shape dims on P ranks (TuckerMPI's
 * rule): P's prime factors, largest first, each to the mode with the most indices per
 * rank, ties to the mode truncated later (order), P_n at most I_n. Among equal modes the
 * first, largest Grams and products then need no exchange within a fibre, while a mode
 * much larger than the others is split and its Gram's rows with it. 0, or -1 if P cannot
 * be placed. */
int dtf_tucker_grid(int P, int N, const int64_t *dims, const int *order, int *pdims);

/* o->order from "auto" (the modes by decreasing I_n / R_n with o->ranks given, by
 * decreasing I_n otherwise; ties in mode order) or 1-based modes "3,1,2" (each once);
 * DTF_ERR_USAGE naming the fault. */
dtf_status dtf_tucker_parse_order(const char *text, int nmodes, const int64_t *dims, dtf_tucker_options_t *o);

#ifdef __cplusplus
}
#endif
#endif
