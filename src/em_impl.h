/* The EM driver's state, shared by its files: src/em.c (set-up, epochs, metrics, state),
 * src/em_sweep.c (the E-step and M-step of a block, the sweep over the blocks, the
 * components' reshaping). Not installed: the library's interface is include/dtf/em.h. */
#ifndef DTF_EM_IMPL_H
#define DTF_EM_IMPL_H

#include "dtf/em.h"
#include "dtf/kernels.h"
#include "dtf/model.h"

enum { CHUNK = 4096 }; /* observations a chunk of the E-step */

struct dtf_em {
  const dtf_grid_t *grid;
  dtf_tensor_t *train, *test;
  const dtf_observed_view_t *v, *tv;
  const dtf_em_model_ops_t *mops;
  void *model;
  dtf_em_options_t opt;
  const dtf_likelihood_t *lik;
  double scale;                     /* gaussian: the model is of the data times this, 1 / their RMS */
  int64_t n_train, n_test;          /* over all ranks */
  int nblocks;                      /* the model's; with offsets, part nblocks + n is the offsets of mode n */
  double *stats[2 * DTF_MAX_MODES]; /* online: own_len x W of each part */
  double *updates[2 * DTF_MAX_MODES]; /* online: updates of each owned row so far */
  int Dstats[2 * DTF_MAX_MODES];      /* D the statistics were made for */
  /* offsets (--bias, src/em_bias.c): x = mu + sum_n o_n(i_n) + the model's predictor */
  int bias;
  double mu_file;
  dtf_model_bias_t off;                /* mu and o_n (one column distributed like factor rows) */
  dtf_factor_t offvar[DTF_MAX_MODES];  /* their posterior variances (EM phases) */
  dtf_factor_t offfile[DTF_MAX_MODES]; /* a model file's copy, in the data's units */
  double lam[DTF_MAX_MODES];           /* the prior precision of o_n's entries */
  /* workspace */
  double *loc, *recv;
  int64_t loc_cap, recv_cap; /* doubles */
  unsigned char *touched;
  int *counts;
  double *x, *w, *c, *y, *o, *diag, *work, *pred, *inv;
  double *rescale; /* nblocks x rescale_cap */
  int rescale_cap;
  int64_t *ids, *pinds;
  uint64_t *keys;       /* train entries' keys */
  uint32_t *batch;      /* online: batch of each train entry this epoch */
  int64_t *batch_sizes; /* online: over all ranks */
  /* online: mode b's row-order positions of batch k are bpos[b][bstart[b][k] ..
   * bstart[b][k + 1]), increasing */
  int64_t *bpos[DTF_MAX_MODES], *bstart[DTF_MAX_MODES];
  /* state */
  double beta, sse_avg;
  /* the well-determined coefficients of each part (MacKay's gamma: sum over its rows of
   * D - tr(H^-1 Lambda), H a row's system, Lambda its prior) at its last update */
  double gamma[2 * DTF_MAX_MODES];
  int64_t steps; /* mini-batches so far */
  int epoch, converged, pruned_now, warned_pinv;
  int prune_after;   /* no reshaping before this epoch (after one the data refused) */
  int prune_refused; /* reshapings refused in a row, at most EM_MAX_BACKOFF */
  /* The phases of a run (docs/algorithms.md): point estimates of the rows under the ridge
   * `reg` from full-data sweeps (warm-up: a prior adapted to rows still growing from a
   * random start shrinks them to nothing), then online EM, then full-data EM steps
   * (batch), which converge; --algorithm batch skips the online phase, ALS is all point
   * estimates. */
  int phase, phase_epochs; /* em_phase_t, epochs in it so far */
  int warmup_epochs, online_epochs;
  double loss, delta;
  int collapsed; /* every prediction the same, or every component vanished (why: collapse_why) */
  char collapse_why[200];
  double train_m[DTF_MAX_METRICS], test_m[DTF_MAX_METRICS], baseline[DTF_MAX_METRICS];
  double fit;           /* 1 - ||y - mean|| / ||y|| on the train entries */
  double *wprev, *wnow; /* component weights after the previous and this epoch */
  double wchange;       /* their largest change this epoch, relative to the largest weight */
  double *hist_test, *hist_train, *hist_sec, *hist_rank;
  dtf_comm_stats_t comm;
  double t_estep, t_comm, t_solve, t_total;
  char solver_name[32];
};

typedef enum { EM_WARMUP, EM_ONLINE, EM_BATCH } em_phase_t;

/* A refused reshaping doubles the wait before the next, this many times at most. */
enum { EM_MAX_BACKOFF = 4 };

/* The rows are point estimates with the ridge `reg` (ALS, the warm-up): no prior, no
 * covariances, no noise precision. */
static inline int em_point(const dtf_em_t *s) {
  return s->opt.algorithm == DTF_EM_ALS || s->phase == EM_WARMUP;
}

/* The statistics are scaled by an estimated precision (s->beta): gaussian data's noise
 * precision once the prior adapts, a count's 1 / dispersion in every phase (the warm-up's
 * ridge would otherwise face counts as certain as Poisson says they are). */
static inline int em_dispersed(const dtf_em_t *s) {
  return s->lik->deviance && s->opt.algorithm != DTF_EM_ALS && (!em_point(s) || !s->lik->noise_precision);
}

/* This epoch runs over mini-batches: online EM, not its warm-up (averaged statistics of a
 * working response that moves with every block, the offsets' above all, lag behind the
 * rows; docs/algorithms.md, "Phases"). */
static inline int em_online(const dtf_em_t *s) { return s->phase == EM_ONLINE; }

/* The parts of the model a sweep updates: its blocks, then the offsets of every mode. */
static inline int em_nparts(const dtf_em_t *s) { return s->nblocks + (s->bias ? s->grid->nmodes : 0); }

/* Coefficients of a row's statistics: the packed D x D matrix and the right-hand side. */
static inline int64_t em_width(int D) { return dtf_packed_size(D) + D; }

/* (Re)allocate what depends on the model's D (em.c). */
dtf_status em_ensure_buffers(dtf_em_t *s);

/* One pass over the blocks for batch bid (-1: all entries) with batch scale n / n_batch. */
dtf_status em_sweep(dtf_em_t *s, int bid, double scale);

/* ---- offsets (em_bias.c) ---- */

/* Zero offsets around mu, prior precision 1 (the warm-up's ridge). Collective. */
dtf_status em_bias_create(dtf_em_t *s, double mu);
void em_bias_free(dtf_em_t *s);
/* o[k] = mu + sum_n o_n(i_n) at count block-local indices inds (count x N). */
void em_bias_at(const dtf_em_t *s, int64_t count, const int64_t *inds, double *o);
/* The statistics of the offsets of mode n (sum w, sum (c - w (x - o_n(i))) a row) over
 * the entries of batch bid (-1: all) into s->loc, touched rows marked. */
dtf_status em_bias_estep(dtf_em_t *s, int n, int bid);
/* Move the mean of o_n into mu. Collective. */
dtf_status em_bias_center(dtf_em_t *s, int n);
/* The prior precisions lam_n at their conditional's mode. Collective. */
dtf_status em_bias_update_prior(dtf_em_t *s);
/* Add the offsets to a model file (in the data's units: unscale) or checkpoint. */
void em_bias_describe(dtf_em_t *s, int checkpoint, double unscale, dtf_state_t *out);

/* This epoch's mini-batches (online). */
void em_draw_batches(dtf_em_t *s);

/* After an epoch: order, fuse and drop the model's components. */
dtf_status em_prune(dtf_em_t *s);

#endif
