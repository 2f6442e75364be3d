/* Tensor ring (TR): the distributed model and the TR-ALS solver, exact and sampled.
 * x(i_1..i_N) = trace(G_1[i_1] ... G_N[i_N]), core n of shape R_n x I_n x R_{n+1} with
 * R_{N+1} = R_1. docs/algorithms.md gives the updates, their distribution and cost. */
#ifndef DTF_TR_H
#define DTF_TR_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/factor.h"
#include "dtf/grid.h"
#include "dtf/solver.h"
#include "dtf/state.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Core n is distributed like a factor of mode n: row i holds the R_n x R_{n+1} matrix
 * G_n[i] (row-major), so cores[n].R = R_n R_{n+1}. Model files hold core_n as
 * R_n x I_n x R_{n+1} (docs/formats.md). */
typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES];
  int ranks[DTF_MAX_MODES]; /* bond ranks R_n; core n is ranks[n] x I_n x ranks[(n + 1) % N] */
  dtf_factor_t cores[DTF_MAX_MODES];
  double *file[DTF_MAX_MODES]; /* the cores in the file's layout, for writing and reading */
  double fit;
  int iterations;
} dtf_tr_model_t;

/* Allocate a model of bond ranks `ranks` on grid (zero cores). Free with dtf_tr_model_free. */
dtf_status dtf_tr_model_init(const dtf_grid_t *grid, const int *ranks, dtf_tr_model_t *m);
void dtf_tr_model_free(dtf_tr_model_t *m);

/* Add the model to a manifest: attributes ranks, fit, iterations; fields core_0 ..
 * core_{N-1} in the file layout, copied into m->file (core 0 times `unscale`, which takes a
 * scaled solver's cores back to the tensor's units). */
void dtf_tr_model_describe(dtf_tr_model_t *m, double unscale, dtf_state_t *s);

/* After a model file's fields were read into m->file: the cores from them. */
void dtf_tr_model_from_file(dtf_tr_model_t *m);

/* x[k] = trace(G_1[i_1] ... G_N[i_N]) at count block-local indices inds (count x nmodes)
 * of this rank's block. Node-local. */
void dtf_tr_model_predict(const dtf_tr_model_t *m, int64_t count, const int64_t *inds, double *x);

/* Fit 1 - ||X - M|| / ||X|| of the model on t, from the transfer matrices of the cores and
 * one contraction of t. Collective. */
dtf_status dtf_tr_fit(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_tr_model_t *m, double *fit);

/* Bond ranks from "AxBxC" (one per mode, each 1 to 100000); DTF_ERR_USAGE naming the
 * fault (a bond of 0, the wrong number of bonds). */
dtf_status dtf_tr_parse_ranks(const char *text, int nmodes, int *ranks);

/* Doubles of the transfer matrices of all cores (sum of (R_n R_{n+1})^2). */
int64_t dtf_tr_transfer_size(const dtf_tr_model_t *m);

typedef struct {
  int ranks[DTF_MAX_MODES];
  int max_iters;  /* default 50 */
  double tol;     /* stop when the fit changes by less (1e-6) */
  uint64_t seed;  /* initial cores and samples (0) */
  int64_t sample; /* sampled TR-ALS: index tuples per core update (0: exact ALS) */
  int fit_every;  /* sampled: compute the exact fit every this many iterations (and at the end) */
  double reg;     /* ridge added to every solve (0) */
  int init_svd;   /* initial cores by TR-SVD of the whole tensor (gathered) instead of the RNG */
  const int64_t *row_labels[DTF_MAX_MODES]; /* as dtf_cp_options_t */
  double max_mem;
  dtf_log_fn log;
  void *ctx;
} dtf_tr_options_t;

void dtf_tr_options_default(dtf_tr_options_t *o);

typedef struct dtf_tr_als dtf_tr_als_t;

/* Estimated bytes per rank (the largest over ranks) of a TR-ALS run. Collective. */
double dtf_tr_als_memory(const dtf_grid_t *grid, const dtf_tensor_t *t, const dtf_tr_options_t *o);

/* Prepare a TR-ALS run of t with options o; initial cores from the counter-based RNG.
 * Refuses before allocating above o->max_mem. Collective. */
dtf_status dtf_tr_als_init(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_tr_options_t *o,
                           dtf_tr_als_t **out);

/* The solver behind the generic interface (one sweep over the cores an iteration). */
dtf_solver_t dtf_tr_als_solver(dtf_tr_als_t *s);

/* What a summary reports. */
typedef struct {
  int iterations, converged;
  double fit;
  const double *fit_history; /* NaN where not computed (sampled) */
  double t_contract, t_comm, t_solve, t_sample;
} dtf_tr_summary_t;

void dtf_tr_als_summary(const dtf_tr_als_t *s, dtf_tr_summary_t *out);

void dtf_tr_als_free(dtf_tr_als_t *s);

#ifdef __cplusplus
}
#endif
#endif
