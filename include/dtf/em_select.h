/* The rank and the ridge of completion's ALS chosen on a validation split of the training
 * entries (dtf complete --algorithm als --rank auto --reg auto): fits of candidate pairs on
 * the training entries less the validation ones, each scored by its validation RMSE.
 * docs/algorithms.md gives the search and why it is this one. */
#ifndef DTF_EM_SELECT_H
#define DTF_EM_SELECT_H

#include <stdint.h>

#include "dtf/em.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most fits a selection makes, and the most ranks a list may give. */
#define DTF_SELECT_MAX_FITS 96
#define DTF_SELECT_MAX_RANKS 32
/* The largest rank --rank auto tries. */
#define DTF_SELECT_MAX_RANK 256

/* The reg grid of the first pass, on the data scaled to unit RMS as ALS sees them (em.c). */
#define DTF_SELECT_REG_LO 1e-3
#define DTF_SELECT_REG_HI 10.0

/* A candidate's fit: validation RMSE in the data's units (INFINITY if the fit failed
 * numerically), epochs run and wall seconds. */
typedef struct {
  int rank, epochs, converged;
  double reg, rmse, seconds;
} dtf_select_fit_t;

typedef struct {
  /* the ranks: auto (1, 2, 4, ... up to a cap, then refined between the best and its
   * neighbours), or exactly the nranks in ranks (one: the rank is fixed, o->rank and
   * o->bond_ranks as given) */
  int rank_auto, nranks;
  int ranks[DTF_SELECT_MAX_RANKS];
  int reg_auto;      /* search the ridge; else o->reg is fixed */
  double validation; /* the fraction of the training entries held out, in (0, 1) */
  /* called on every rank after each fit (may be NULL) */
  void (*report)(const dtf_select_fit_t *f, void *ctx);
  void *ctx;
} dtf_select_options_t;

typedef struct {
  int nfits;
  dtf_select_fit_t fits[DTF_SELECT_MAX_FITS]; /* in the order they were made */
  int rank;                                   /* chosen */
  double reg;
  double rmse;            /* the chosen pair's validation RMSE */
  int64_t n_fit, n_valid; /* entries fitted and validated on, over all ranks */
} dtf_selection_t;

/* Choose the rank and ridge of an ALS run (o->algorithm DTF_EM_ALS) of model on train:
 * the entries whose key draws below so->validation under o->seed (stream
 * DTF_STREAM_VALIDATION: independent of --holdout, the same at any number of ranks) are
 * the validation split. DTF_ERR_INPUT if either part has no entries. out->rank and
 * out->reg are the choice, out->fits every fit. Collective. */
dtf_status dtf_select(const dtf_grid_t *grid, const dtf_tensor_t *train, const dtf_em_model_ops_t *model,
                      const dtf_em_options_t *o, const dtf_select_options_t *so, dtf_selection_t *out);

#ifdef __cplusplus
}
#endif
#endif
