/* Generalized CP (GCP, Hong, Kolda and Duersch) by distributed first-order optimization:
 * the factors of a CP model fitted to any loss of loss.h by SGD with momentum, Adam or
 * Adan (optim.h), the gradients exchanged through a compressed collective (compress.h).
 * docs/algorithms.md gives the sampling, the step, the epochs and their cost. */
#ifndef DTF_GCP_H
#define DTF_GCP_H

#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/compress.h"
#include "dtf/cp.h"
#include "dtf/grid.h"
#include "dtf/loss.h"
#include "dtf/optim.h"
#include "dtf/solver.h"
#include "dtf/state.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the initial factors (docs/algorithms.md, "GCP's start") */
typedef enum {
  DTF_GCP_INIT_RANDOM, /* normal draws keyed by (seed, mode, original row, column) */
  DTF_GCP_INIT_SVD,    /* each mode's leading singular vectors (ST-HOSVD), their best weights */
  DTF_GCP_INIT_ALS,    /* init_sweeps sweeps of CP-ALS from the random start */
  DTF_GCP_INIT_AUTO    /* svd where it applies to a dense tensor, random otherwise (default) */
} dtf_gcp_init_t;

typedef struct {
  int rank;
  const dtf_loss_t *loss;
  const dtf_optim_t *optim;
  dtf_optim_params_t step; /* lr, betas, eps (the optimizer's defaults unless set) */
  dtf_compress_spec_t compress;
  /* entries a gradient step reads: 0 for all (a dense or observed-entry tensor); a sparse
   * tensor is sampled half from its stored entries, half from the others (its zeros) */
  int64_t sample;
  int64_t loss_sample; /* entries of the fixed sample the loss is estimated on (0: all) */
  int steps;           /* steps an epoch (default 100; 10 with every entry) */
  int max_epochs;      /* default 50 */
  double tol;          /* stop when the loss estimate changes by a smaller fraction (1e-4) */
  double decay;        /* step size factor after an epoch whose loss rose (0.1) */
  int max_fails;       /* stop after that many (10) */
  /* the step size finds itself (docs/algorithms.md, "Step size"): from step.lr it
   * doubles after every kept epoch until one rises, then grows by 1.2 up to 0.8 times the
   * last that rose; a rise is undone and halves it; stop after max_fails rises in a row.
   * 0: step.lr, divided by `decay` after a rise (max_fails rises in all) */
  int lr_auto;
  uint64_t seed; /* initial factors, the samples, the compressors' draws */
  /* svd and als fit least squares to every cell: gaussian and poisson-identity losses,
   * dense and sparse tensors (default auto) */
  dtf_gcp_init_t init;
  int init_sweeps; /* als: 1 to 1000 */
  const int64_t *row_labels[DTF_MAX_MODES];
  double max_mem;
  dtf_log_fn log;
  void *ctx;
} dtf_gcp_options_t;

void dtf_gcp_options_default(dtf_gcp_options_t *o);

typedef struct dtf_gcp dtf_gcp_t;

/* Estimated bytes per rank (the largest over ranks). Collective. */
double dtf_gcp_memory(const dtf_grid_t *grid, const dtf_tensor_t *t, const dtf_gcp_options_t *o);

/* Prepare a GCP run of t. DTF_ERR_INPUT if an entry is not a value of the loss (naming it),
 * if the sample is larger than the tensor, if every entry is asked of a sparse tensor, or
 * above o->max_mem; DTF_ERR_USAGE if the start does not apply to the loss or the tensor.
 * The start itself is made by the first epoch (a resumed run skips it). Collective. */
dtf_status dtf_gcp_init(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_gcp_options_t *o, dtf_gcp_t **out);

/* The solver behind the generic interface (one epoch an iteration). */
dtf_solver_t dtf_gcp_solver(dtf_gcp_t *s);

typedef struct {
  int epochs, steps, fails, converged;
  const char *init;     /* the start: "random", "svd", "als:K" */
  double loss, fit, lr; /* fit: NaN where undefined (not gaussian, or partly observed) */
  const double *loss_history, *fit_history, *bytes_history, *plain_history; /* per epoch; bytes cumulative */
  /* per epoch: the budget in force after it (core M, topk FRAC, qsgd BITS, powersgd R), and
   * the check's cosine between the compressed and the exact gradient (NaN: no check) */
  const double *budget_history, *cosine_history;
  char budget[48]; /* the budget in force, "core:64" */
  double t_gradient, t_comm, t_update;
} dtf_gcp_summary_t;

void dtf_gcp_summary(const dtf_gcp_t *s, dtf_gcp_summary_t *out);

/* The model in the tensor's units (collective: a relabelled run's is gathered). */
dtf_status dtf_gcp_model(dtf_gcp_t *s, const dtf_cp_model_t **model);

void dtf_gcp_free(dtf_gcp_t *s);

#ifdef __cplusplus
}
#endif
#endif
