/* Probabilistic tensor completion by distributed EM: one driver (src/em.c) over a table
 * of completion models (CP: src/cp_em.c), likelihoods from likelihood.h, observations
 * in the observed-entry tensor kind (observed.h). docs/algorithms.md gives the model,
 * the updates, where the statistics live and what they cost. */
#ifndef DTF_EM_H
#define DTF_EM_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/factor.h"
#include "dtf/grid.h"
#include "dtf/likelihood.h"
#include "dtf/observed.h"
#include "dtf/solver.h"
#include "dtf/state.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  DTF_EM_ONLINE, /* stochastic-approximation EM over mini-batches (default) */
  DTF_EM_BATCH,  /* full-data EM */
  DTF_EM_ALS     /* least squares on the observed entries with a ridge, no prior */
} dtf_em_algorithm_t;

typedef struct {
  dtf_em_algorithm_t algorithm;
  const dtf_likelihood_t *lik;   /* als: gaussian */
  int rank;                      /* start rank (cp); every bond's start rank (tr, unless bond_ranks) */
  int bond_ranks[DTF_MAX_MODES]; /* tr: start rank of each bond (0: rank) */
  int max_epochs;                /* default 100 */
  double tol;                    /* stop when the train loss changes by a smaller fraction (1e-4) */
  uint64_t seed;                 /* initial factors and mini-batch orders */
  int batches;                   /* online: mini-batches per epoch (default 10) */
  double kappa, t0;              /* online: step rho = (n + t0)^-kappa (0.7, 1) */
  double a1, a2;                 /* MGP: delta_1 ~ Gamma(a1, 1), delta_l ~ Gamma(a2, 1) (2, 3) */
  double a0, b0;                 /* Gamma prior of the Gaussian noise precision (1, 1e-6) */
  double prune;                  /* drop components below this fraction of the largest (0.01; 0 never) */
  double merge;                  /* fuse components that fewer explain to this fraction (0.995; 0 never) */
  double reg;     /* als: ridge added to every row's normal equations (1e-2); EM's warm-up uses 1 */
  int bias;       /* offsets: a global one and one per index of every mode (1), none (0) */
  double max_mem; /* bytes per rank (0: no limit) */
  dtf_log_fn log;
  void *ctx;
} dtf_em_options_t;

void dtf_em_options_default(dtf_em_options_t *o);

/* What a model's prune step may do to its components: fuse a component with stronger
 * ones into fewer when these explain the fraction `merge` of its squared weight (0:
 * never), drop those below `tol` times the largest weight (0: none), and, when `weakest`
 * is set and nothing else goes, drop the one weakest component relative to its strongest
 * (CP: of the model; a ring: of its bonds), never the last one of a bond; it may always
 * reorder them. The driver judges the smaller model and may go back (em_prune). */
typedef struct {
  double tol, merge;
  int weakest;
} dtf_em_reshape_t;

/* A completion model. Its parameters are blocks of rows distributed like factors (CP:
 * block n is A_n; a row's D coefficients are solved together); the driver owns the
 * likelihood, the statistics and their reductions. */
typedef struct {
  const char *name; /* the model attribute of its files: "cp", "tr" */
  /* Bytes per rank of a model for these options on grid (its rows, covariances and
   * workspaces), and in *width the most coefficients a row of one block has. */
  double (*memory)(const dtf_grid_t *grid, const dtf_em_options_t *o, int *width);
  /* A model of o->rank components on grid, initial rows from the counter-based RNG,
   * scaled so that a predictor has the RMS `scale`. Collective. */
  dtf_status (*create)(const dtf_grid_t *grid, const dtf_em_options_t *o, double scale, void **model);
  void (*destroy)(void *model);
  int (*nblocks)(const void *model);
  dtf_factor_t *(*block)(void *model, int b);
  /* Block b's posterior covariances, one packed D x D matrix a row, distributed like the
   * rows (the driver writes the owned ones after each solve and gathers them), or NULL
   * for a model that keeps none. */
  dtf_factor_t *(*covariance)(void *model, int b);
  /* The row statistics of block b from the observations at positions pos[0..count) of
   * v's mode-b row order (increasing; NULL: positions 0..count-1), the k-th with weight
   * w[k] (NULL: 1) and target c[k]: row i of out (block-local rows, stride ldo) gains
   * sum w E[h h^T] (packed, D (D + 1) / 2 doubles) and after it sum c E[h] (D doubles)
   * over the row's observations, h their design rows for block b (the expectation under
   * the rows' posterior covariances); touched[i] = 1 for the rows that had one. */
  dtf_status (*stats)(void *model, int b, const dtf_observed_view_t *v, int64_t count, const int64_t *pos,
                      const double *w, const double *c, double *out, int64_t ldo, unsigned char *touched);
  /* x at count block-local indices inds (count x nmodes). */
  void (*predict)(const void *model, int64_t count, const int64_t *inds, double *x);
  /* The prior precision of each of block b's D coefficients. */
  void (*prior)(const void *model, int b, double *diag);
  /* After block b's rows changed (and were gathered; every algorithm, so that a model
   * knows its rows changed): a model may rescale its rows without changing its
   * predictions, except under ALS (CP balances each component's norms over the
   * modes); rescale[k] (room for D of block k) then receives the factor each design
   * coefficient of block k was multiplied by (1 if none), for the driver's running
   * statistics, and *changed is 1 if anything was rescaled. Collective. */
  dtf_status (*updated)(void *model, int b, double **rescale, int *changed, dtf_comm_stats_t *stats);
  /* The closed-form update of the prior from the current rows. Collective. */
  dtf_status (*update_prior)(void *model, dtf_comm_stats_t *stats);
  /* Reshape the components as `how` says (fuse those that are fewer components split,
   * drop those below how->tol times the largest weight, order them for the prior);
   * *removed counts the components gone, *moved is 1 if the others changed. How the
   * design values of block b after relate to those before: either keep[b] (room for D of
   * block b) receives, for each coefficient after, its index before, and scale[b] the
   * factor its design value was multiplied by; or (a model that mixes its coefficients,
   * as a ring's gauge transform of its bonds) T[b] (room for D x D doubles) receives the
   * matrix, D after x D before, that maps the design values before to those after, and
   * *dense is 1. Collective. */
  dtf_status (*prune)(void *model, const dtf_em_reshape_t *how, int *removed, int *moved, int **keep,
                      double **scale, double **T, int *dense, dtf_comm_stats_t *stats);
  int (*rank)(const void *model);
  /* The ranks to report: CP its rank (1 value), TR the rank of each bond (N values);
   * returns how many. */
  int (*ranks)(const void *model, int *out);
  /* The weight of each component (rank() of them; tensor ring: of every bond's), the
   * same on every rank. Collective. */
  dtf_status (*weights)(void *model, double *w, dtf_comm_stats_t *stats);
  /* Add the model (checkpoint 0: as a model file; 1: the state EM resumes from) to s. The
   * model is of the data times 1 / unscale (EM fits gaussian data over their RMS): a model
   * file is in the data's units (CP: lambda, TR: core 0 times unscale), and so is a CP
   * checkpoint's lambda; a ring's checkpoint keeps its cores and says model_scale. */
  dtf_status (*describe)(void *model, int checkpoint, double unscale, dtf_state_t *s);
  /* Reshape to the ranks of the checkpoint `file` before its fields are read. */
  dtf_status (*resize)(void *model, const dtf_state_t *file);
} dtf_em_model_ops_t;

/* The multiplicative gamma process's precisions tau_r = delta_1 ... delta_r of R
 * components from the deltas, kept within [DTF_MGP_TAU_MIN, DTF_MGP_TAU_MAX] (the data
 * are at unit RMS: above 1e12 a component is zero to 6 digits of a unit row and its
 * normal equations lose every digit; below 1e-6 nothing holds a component that grows,
 * and one that grew from a few observations ran away to 1e100 and beyond); a delta that
 * would leave the range is moved to its edge. */
#define DTF_MGP_TAU_MAX 1e12
#define DTF_MGP_TAU_MIN 1e-6
void dtf_mgp_tau(double *delta, double *tau, int R);
/* The deltas from tau's ratios: tau is the prior's state (a checkpoint holds it, a
 * reshaping moves it), the deltas follow it. */
void dtf_mgp_delta(const double *tau, double *delta, int R);

/* Balancing a model's components (the same scale on every side, predictions unchanged)
 * leaves a component below DTF_BALANCE_VANISHED of the largest as it is and scales by at
 * most DTF_BALANCE_STEP (or its inverse) a step: a vanished component's sides drifted
 * apart by huge factors every block, and its online statistics by their squares, until
 * the normal equations overflowed (il2.h5 with 1% or 10% of it to train). */
#define DTF_BALANCE_VANISHED 1e-12
#define DTF_BALANCE_STEP 1e4

/* The completion model named `name` ("cp", "tr"), or NULL. */
const dtf_em_model_ops_t *dtf_em_model(const char *name);

/* The driver's state. */
typedef struct dtf_em dtf_em_t;

/* Estimated bytes per rank (the largest over ranks) of an EM run of model on this rank's
 * n_train and n_test observations: its rows and workspaces, the statistics (online:
 * D (D + 3) / 2 per owned row and block), the observed tensors themselves (their entries
 * and per-index arrays, dtf_observed_bytes). Collective. */
double dtf_em_memory(const dtf_grid_t *grid, int64_t n_train, int64_t n_test, const dtf_em_model_ops_t *model,
                     const dtf_em_options_t *o);

/* DTF_ERR_INPUT, naming the estimate and the limit, if dtf_em_memory exceeds o->max_mem
 * (> 0): checked before the observations are grouped, and again by dtf_em_init. Collective. */
dtf_status dtf_em_check_memory(const dtf_grid_t *grid, int64_t n_train, int64_t n_test,
                               const dtf_em_model_ops_t *model, const dtf_em_options_t *o);

/* Prepare a run of model `model` on the observations train (and optionally test, on the
 * same grid). DTF_ERR_INPUT if an observation is not a value of the likelihood (naming
 * it), if there are none, or if the memory estimate exceeds o->max_mem. Collective. */
dtf_status dtf_em_init(const dtf_grid_t *grid, dtf_tensor_t *train, dtf_tensor_t *test,
                       const dtf_em_model_ops_t *model, const dtf_em_options_t *o, dtf_em_t **out);

/* The solver behind the generic interface (one epoch an iteration). */
dtf_solver_t dtf_em_solver(dtf_em_t *s);

/* What a summary reports: the last epoch's metrics and their histories. */
typedef struct {
  int epochs, rank, converged;
  int collapsed;                    /* every prediction the same, or every component vanished */
  const char *collapse_why;         /* why ("" if not) */
  int warmup_epochs, online_epochs; /* epochs in the warm-up and online phases */
  int nranks, ranks[DTF_MAX_MODES]; /* what the model reports (tr: every bond's rank) */
  int have_test;
  double train[DTF_MAX_METRICS], test[DTF_MAX_METRICS];
  double baseline[DTF_MAX_METRICS]; /* the test metrics of the constant train-mean predictor */
  double noise_sd;                  /* gaussian: 1 / sqrt(noise precision) */
  const double *test_history;       /* headline test metric per epoch (epochs entries) */
  const double *train_history;
  const double *seconds_history; /* cumulative solve seconds after each epoch */
  const double *rank_history;
  uint64_t bytes;                  /* sent by this rank, all epochs */
  double t_estep, t_comm, t_solve; /* seconds */
} dtf_em_summary_t;

void dtf_em_summary(const dtf_em_t *s, dtf_em_summary_t *out);

void dtf_em_free(dtf_em_t *s);

#ifdef __cplusplus
}
#endif
#endif
