/* CP decomposition: the distributed model and the ALS solver. */
#ifndef DTF_CP_H
#define DTF_CP_H

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

/* X ~ sum_r lambda_r a_r^(1) o ... o a_r^(N), factors with unit-norm columns. */
typedef struct {
  int nmodes;
  int64_t dims[DTF_MAX_MODES];
  int R;
  double *lambda; /* R, the same on every rank */
  dtf_factor_t factors[DTF_MAX_MODES];
  double fit;
  int iterations;
} dtf_cp_model_t;

/* Allocate a rank-R model on grid (zero factors, unit lambda). Free with dtf_cp_model_free. */
dtf_status dtf_cp_model_init(const dtf_grid_t *grid, int R, dtf_cp_model_t *m);
void dtf_cp_model_free(dtf_cp_model_t *m);

/* Add the model to a manifest: attributes rank, fit, iterations; fields lambda and
 * factor_0..factor_{N-1} (docs/formats.md), pointing into m. */
void dtf_cp_model_describe(dtf_cp_model_t *m, dtf_state_t *s);

/* x[k] = sum_r lambda_r prod_n A_n(i_n, r) at count block-local indices inds (count x
 * nmodes) of this rank's block. Node-local. */
void dtf_cp_model_predict(const dtf_cp_model_t *m, int64_t count, const int64_t *inds, double *x);

/* DTF_ERR_NUMERIC naming the first NaN or Inf of the model (lambda or a factor row), on
 * every rank; `what` names the model in the message. Collective. */
dtf_status dtf_cp_model_check(const dtf_grid_t *grid, const dtf_cp_model_t *m, const char *what);

/* Fit 1 - ||X - M|| / ||X|| of model m on tensor t, computed in a scaled form that
 * neither overflows nor underflows. Collective. */
dtf_status dtf_cp_fit(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_cp_model_t *m, double *fit);

/* Factor match score in [0, 1]: mean over components, greedily matched, of the product
 * over modes of |cosine| between columns (lambda ignored). Collective. */
dtf_status dtf_cp_fms(const dtf_grid_t *grid, const dtf_cp_model_t *a, const dtf_cp_model_t *b,
                      double *score);

/* What a mode's rows are held to (dtf cp --constraint). */
typedef enum { DTF_CONSTRAINT_NONE, DTF_CONSTRAINT_NONNEG } dtf_constraint_t;

/* How the rows are updated (dtf cp --update): AUTO is HALS for a nonnegative mode and the
 * normal equations' solve (ALS) for the others; HALS on an unconstrained mode is exact
 * coordinate descent; BPP solves a nonnegative mode's problem exactly (block principal
 * pivoting) and is ALS on an unconstrained one. */
typedef enum { DTF_UPDATE_AUTO, DTF_UPDATE_ALS, DTF_UPDATE_HALS, DTF_UPDATE_BPP } dtf_update_t;

/* Per-mode constraints from a spec: a constraint for every mode, optionally followed by
 * ",MODE:C" items for single modes (1-based), e.g. "nonneg", "nonneg,3:none", "2:nonneg";
 * constraints: none, nonneg. DTF_ERR_USAGE naming the item that is wrong (an unknown
 * constraint, a mode outside 1..nmodes, a mode given twice). */
dtf_status dtf_constraint_parse(const char *spec, int nmodes, dtf_constraint_t *out);
const char *dtf_constraint_name(dtf_constraint_t c);

typedef struct {
  int rank;      /* R >= 1 */
  int max_iters; /* default 50 */
  double tol;    /* stop when the fit changes by less (default 1e-4) */
  uint64_t seed; /* initial factors (default 0) */
  /* row_labels[n] (optional): the original index of each row of mode n when the indices
   * were relabelled; initial factors are keyed by it, so a relabelled run starts where
   * the plain one does, and the model of dtf_solver_state is given in these labels */
  const int64_t *row_labels[DTF_MAX_MODES];
  double max_mem;                             /* bytes per rank the solver may allocate (0: no limit) */
  dtf_constraint_t constraint[DTF_MAX_MODES]; /* default none */
  dtf_update_t update;                        /* default AUTO */
  int init_svd;   /* start from each mode's leading singular vectors (dtf_tucker_cp_start), not the RNG */
  dtf_log_fn log; /* warnings, on every rank */
  void *ctx;
} dtf_cp_options_t;

void dtf_cp_options_default(dtf_cp_options_t *o);

/* The whole solver state: a checkpoint of it resumes the run. */
typedef struct {
  const dtf_grid_t *grid;
  dtf_tensor_t *tensor;
  dtf_cp_options_t opt;
  dtf_cp_model_t model;        /* lambda in the tensor's units */
  double *gram[DTF_MAX_MODES]; /* R x R Gram of each (normalised) factor */
  uint64_t version[DTF_MAX_MODES];
  double norm_x;    /* ||X|| */
  double scale;     /* a power of two near 1 / ||X||: the sweep works on X * scale, exactly */
  double *lambda_s; /* lambda * scale */
  int iteration;
  double fit; /* of the last iteration */
  double delta;
  int converged;
  int warned_pinv;
  double *fit_history; /* max_iters entries, the first `iteration` valid */
  dtf_comm_stats_t comm;
  double t_mttkrp, t_comm, t_solve, t_total; /* seconds, accumulated */
  /* each mode's row update (src/row_update.h) and, for the model file, every mode's
   * constraint and update ("nonneg,nonneg,none", "hals,hals,als") */
  const struct dtf_row_update *upd[DTF_MAX_MODES];
  char constraints[8 * DTF_MAX_MODES], updates[8 * DTF_MAX_MODES];
  /* workspace, allocated once */
  double *mloc, *mown, *V, *solve_work, *packed;
  dtf_cp_model_t relabelled; /* the model in the original labels, made for output */
} dtf_cp_als_t;

/* Estimated bytes per rank (the largest over ranks) a CP-ALS run of rank R on t needs:
 * factors, Grams, workspaces, the tensor's MTTKRP workspace. Collective. */
double dtf_cp_als_memory(const dtf_grid_t *grid, const dtf_tensor_t *t, int R);

/* Prepare a CP-ALS run of t (distributed on grid) with options o; initial factors from the
 * counter-based RNG, so every rank count starts at the same point. Refuses (DTF_ERR_INPUT,
 * before allocating) when dtf_cp_als_memory exceeds o->max_mem. Collective. */
dtf_status dtf_cp_als_init(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_cp_options_t *o,
                           dtf_cp_als_t **out);

/* One ALS sweep over all modes, updating fit and delta; p (may be NULL) receives the
 * progress record. A failure on any rank (an allocation, a NaN, a failed solve) is agreed
 * inside the sweep, so every rank returns it. Collective. */
dtf_status dtf_cp_als_iterate(dtf_cp_als_t *s, dtf_progress_t *p);

/* Iterate until the fit changes by less than tol or max_iters. Collective. */
dtf_status dtf_cp_als_run(dtf_cp_als_t *s);

/* The solver behind the generic interface (dtf_solver_run, the CLI's run loop). */
dtf_solver_t dtf_cp_als_solver(dtf_cp_als_t *s);

void dtf_cp_als_free(dtf_cp_als_t *s);

#ifdef __cplusplus
}
#endif
#endif
