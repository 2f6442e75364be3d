/* The EM driver of `dtf complete`: epochs of (online) EM over a completion model.
 *
 * Per block b (CP: the factor of mode b) and mini-batch: the E-step runs over the batch's
 * observations in their mode-b row order: predictors x from the model where the
 * likelihood needs them, weight w and target c from the likelihood, and the model adds
 * each row's statistics S_i += w E[h h^T] (packed), b_i += c E[h] over its design rows h
 * (CP: MTTKRPs that share products along fibres). The touched rows are agreed in the mode's slice,
 * only they are reduce-scattered to their owners, who average them into the running
 * statistics (online: S <- (1 - rho) S + rho (n / n_batch) S_batch, rho = (k + t0)^-kappa
 * for the row's k-th update) and solve (prec S + diag(prior)) a = prec b. The rows are
 * gathered in the slice, the prior is updated in closed form after every batch, and
 * after every epoch the model orders, fuses and prunes its components.
 *
 * Failures inside an epoch: a rank whose E-step or solve fails keeps taking part in
 * every collective, and the status is agreed after each block's solve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/em.h"
#include "dtf/fault.h"
#include "dtf/format.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "timer.h"

enum { CHUNK = 4096 };

struct dtf_em {
  const dtf_grid_t *grid;
  dtf_tensor_t *train, *test;
  const dtf_observed_view_t *v, *tv;
  const dtf_em_model_ops_t *mops;
  void *model;
  dtf_em_options_t opt;
  const dtf_likelihood_t *lik;
  double scale;            /* gaussian: the model is of the data times this, 1 / their RMS */
  int64_t n_train, n_test; /* over all ranks */
  int nblocks;
  double *stats[DTF_MAX_MODES];   /* online: own_len x W of block b */
  double *updates[DTF_MAX_MODES]; /* online: updates of each owned row so far */
  int Dstats[DTF_MAX_MODES];      /* D the statistics were made for */
  /* workspace */
  double *loc, *recv;
  int64_t loc_cap, recv_cap; /* doubles */
  unsigned char *touched;
  int *counts;
  double *x, *w, *c, *y, *diag, *work, *pred, *inv;
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
  int64_t steps; /* mini-batches so far */
  int epoch, converged, pruned_now, warned_pinv;
  /* the prior keeps its start until the train loss changes by less than 10% in an
   * epoch: adapted to components still growing from a random start, it would shrink
   * them further, and on sparse data the model collapses to zero */
  int warming;
  double loss, delta;
  double train_m[DTF_MAX_METRICS], test_m[DTF_MAX_METRICS], baseline[DTF_MAX_METRICS];
  double fit;           /* 1 - ||y - mean|| / ||y|| on the train entries */
  double *wprev, *wnow; /* component weights after the previous and this epoch */
  double wchange;       /* their largest change this epoch, relative to the largest weight */
  double *hist_test, *hist_train, *hist_sec, *hist_rank;
  dtf_comm_stats_t comm;
  double t_estep, t_comm, t_solve, t_total;
  char solver_name[32];
};

void dtf_em_options_default(dtf_em_options_t *o) {
  memset(o, 0, sizeof *o);
  o->algorithm = DTF_EM_ONLINE;
  o->lik = dtf_likelihood("gaussian");
  o->rank = 1;
  o->max_epochs = 50;
  o->tol = 1e-4;
  o->batches = 10;
  o->kappa = 0.7;
  o->t0 = 1.0;
  o->a1 = 2.0;
  o->a2 = 3.0;
  o->a0 = 1.0;
  o->b0 = 1e-6;
  o->prune = 1e-2;
  o->merge = 0.995;
  o->reg = 1e-2;
}

static int64_t width(int D) { return dtf_packed_size(D) + D; }

static int max_D(const dtf_em_t *s) {
  int m = 1;
  for (int b = 0; b < s->nblocks; b++) {
    int D = s->mops->block(s->model, b)->R;
    if (D > m) m = D;
  }
  return m;
}

double dtf_em_memory(const dtf_grid_t *g, int64_t n_train, int64_t n_test, const dtf_em_model_ops_t *mops,
                     const dtf_em_options_t *o) {
  int D = 1;
  double model = mops->memory(g, o, &D);
  double W = (double)D * (D + 3) / 2, most = 0, own = 0;
  for (int n = 0; n < g->nmodes; n++) {
    own += (double)g->len[n] / (g->size / g->pdims[n]) + 1;
    if (g->len[n] > most) most = (double)g->len[n];
  }
  double nnz = (double)n_train, ntest = (double)n_test;
  /* the model, local and received statistics, the solve, the chunk's workspaces,
   * predictions, keys */
  double bytes = model + (most * W + most) * 8 + own * W * 8 + (double)dtf_packed_solve_work(D) * 8 +
                 CHUNK * (4 + g->nmodes * 2) * 8.0 + (nnz > ntest ? nnz : ntest) * 8 + nnz * 8;
  /* online: running statistics, the batches and their positions in every mode */
  if (o->algorithm == DTF_EM_ONLINE) bytes += own * (W + 1) * 8 + nnz * 4 + nnz * 8 * g->nmodes;
  bytes += dtf_observed_bytes(g->nmodes, g->len, n_train) + dtf_observed_bytes(g->nmodes, g->len, n_test);
  dtf_allreduce(g->comm, &bytes, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return bytes;
}

dtf_status dtf_em_check_memory(const dtf_grid_t *g, int64_t n_train, int64_t n_test,
                               const dtf_em_model_ops_t *mops, const dtf_em_options_t *o) {
  double need = o->max_mem > 0 ? dtf_em_memory(g, n_train, n_test, mops, o) : 0;
  if (need <= o->max_mem) return DTF_OK;
  char a[32], b[32];
  dtf_format_bytes(need, a, sizeof a);
  dtf_format_bytes(o->max_mem, b, sizeof b);
  return dtf_error(DTF_ERR_INPUT,
                   "this %s model needs an estimated %s per rank (observed entries and their statistics, "
                   "model rows, per-index arrays, workspaces), more than the limit of %s (--max-mem); use a "
                   "lower rank or more ranks",
                   mops->name, a, b);
}

/* (Re)allocate what depends on the model's D: statistics (kept when D is unchanged),
 * the local and received statistics, the chunk's design rows, the solve. */
static dtf_status ensure_buffers(dtf_em_t *s) {
  int Dm = max_D(s);
  int64_t W = width(Dm), maxblock = 1, maxown = 1;
  dtf_status st = DTF_OK;
  for (int b = 0; b < s->nblocks; b++) {
    dtf_factor_t *f = s->mops->block(s->model, b);
    if (f->block_len > maxblock) maxblock = f->block_len;
    if (f->own_len > maxown) maxown = f->own_len;
  }
  free(s->loc);
  free(s->recv);
  free(s->inv);
  free(s->diag);
  free(s->work);
  s->loc_cap = maxblock * W;
  s->recv_cap = maxown * W;
  s->loc = dtf_alloc_large((size_t)s->loc_cap * sizeof(double));
  s->recv = dtf_alloc_large((size_t)s->recv_cap * sizeof(double));
  s->inv = malloc((size_t)Dm * Dm * sizeof(double));
  free(s->rescale);
  s->rescale_cap = Dm;
  s->rescale = malloc((size_t)(s->nblocks * Dm) * sizeof(double));
  s->diag = malloc((size_t)Dm * sizeof(double));
  s->work = malloc((size_t)(dtf_packed_solve_work(Dm) + Dm) * sizeof(double));
  if (!s->loc || !s->recv || !s->inv || !s->rescale || !s->diag || !s->work)
    st = dtf_error(DTF_ERR_INPUT, "out of memory");

  return st;
}

/* online statistics for block b, zeroed (fresh) */
static dtf_status alloc_stats(dtf_em_t *s, int b) {
  dtf_factor_t *f = s->mops->block(s->model, b);
  free(s->stats[b]);
  free(s->updates[b]);
  int64_t n = f->own_len ? f->own_len : 1;
  s->stats[b] = dtf_alloc_large((size_t)(n * width(f->R)) * sizeof(double));
  s->updates[b] = calloc((size_t)n, sizeof(double));
  s->Dstats[b] = f->R;
  if (!s->stats[b] || !s->updates[b]) return dtf_error(DTF_ERR_INPUT, "out of memory for the EM statistics");
  memset(s->stats[b], 0, (size_t)(n * width(f->R)) * sizeof(double));
  return DTF_OK;
}

/* predictions at every entry of v into s->pred */
static void predict_all(dtf_em_t *s, const dtf_observed_view_t *v) {
  for (int64_t e0 = 0; e0 < v->nnz; e0 += CHUNK) {
    int64_t n = v->nnz - e0 < CHUNK ? v->nnz - e0 : CHUNK;
    s->mops->predict(s->model, n, v->inds + e0 * v->nmodes, s->pred + e0);
  }
}

/* The metrics in the data's units, and the sums of squares of the residuals and data (of
 * the data times scale) */
static dtf_status metrics(dtf_em_t *s, const dtf_observed_view_t *v, double *out, double *sse, double *ssy) {
  predict_all(s, v);
  if (sse) {
    double q[2] = {0, 0};
    for (int64_t e = 0; e < v->nnz; e++) {
      double y = v->vals[e] * s->scale, r = y - s->lik->mean(s->pred[e]);
      q[0] += r * r;
      q[1] += y * y;
    }
    dtf_status st = dtf_allreduce_sum(s->grid->comm, q, 2, &s->comm);
    if (st) return st;
    *sse = q[0];
    *ssy = q[1];
  }
  for (int64_t e = 0; s->scale != 1 && e < v->nnz; e++) s->pred[e] /= s->scale; /* gaussian: the mean */
  return dtf_likelihood_metrics(s->grid->comm, s->lik, v->nnz, v->vals, s->pred, out, &s->comm);
}

static const char *algorithm_name(dtf_em_algorithm_t a) {
  return a == DTF_EM_ONLINE ? "online" : a == DTF_EM_BATCH ? "batch" : "als";
}

dtf_status dtf_em_init(const dtf_grid_t *g, dtf_tensor_t *train, dtf_tensor_t *test,
                       const dtf_em_model_ops_t *mops, const dtf_em_options_t *o, dtf_em_t **out) {
  *out = NULL;
  const dtf_observed_view_t *v = dtf_observed_view(train), *tv = test ? dtf_observed_view(test) : NULL;
  if (!v || (test && !tv)) return dtf_error(DTF_ERR_USAGE, "EM needs observed-entry tensors");
  if (o->rank < 1) return dtf_error(DTF_ERR_USAGE, "the rank must be at least 1, not %d", o->rank);
  if (o->max_epochs < 1) return dtf_error(DTF_ERR_USAGE, "the epoch limit must be at least 1");
  if (o->algorithm == DTF_EM_ONLINE &&
      (o->batches < 1 || !(o->kappa > 0.5 && o->kappa <= 1) || !(o->t0 >= 1)))
    return dtf_error(DTF_ERR_USAGE, "online EM needs batches >= 1, kappa in (0.5, 1] and t0 >= 1");
  const dtf_likelihood_t *lik = o->algorithm == DTF_EM_ALS ? dtf_likelihood("gaussian") : o->lik;
  /* every observation must be a value of the likelihood */
  char rule[64];
  snprintf(rule, sizeof rule, "the %s likelihood", lik->name);
  dtf_status st = dtf_tensor_check_values(g, train, lik->invalid, "observed entry", rule);
  if (!st && test) st = dtf_tensor_check_values(g, test, lik->invalid, "test entry", rule);
  if (st) return st;
  int64_t counts[2] = {v->nnz, tv ? tv->nnz : 0};
  if ((st = dtf_allreduce(g->comm, counts, 2, MPI_INT64_T, MPI_SUM, NULL))) return st;
  if (counts[0] == 0) return dtf_error(DTF_ERR_INPUT, "there are no observed entries to learn from");
  if ((st = dtf_em_check_memory(g, v->nnz, tv ? tv->nnz : 0, mops, o))) return st;
  dtf_em_t *s = calloc(1, sizeof *s);
  if (!s) return dtf_error(DTF_ERR_INPUT, "out of memory");
  s->grid = g;
  s->train = train;
  s->test = test;
  s->v = v;
  s->tv = tv;
  s->mops = mops;
  s->opt = *o;
  s->lik = lik;
  s->n_train = counts[0];
  s->n_test = counts[1];
  snprintf(s->solver_name, sizeof s->solver_name, "complete-%s/%s", algorithm_name(o->algorithm),
           o->algorithm == DTF_EM_ALS ? "ls" : lik->name);
  /* gaussian data are fitted over their RMS (the other likelihoods' are counts or 0/1), so
   * that EM's steps and priors are the same in any units (data of 1e-170 or 1e155); the
   * initial predictors' RMS is then 1, as on the link scale */
  double q[2] = {0, 0}; /* ||y||, the sum of the observations */
  for (int64_t e = 0; e < v->nnz; e++) q[1] += v->vals[e];
  st = dtf_tensor_norm(g, train, &q[0]);
  if (!st) st = dtf_allreduce_sum(g->comm, q + 1, 1, NULL);
  if (st) {
    free(s);
    return st;
  }
  double rms = q[0] / sqrt((double)counts[0]), mean = q[1] / (double)counts[0];
  s->scale = lik->noise_precision && rms > 0 && isfinite(1 / rms) ? 1 / rms : 1.0;
  st = mops->create(g, o, 1.0, &s->model);
  if (st) {
    free(s);
    return st;
  }
  s->nblocks = mops->nblocks(s->model);
  int64_t nmax = tv && tv->nnz > v->nnz ? tv->nnz : v->nnz, maxblock = 1;
  for (int n = 0; n < g->nmodes; n++)
    if (g->len[n] > maxblock) maxblock = g->len[n];
  s->touched = malloc((size_t)maxblock);
  s->counts = malloc((size_t)g->size * sizeof(int));
  s->x = malloc(CHUNK * sizeof(double));
  s->w = malloc(CHUNK * sizeof(double));
  s->c = malloc(CHUNK * sizeof(double));
  s->y = malloc(CHUNK * sizeof(double));
  s->ids = malloc(CHUNK * sizeof(int64_t));
  s->pinds = malloc((size_t)CHUNK * g->nmodes * sizeof(int64_t));
  s->pred = dtf_alloc_large((size_t)(nmax ? nmax : 1) * sizeof(double));
  s->keys = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(uint64_t));
  int E = o->max_epochs;
  s->hist_test = calloc((size_t)E, sizeof(double));
  s->hist_train = calloc((size_t)E, sizeof(double));
  s->hist_sec = calloc((size_t)E, sizeof(double));
  s->hist_rank = calloc((size_t)E, sizeof(double));
  s->wprev = calloc((size_t)mops->rank(s->model), sizeof(double));
  s->wnow = calloc((size_t)mops->rank(s->model), sizeof(double));
  if (!s->touched || !s->counts || !s->x || !s->w || !s->c || !s->y || !s->ids || !s->pinds || !s->pred ||
      !s->keys || !s->hist_test || !s->hist_train || !s->hist_sec || !s->hist_rank || !s->wprev || !s->wnow)
    st = dtf_error(DTF_ERR_INPUT, "out of memory for the EM workspace");
  if (!st) st = ensure_buffers(s);
  if (!st && o->algorithm == DTF_EM_ONLINE) {
    s->batch = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(uint32_t));
    s->batch_sizes = calloc((size_t)o->batches, sizeof(int64_t));
    if (!s->batch || !s->batch_sizes) st = dtf_error(DTF_ERR_INPUT, "out of memory for the mini-batches");
    for (int n = 0; !st && n < g->nmodes; n++) {
      s->bpos[n] = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(int64_t));
      s->bstart[n] = malloc((size_t)(o->batches + 1) * sizeof(int64_t));
      if (!s->bpos[n] || !s->bstart[n]) st = dtf_error(DTF_ERR_INPUT, "out of memory for the mini-batches");
    }
    for (int b = 0; !st && b < s->nblocks; b++) st = alloc_stats(s, b);
  }
  st = dtf_agree(g->comm, st);
  if (st) {
    dtf_em_free(s);
    return st;
  }
  int64_t gl[DTF_MAX_MODES];
  for (int64_t e = 0; e < v->nnz; e++) {
    for (int m = 0; m < g->nmodes; m++) gl[m] = v->inds[e * g->nmodes + m] + train->start[m];
    s->keys[e] = dtf_entry_key(g->nmodes, g->dims, gl);
  }
  double ny = q[0] * s->scale;
  s->beta = ny > 0 ? (double)counts[0] / (ny * ny) : 1.0;
  s->warming = 1;
  s->delta = NAN; /* no earlier loss */
  s->loss = NAN;
  /* the constant predictor: the train mean on the scale of the link */
  if (tv) {
    double x0 = mean;
    if (!strcmp(lik->name, "bernoulli")) x0 = mean > 0 && mean < 1 ? log(mean / (1 - mean)) : 0;
    if (!strcmp(lik->name, "poisson")) x0 = mean > 0 ? log(mean) : -30;
    for (int64_t e = 0; e < tv->nnz; e++) s->pred[e] = x0;
    st = dtf_likelihood_metrics(g->comm, lik, tv->nnz, tv->vals, s->pred, s->baseline, NULL);
  }
  if (st) {
    dtf_em_free(s);
    return st;
  }
  *out = s;
  return DTF_OK;
}

/* The E-step of block b over the entries of batch `bid` (-1: all): local statistics of
 * every block row into s->loc, touched rows marked; *sse (block 0, gaussian) the
 * batch's squared residuals. */
static dtf_status estep(dtf_em_t *s, int b, int bid, double *sse) {
  const dtf_observed_view_t *v = s->v;
  dtf_factor_t *f = s->mops->block(s->model, b);
  int N = v->nmodes, als = s->opt.algorithm == DTF_EM_ALS;
  int64_t W = width(f->R);
  memset(s->loc, 0, (size_t)(f->block_len * W) * sizeof(double));
  memset(s->touched, 0, (size_t)f->block_len);
  const int64_t *pos = bid < 0 ? NULL : s->bpos[b] + s->bstart[b][bid];
  int64_t count = bid < 0 ? v->nnz : s->bstart[b][bid + 1] - s->bstart[b][bid];
  const double *y = v->row_vals[b];
  int need_x = sse || (!als && s->lik->weights);
  if (!need_x && !pos) { /* w = 1, c = y: every observation at once, the right-hand sides then scaled */
    dtf_status st = s->mops->stats(s->model, b, v, count, NULL, NULL, y, s->loc, W, s->touched);
    int64_t T = dtf_packed_size(f->R);
    for (int64_t i = 0; s->scale != 1 && i < f->block_len; i++)
      for (int r = 0; r < f->R; r++) s->loc[i * W + T + r] *= s->scale;
    return st;
  }
  double e2 = 0;
  dtf_status st = DTF_OK;
  for (int64_t k0 = 0; !st && k0 < count; k0 += CHUNK) {
    int64_t m = count - k0 < CHUNK ? count - k0 : CHUNK;
    for (int64_t k = 0; k < m; k++) {
      s->ids[k] = pos ? pos[k0 + k] : k0 + k;
      s->y[k] = s->c[k] = y[s->ids[k]] * s->scale;
    }
    if (need_x) {
      for (int64_t k = 0; k < m; k++)
        memcpy(s->pinds + k * N, v->row_inds[b] + s->ids[k] * N, N * sizeof(int64_t));
      s->mops->predict(s->model, m, s->pinds, s->x);
      for (int64_t k = 0; sse && k < m; k++) e2 += (s->y[k] - s->x[k]) * (s->y[k] - s->x[k]);
    }
    const double *w = NULL;
    if (!als && s->lik->weights) {
      s->lik->weights(m, s->y, s->x, s->w, s->c);
      w = s->w;
    }
    st = s->mops->stats(s->model, b, v, m, s->ids, w, s->c, s->loc, W, s->touched);
  }
  if (sse) *sse = e2;
  return st;
}

/* This epoch's mini-batches: a fresh random partition keyed by each entry's index, and
 * each mode's row-order positions grouped by batch (a stable counting sort). */
static void draw_batches(dtf_em_t *s) {
  const dtf_observed_view_t *v = s->v;
  int B = s->opt.batches;
  memset(s->batch_sizes, 0, (size_t)B * sizeof(int64_t));
  for (int64_t e = 0; e < v->nnz; e++) {
    uint32_t k =
        (uint32_t)(dtf_rng_uniform(s->opt.seed, DTF_STREAM_BATCH, s->keys[e], (uint64_t)s->epoch) * B);
    s->batch[e] = k < (uint32_t)B ? k : (uint32_t)B - 1;
    s->batch_sizes[s->batch[e]]++;
  }
  for (int n = 0; n < v->nmodes; n++) {
    int64_t *start = s->bstart[n];
    start[0] = 0;
    for (int k = 0; k < B; k++) start[k + 1] = start[k] + s->batch_sizes[k];
    for (int64_t p = 0; p < v->nnz; p++) s->bpos[n][start[s->batch[v->by_row[n][p]]]++] = p;
    for (int k = B; k > 0; k--) start[k] = start[k - 1];
    start[0] = 0;
  }
}

/* Let the model rescale its rows after block b changed; the running statistics follow. */
static dtf_status rescaled(dtf_em_t *s, int b) {
  double *k[DTF_MAX_MODES];
  for (int q = 0; q < s->nblocks; q++) k[q] = s->rescale + (int64_t)q * s->rescale_cap;
  int changed = 0;
  dtf_status st = s->mops->updated(s->model, b, k, &changed, &s->comm);
  for (int q = 0; !st && changed && s->stats[0] && q < s->nblocks; q++) {
    dtf_factor_t *f = s->mops->block(s->model, q);
    int D = f->R;
    int64_t T = dtf_packed_size(D), W = width(D);
    for (int64_t i = 0; i < f->own_len; i++) {
      double *S = s->stats[q] + i * W;
      for (int r = 0, j = 0; r < D; r++) {
        for (int u = r; u < D; u++, j++) S[j] *= k[q][r] * k[q][u];
        S[T + r] *= k[q][r];
      }
    }
  }
  return st;
}

/* Reduce the touched rows' statistics to their owners, average (online) and solve. */
static dtf_status mstep(dtf_em_t *s, int b, double scale, dtf_status *local) {
  const dtf_grid_t *g = s->grid;
  dtf_factor_t *f = s->mops->block(s->model, b);
  int D = f->R, P = g->slice_size[b], online = s->opt.algorithm == DTF_EM_ONLINE;
  int64_t T = dtf_packed_size(D), W = width(D);
  double t0 = dtf_now();
  dtf_status st =
      dtf_allreduce(f->slice, s->touched, (int)f->block_len, MPI_UNSIGNED_CHAR, MPI_MAX, &s->comm);
  if (st) return st;
  /* pack the touched rows to the front, in block order, and count them per owner */
  int64_t k = 0;
  for (int q = 0; q < P; q++) {
    int64_t r0 = f->displs[q] / f->R, nr = f->counts[q] / f->R, kq = 0;
    for (int64_t i = r0; i < r0 + nr; i++)
      if (s->touched[i]) {
        if (k != i) memmove(s->loc + k * W, s->loc + i * W, (size_t)W * sizeof(double));
        k++;
        kq++;
      }
    /* too large: the same on every rank of the slice (the touched rows are), which then
     * sends nothing and agrees on the failure with the others below */
    if (kq * W > INT32_MAX && !*local)
      *local = dtf_error(DTF_ERR_INPUT, "a reduction of %lld doubles is too large", (long long)(kq * W));
    s->counts[q] = kq * W > INT32_MAX ? 0 : (int)(kq * W);
  }
  st = dtf_reduce_scatter_sum(f->slice, s->loc, s->recv, s->counts, &s->comm);
  if (st) return st;
  double t1 = dtf_now();
  s->t_comm += t1 - t0;
  int als = s->opt.algorithm == DTF_EM_ALS;
  double prec = s->lik->noise_precision && !als ? s->beta : 1.0;
  if (als)
    for (int r = 0; r < D; r++) s->diag[r] = s->opt.reg;
  else
    s->mops->prior(s->model, b, s->diag);
  double *A = dtf_factor_owned(f), *a = s->work + dtf_packed_solve_work(D);
  dtf_factor_t *cov = !als && s->mops->covariance ? s->mops->covariance(s->model, b) : NULL;
  int64_t off = f->own_start - f->block_start, j = 0;
  for (int64_t i = 0; i < f->own_len; i++) {
    if (!s->touched[off + i]) continue;
    double *S = s->recv + (j++) * W;
    if (online) {
      double *avg = s->stats[b] + i * W, rho = pow(s->updates[b][i] + s->opt.t0, -s->opt.kappa);
      for (int64_t q = 0; q < W; q++) avg[q] = (1 - rho) * avg[q] + rho * scale * S[q];
      s->updates[b][i] += 1;
      S = avg;
    }
    if (*local) continue;
    int pinv = 0;
    dtf_status r = dtf_packed_solve(D, S, prec, s->diag, S + T, prec, a, s->work, &pinv);
    if (r) {
      *local = r;
      continue;
    }
    memcpy(A + i * D, a, (size_t)D * sizeof(double));
    if (cov) { /* the row's posterior covariance: the inverse of its system */
      double *I = s->inv, *P = dtf_factor_owned(cov) + i * T;
      memset(I, 0, (size_t)D * D * sizeof(double));
      for (int q = 0; q < D; q++) I[q * D + q] = 1.0;
      if ((r = dtf_spd_solve(D, s->work, D, I, s->work + (int64_t)D * D, &pinv))) {
        *local = r;
        continue;
      }
      for (int q = 0, k = 0; q < D; q++)
        for (int u = q; u < D; u++) P[k++] = I[q * D + u];
    }

    if (pinv && !s->warned_pinv && s->opt.log) {
      s->warned_pinv = 1;
      s->opt.log("warning: a row's normal equations are not positive definite; solved with the "
                 "pseudo-inverse (not reported again)",
                 s->opt.ctx);
    }
  }
  if (!*local) *local = dtf_fault_status("solve", s->epoch, DTF_ERR_NUMERIC);
  if (!*local && f->own_len > 0 && dtf_fault("nan", s->epoch)) A[0] = NAN;
  for (int64_t i = 0; !*local && i < f->own_len * D; i++)
    if (!isfinite(A[i]))
      *local = dtf_error(DTF_ERR_NUMERIC, "row %lld of block %d became non-finite at epoch %d",
                         (long long)(f->own_start + i / D + 1), b + 1, s->epoch);
  double t2 = dtf_now();
  s->t_solve += t2 - t1;
  /* agree before the rows travel: a failed rank's rows must not reach the others */
  st = dtf_agree(g->comm, *local);
  if (st) return st;
  st = dtf_factor_allgather(f, &s->comm);
  if (!st && cov) st = dtf_factor_allgather(cov, &s->comm);
  s->t_comm += dtf_now() - t2;
  if (!st) st = rescaled(s, b);
  return st;
}

/* One pass over the blocks for batch bid (-1: all entries) with batch scale n / n_batch. */
static dtf_status sweep(dtf_em_t *s, int bid, double scale) {
  dtf_status local = DTF_OK, st;
  int als = s->opt.algorithm == DTF_EM_ALS;
  for (int b = 0; b < s->nblocks; b++) {
    double t0 = dtf_now(), sse = 0;
    int want_sse = b == 0 && s->lik->noise_precision && !als;
    if (!local) local = dtf_fault_status("mttkrp", s->epoch, DTF_ERR_INPUT);
    if (!local) local = estep(s, b, bid, want_sse ? &sse : NULL);
    if (local) {
      dtf_factor_t *f = s->mops->block(s->model, b);
      memset(s->loc, 0, (size_t)(f->block_len * width(f->R)) * sizeof(double));
      memset(s->touched, 0, (size_t)f->block_len);
    }
    s->t_estep += dtf_now() - t0;
    if (want_sse) {
      /* the noise precision's MAP from the (averaged) squared residuals */
      if ((st = dtf_allreduce_sum(s->grid->comm, &sse, 1, &s->comm))) return st;
      /* this batch's estimate (the model moves too fast for an average to help) */
      s->sse_avg = scale * sse;
      double shape = s->opt.a0 - 1 + 0.5 * (double)s->n_train;
      s->beta = fmax(shape, 1.0) / (s->opt.b0 + 0.5 * s->sse_avg);
    }
    if ((st = mstep(s, b, scale, &local))) return st;
  }
  if (!als && !s->warming && (st = s->mops->update_prior(s->model, &s->comm))) return st;
  s->steps++;
  return DTF_OK;
}

/* the online statistics of every block follow the model's reshaped coefficients: kept,
 * reordered and rescaled, or (dense) S <- T S T^T, b <- T b */
static dtf_status compact_stats(dtf_em_t *s, int **keep, double **scale, double **T, int dense) {
  for (int b = 0; b < s->nblocks; b++) {
    dtf_factor_t *f = s->mops->block(s->model, b);
    int Dn = f->R, Do = s->Dstats[b];
    int64_t To = dtf_packed_size(Do), Wo = width(Do), Tn = dtf_packed_size(Dn), Wn = width(Dn);
    double *row = malloc((size_t)(Wn + (dense ? 3 * Do * Do : 0)) * sizeof(double));
    if (!row) return dtf_error(DTF_ERR_INPUT, "out of memory");
    double *full = row + Wn, *tmp = full + Do * Do, *out = tmp + Do * Do;
    const double *k = scale[b];
    for (int64_t i = 0; i < f->own_len; i++) {
      const double *S = s->stats[b] + i * Wo;
      int64_t idx = 0;
      if (dense) {
        for (int r = 0, j = 0; r < Do; r++)
          for (int q = r; q < Do; q++, j++) full[r * Do + q] = full[q * Do + r] = S[j];
        dtf_matmul(0, 0, Dn, Do, Do, T[b], full, tmp); /* T S */
        dtf_matmul(0, 1, Dn, Dn, Do, tmp, T[b], out);  /* (T S) T^T */
        for (int r = 0; r < Dn; r++)
          for (int q = r; q < Dn; q++) row[idx++] = out[r * Dn + q];
        dtf_matmul(0, 0, Dn, 1, Do, T[b], S + To, row + Tn);
      } else {
        for (int r = 0; r < Dn; r++)
          for (int q = r; q < Dn; q++) {
            int ro = keep[b][r], qo = keep[b][q];
            if (ro > qo) {
              ro = keep[b][q];
              qo = keep[b][r];
            }
            row[idx++] = S[(int64_t)ro * Do - (int64_t)ro * (ro - 1) / 2 + (qo - ro)] * k[r] * k[q];
          }
        for (int r = 0; r < Dn; r++) row[Tn + r] = S[To + keep[b][r]] * k[r];
      }
      /* Wn <= Wo: in place, row i's new place never passes its old one */
      memcpy(s->stats[b] + i * Wn, row, (size_t)Wn * sizeof(double));
    }
    free(row);
    s->Dstats[b] = Dn;
  }
  return DTF_OK;
}

/* After every epoch once the prior adapts: the model orders its components for the
 * prior, and once the fit has settled also merges and drops them (a component still
 * growing from a random start is small, not unneeded). */
static dtf_status prune(dtf_em_t *s) {
  s->pruned_now = 0;
  if (s->opt.algorithm == DTF_EM_ALS || s->warming) return DTF_OK;
  int settled = s->delta < 1e-2;
  dtf_em_reshape_t how = {settled ? s->opt.prune : 0.0, settled ? s->opt.merge : 0.0};
  int *keep[DTF_MAX_MODES] = {0}, removed = 0, moved = 0, dense = 0;
  double *scale[DTF_MAX_MODES] = {0}, *T[DTF_MAX_MODES] = {0};
  dtf_status st = DTF_OK;
  for (int b = 0; b < s->nblocks; b++) {
    size_t D = (size_t)s->mops->block(s->model, b)->R;
    if (!(keep[b] = malloc(D * sizeof(int))) || !(scale[b] = malloc(D * sizeof(double))) ||
        !(T[b] = malloc(D * D * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  st = dtf_agree(s->grid->comm, st);
  if (!st) st = s->mops->prune(s->model, &how, &removed, &moved, keep, scale, T, &dense, &s->comm);
  if (!st && (removed || moved)) {
    s->pruned_now = removed ? removed : -1;
    if (s->stats[0]) st = compact_stats(s, keep, scale, T, dense);
    if (!st) st = ensure_buffers(s);
    st = dtf_agree(s->grid->comm, st);
  }
  for (int b = 0; b < s->nblocks; b++) {
    free(keep[b]);
    free(scale[b]);
    free(T[b]);
  }
  return st;
}

static dtf_status iterate(void *impl, dtf_progress_t *p) {
  dtf_em_t *s = impl;
  const dtf_grid_t *g = s->grid;
  double t0 = dtf_now();
  uint64_t b0 = s->comm.bytes_sent;
  s->epoch++;
  dtf_status st = DTF_OK;
  if (s->opt.algorithm == DTF_EM_ONLINE) {
    int B = s->opt.batches;
    draw_batches(s);
    st = dtf_allreduce(g->comm, s->batch_sizes, B, MPI_INT64_T, MPI_SUM, &s->comm);
    for (int b = 0; !st && b < B; b++)
      if (s->batch_sizes[b]) st = sweep(s, b, (double)s->n_train / (double)s->batch_sizes[b]);
  } else
    st = sweep(s, -1, 1.0);
  if (!st) st = prune(s);
  /* a component still fading away is not converged, whatever the loss does */
  int R = s->mops->rank(s->model);
  if (!st) st = s->mops->weights(s->model, s->wnow, &s->comm);
  if (!st) {
    double most = 0, change = 0;
    for (int r = 0; r < R; r++) most = fmax(most, s->wnow[r]);
    for (int r = 0; r < R; r++) change = fmax(change, fabs(s->wnow[r] - s->wprev[r]));
    s->wchange = s->pruned_now || s->epoch == 1 ? INFINITY : change / fmax(most, 1e-300);
    memcpy(s->wprev, s->wnow, (size_t)R * sizeof(double));
  }
  double sse = 0, ssy = 0;
  if (!st) st = metrics(s, s->v, s->train_m, &sse, &ssy);
  if (!st && s->tv) st = metrics(s, s->tv, s->test_m, NULL, NULL);
  if (st) return st;
  s->fit = ssy > 0 ? 1 - sqrt(sse / ssy) : 0;
  double loss = s->train_m[s->lik->loss];
  if (!s->lik->lower_is_better[s->lik->loss]) loss = -loss;
  if (!isfinite(loss))
    return dtf_error(DTF_ERR_NUMERIC, "the train %s became non-finite at epoch %d",
                     s->lik->metric[s->lik->loss], s->epoch);
  s->delta = isfinite(s->loss) ? fabs(loss - s->loss) / fmax(fabs(s->loss), 1e-300) : NAN;
  s->loss = loss;
  if (s->delta < 0.1) s->warming = 0;
  s->converged = s->epoch > 1 && !s->pruned_now && s->delta < s->opt.tol && s->wchange < s->opt.tol;
  double dt = dtf_now() - t0;
  s->t_total += dt;
  int e = s->epoch - 1;
  if (e < s->opt.max_epochs) {
    s->hist_train[e] = s->train_m[0];
    s->hist_test[e] = s->tv ? s->test_m[0] : NAN;
    s->hist_sec[e] = s->t_total;
    s->hist_rank[e] = R;
  }
  if (p) {
    static char names[2][DTF_MAX_METRICS][32];
    memset(p, 0, sizeof *p);
    uint64_t sent = s->comm.bytes_sent - b0;
    p->iteration = s->epoch;
    for (int k = 0; k < s->lik->nmetrics; k++) {
      snprintf(names[0][k], 32, "train_%s", s->lik->metric[k]);
      snprintf(names[1][k], 32, "test_%s", s->lik->metric[k]);
    }
    p->metric = s->tv ? names[1][0] : names[0][0];
    p->value = s->tv ? s->test_m[0] : s->train_m[0];
    p->delta = s->delta;
    p->seconds = dt;
    p->bytes_sent = p->bytes_uncompressed = sent;
    p->extra_name[p->nextra] = "effective_rank";
    p->extra[p->nextra++] = R;
    int rk[DTF_MAX_MODES], nr = s->mops->ranks(s->model, rk);
    if (nr > 1) {
      int64_t r64[DTF_MAX_MODES];
      for (int k = 0; k < nr; k++) r64[k] = rk[k];
      char dims[48];
      dtf_format_dims(nr, r64, dims, sizeof dims);
      snprintf(p->note, sizeof p->note, "bonds %s", dims);
    }
    for (int k = 0; k < s->lik->nmetrics; k++) {
      p->extra_name[p->nextra] = names[0][k];
      p->extra[p->nextra++] = s->train_m[k];
    }
    for (int k = 0; s->tv && k < s->lik->nmetrics; k++) {
      p->extra_name[p->nextra] = names[1][k];
      p->extra[p->nextra++] = s->test_m[k];
    }
    if (s->lik->noise_precision && s->opt.algorithm != DTF_EM_ALS) {
      p->extra_name[p->nextra] = "noise_sd";
      p->extra[p->nextra++] = 1 / sqrt(s->beta) / s->scale;
    }
  }
  return DTF_OK;
}

static int finished(const void *impl) {
  const dtf_em_t *s = impl;
  return s->converged || s->epoch >= s->opt.max_epochs;
}

static int converged(const void *impl) { return ((const dtf_em_t *)impl)->converged; }

static dtf_status state(void *impl, int checkpoint, dtf_state_t *out) {
  dtf_em_t *s = impl;
  const dtf_grid_t *g = s->grid;
  dtf_state_init(out, s->solver_name, s->mops->name, checkpoint, g->nmodes, g->dims);
  dtf_status st = s->mops->describe(s->model, checkpoint, 1 / s->scale, out);
  if (st) return st;
  dtf_state_int(out, "iterations", DTF_ATTR_STATE, NULL, s->epoch);
  dtf_state_real(out, "fit", DTF_ATTR_STATE, NULL, s->fit);
  dtf_state_text_option(out, "likelihood", "--likelihood",
                        s->opt.algorithm == DTF_EM_ALS ? "gaussian" : s->lik->name);
  dtf_state_text_option(out, "algorithm", "--algorithm", algorithm_name(s->opt.algorithm));
  dtf_state_int(out, "effective_rank", DTF_ATTR_STATE, NULL, s->mops->rank(s->model));
  dtf_state_int(out, "start_rank", DTF_ATTR_OPTION, "--rank", s->opt.rank);
  dtf_state_int(out, "seed", DTF_ATTR_OPTION, "--seed", (int64_t)s->opt.seed);
  dtf_state_int(out, "converged", DTF_ATTR_STATE, NULL, s->converged);
  if (s->lik->noise_precision && s->opt.algorithm != DTF_EM_ALS) /* a checkpoint's of the scaled data */
    dtf_state_real(out, "noise_precision", DTF_ATTR_STATE, NULL,
                   checkpoint ? s->beta : s->beta * s->scale * s->scale);
  if (s->opt.algorithm == DTF_EM_ALS) dtf_state_real(out, "reg", DTF_ATTR_OPTION, "--reg", s->opt.reg);
  if (s->opt.algorithm == DTF_EM_ONLINE) {
    dtf_state_int(out, "batches", DTF_ATTR_OPTION, "--batches", s->opt.batches);
    dtf_state_real(out, "kappa", DTF_ATTR_OPTION, "--kappa", s->opt.kappa);
  }
  if (s->opt.algorithm != DTF_EM_ALS) {
    dtf_state_real(out, "prune", DTF_ATTR_OPTION, "--prune", s->opt.prune);
    dtf_state_real(out, "merge", DTF_ATTR_OPTION, "--merge", s->opt.merge);
  }
  if (!checkpoint) return DTF_OK;
  dtf_state_real(out, "loss", DTF_ATTR_STATE, NULL, s->loss);
  dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
  dtf_state_undefined_ok(out, "delta");
  dtf_state_real(out, "sse_avg", DTF_ATTR_STATE, NULL, s->sse_avg);
  dtf_state_int(out, "steps", DTF_ATTR_STATE, NULL, s->steps);
  dtf_state_int(out, "warming", DTF_ATTR_STATE, NULL, s->warming);
  dtf_state_replicated(out, "history_train", s->epoch, 0, s->hist_train);
  dtf_state_replicated(out, "history_test", s->epoch, 0, s->hist_test);
  dtf_state_undefined_ok(out, "history_test"); /* NaN without test entries */
  dtf_state_replicated(out, "history_seconds", s->epoch, 0, s->hist_sec);
  dtf_state_replicated(out, "history_rank", s->epoch, 0, s->hist_rank);
  for (int b = 0; s->stats[0] && b < s->nblocks; b++) {
    dtf_factor_t *f = s->mops->block(s->model, b);
    char name[32];
    snprintf(name, sizeof name, "em_stats_%d", b);
    dtf_state_rows(out, name, f->rows, width(f->R), f->own_start, f->own_len, f->own_start, f->own_len,
                   s->stats[b]);
    snprintf(name, sizeof name, "em_updates_%d", b);
    dtf_state_rows(out, name, f->rows, 1, f->own_start, f->own_len, f->own_start, f->own_len, s->updates[b]);
  }
  return DTF_OK;
}

static dtf_status restore(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx) {
  dtf_em_t *s = impl;
  int64_t it = 0, conv = 0, steps = 0;
  double fit = 0, delta = 0, loss = 0, sse = 0, beta = 0;
  if (dtf_state_get_int(file, "iterations", &it) || dtf_state_get_int(file, "converged", &conv) ||
      dtf_state_get_int(file, "steps", &steps) || dtf_state_get_real(file, "fit", &fit) ||
      dtf_state_get_real(file, "delta", &delta) || dtf_state_get_real(file, "loss", &loss) ||
      dtf_state_get_real(file, "sse_avg", &sse))
    return dtf_error(DTF_ERR_INPUT,
                     "the checkpoint lacks the EM state (iterations, steps, loss, delta, ...)");
  if (it < 1 || it > s->opt.max_epochs)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint is at epoch %lld; this run allows %d (-i)", (long long)it,
                     s->opt.max_epochs);
  dtf_status st = s->mops->resize(s->model, file);
  for (int b = 0; !st && s->stats[0] && b < s->nblocks; b++) st = alloc_stats(s, b);
  if (!st) st = ensure_buffers(s);
  st = dtf_agree(s->grid->comm, st);
  if (st) return st;
  s->epoch = (int)it;
  if ((st = dtf_solver_restore_fields(state, s, read, ctx))) return st;
  if (!dtf_state_get_real(file, "noise_precision", &beta)) s->beta = beta;
  int64_t warming = 1;
  dtf_state_get_int(file, "warming", &warming);
  s->warming = (int)warming;
  s->steps = steps;
  s->fit = fit;
  s->delta = delta;
  s->loss = loss;
  s->sse_avg = sse;
  s->converged = (int)conv;
  return DTF_OK;
}

extern const dtf_em_model_ops_t dtf_cp_em_ops, dtf_tr_em_ops;

const dtf_em_model_ops_t *dtf_em_model(const char *name) {
  return !strcmp(name, "cp") ? &dtf_cp_em_ops : !strcmp(name, "tr") ? &dtf_tr_em_ops : NULL;
}

static const dtf_solver_ops_t em_ops = {"complete", iterate, finished, converged, state, restore};

dtf_solver_t dtf_em_solver(dtf_em_t *s) { return (dtf_solver_t){&em_ops, s}; }

void dtf_em_summary(const dtf_em_t *s, dtf_em_summary_t *o) {
  memset(o, 0, sizeof *o);
  o->epochs = s->epoch;
  o->rank = s->mops->rank(s->model);
  o->nranks = s->mops->ranks(s->model, o->ranks);
  o->converged = s->converged;
  o->have_test = s->tv != NULL;
  memcpy(o->train, s->train_m, sizeof o->train);
  memcpy(o->test, s->test_m, sizeof o->test);
  memcpy(o->baseline, s->baseline, sizeof o->baseline);
  o->noise_sd =
      s->lik->noise_precision && s->opt.algorithm != DTF_EM_ALS ? 1 / sqrt(s->beta) / s->scale : NAN;
  o->test_history = s->hist_test;
  o->train_history = s->hist_train;
  o->seconds_history = s->hist_sec;
  o->rank_history = s->hist_rank;
  o->bytes = s->comm.bytes_sent;
  o->t_estep = s->t_estep;
  o->t_comm = s->t_comm;
  o->t_solve = s->t_solve;
}

void dtf_em_free(dtf_em_t *s) {
  if (!s) return;
  if (s->model) s->mops->destroy(s->model);
  for (int b = 0; b < DTF_MAX_MODES; b++) {
    free(s->stats[b]);
    free(s->updates[b]);
  }
  free(s->loc);
  free(s->recv);
  free(s->touched);
  free(s->counts);
  free(s->inv);
  free(s->rescale);
  free(s->x);
  free(s->w);
  free(s->c);
  free(s->y);
  free(s->diag);
  free(s->work);
  free(s->pred);
  free(s->ids);
  free(s->pinds);
  free(s->keys);
  free(s->batch);
  free(s->batch_sizes);
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    free(s->bpos[n]);
    free(s->bstart[n]);
  }
  free(s->hist_test);
  free(s->hist_train);
  free(s->hist_sec);
  free(s->hist_rank);
  free(s->wprev);
  free(s->wnow);
  free(s);
}
