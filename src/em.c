/* The EM driver of `dtf complete`: epochs of (online) EM over a completion model (set-up,
 * epochs, metrics, state; the sweep over the blocks is src/em_sweep.c).
 *
 * Failures inside an epoch: a rank whose E-step or solve fails keeps taking part in
 * every collective, and the status is agreed after each block's solve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_impl.h"
#include "dtf/fault.h"
#include "dtf/format.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "timer.h"

void dtf_em_options_default(dtf_em_options_t *o) {
  memset(o, 0, sizeof *o);
  o->algorithm = DTF_EM_ONLINE;
  o->lik = dtf_likelihood("gaussian");
  o->rank = 1;
  o->max_epochs = 100;
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
  /* offsets: the rows, their variances and the file's copy; online, their statistics */
  double rows = 0;
  for (int n = 0; n < g->nmodes; n++) rows += (double)g->len[n];
  if (o->bias) bytes += rows * 3 * 8 + (o->algorithm == DTF_EM_ONLINE ? own * 3 * 8 : 0);
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
dtf_status em_ensure_buffers(dtf_em_t *s) {
  int Dm = max_D(s);
  int64_t W = em_width(Dm), maxblock = 1, maxown = 1;
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

/* online statistics for part b (em_nparts), zeroed (fresh) */
static dtf_status alloc_stats(dtf_em_t *s, int b) {
  dtf_factor_t *f = b < s->nblocks ? s->mops->block(s->model, b) : &s->off.rows[b - s->nblocks];
  free(s->stats[b]);
  free(s->updates[b]);
  int64_t n = f->own_len ? f->own_len : 1;
  s->stats[b] = dtf_alloc_large((size_t)(n * em_width(f->R)) * sizeof(double));
  s->updates[b] = calloc((size_t)n, sizeof(double));
  s->Dstats[b] = f->R;
  if (!s->stats[b] || !s->updates[b]) return dtf_error(DTF_ERR_INPUT, "out of memory for the EM statistics");
  memset(s->stats[b], 0, (size_t)(n * em_width(f->R)) * sizeof(double));
  return DTF_OK;
}

/* predictions at every entry of v into s->pred */
static void predict_all(dtf_em_t *s, const dtf_observed_view_t *v) {
  for (int64_t e0 = 0; e0 < v->nnz; e0 += CHUNK) {
    int64_t n = v->nnz - e0 < CHUNK ? v->nnz - e0 : CHUNK;
    s->mops->predict(s->model, n, v->inds + e0 * v->nmodes, s->pred + e0);
    dtf_model_bias_add(&s->off, n, v->inds + e0 * v->nmodes, s->pred + e0); /* none: off.on = 0 */
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
  /* the constant predictor: the train mean on the scale of the link */
  double x0 = mean;
  if (!strcmp(lik->name, "bernoulli")) x0 = mean > 0 && mean < 1 ? log(mean / (1 - mean)) : 0;
  if (!strcmp(lik->name, "poisson")) x0 = mean > 0 ? log(mean) : -30;
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
  s->o = malloc(CHUNK * sizeof(double));
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
  if (!s->touched || !s->counts || !s->x || !s->w || !s->c || !s->y || !s->o || !s->ids || !s->pinds ||
      !s->pred || !s->keys || !s->hist_test || !s->hist_train || !s->hist_sec || !s->hist_rank || !s->wprev ||
      !s->wnow)
    st = dtf_error(DTF_ERR_INPUT, "out of memory for the EM workspace");
  if (!st) st = em_ensure_buffers(s);
  s->bias = o->bias;
  if (!st && s->bias) st = em_bias_create(s, x0 * (lik->noise_precision ? s->scale : 1.0));
  if (!st && o->algorithm == DTF_EM_ONLINE) {
    s->batch = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(uint32_t));
    s->batch_sizes = calloc((size_t)o->batches, sizeof(int64_t));
    if (!s->batch || !s->batch_sizes) st = dtf_error(DTF_ERR_INPUT, "out of memory for the mini-batches");
    for (int n = 0; !st && n < g->nmodes; n++) {
      s->bpos[n] = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(int64_t));
      s->bstart[n] = malloc((size_t)(o->batches + 1) * sizeof(int64_t));
      if (!s->bpos[n] || !s->bstart[n]) st = dtf_error(DTF_ERR_INPUT, "out of memory for the mini-batches");
    }
    for (int b = 0; !st && b < em_nparts(s); b++) st = alloc_stats(s, b);
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
  s->beta = lik->noise_precision && ny > 0 ? (double)counts[0] / (ny * ny) : 1.0;
  if (!lik->noise_precision && lik->deviance) { /* 1 / the dispersion about the constant x0 */
    double dev = 0;
    for (int64_t e = 0; e < v->nnz; e++) dev += lik->deviance(v->vals[e], x0);
    st = dtf_allreduce_sum(g->comm, &dev, 1, NULL);
    if (!st) s->beta = 1 / fmax(1.0, dev / (double)counts[0]);
  }
  s->phase = o->algorithm == DTF_EM_ALS ? EM_BATCH : EM_WARMUP;
  s->delta = NAN; /* no earlier loss */
  s->loss = NAN;
  if (!st && tv) {
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

/* After the train metrics (s->pred: the train entries' predictions): is every predicted
 * value the same, or every component's weight (s->wnow, on the scale the model fits) below
 * 1e-9? Said once when it happens. Collective. */
static dtf_status check_collapse(dtf_em_t *s, int R) {
  double q[2] = {-INFINITY, -INFINITY}, most = 0; /* -min, max */
  for (int64_t e = 0; e < s->v->nnz; e++) {
    double m = s->lik->mean(s->pred[e]);
    q[0] = fmax(q[0], -m);
    q[1] = fmax(q[1], m);
  }
  dtf_status st = dtf_allreduce(s->grid->comm, q, 2, MPI_DOUBLE, MPI_MAX, &s->comm);
  if (st) return st;
  for (int r = 0; r < R; r++) most = fmax(most, s->wnow[r]);
  int was = s->collapsed;
  double spread = q[1] + q[0], size = fmax(fabs(q[0]), fabs(q[1]));
  s->collapsed = 1;
  if (!(spread > 1e-12 * size))
    snprintf(s->collapse_why, sizeof s->collapse_why, "every prediction is %.6g", q[1]);
  else if (!(most >= 1e-9))
    snprintf(s->collapse_why, sizeof s->collapse_why, "its components have vanished (largest weight %.3g)%s",
             most, s->bias ? ": it predicts the offsets alone" : "");
  else
    s->collapsed = 0;
  if (s->collapsed && !was && s->opt.log) {
    char msg[300];
    snprintf(msg, sizeof msg, "warning: epoch %d: the model collapsed: %s", s->epoch, s->collapse_why);
    s->opt.log(msg, s->opt.ctx);
  }
  return DTF_OK;
}

/* The warm-up ends once the train loss changes by less than WARMUP_TOL in an epoch (or
 * after WARMUP_MAX epochs); the online phase after at least ONLINE_MIN epochs once the
 * loss changes by less than SETTLE_TOL or rises (the mini-batches' noise), or after
 * ONLINE_MAX; then full-data steps converge to --tol. */
enum { WARMUP_MAX = 30, ONLINE_MIN = 5, ONLINE_MAX = 30 };
#define WARMUP_TOL 3e-3
#define SETTLE_TOL 1e-3

static const char *phase_name(int phase) {
  return phase == EM_WARMUP ? "warm-up" : phase == EM_ONLINE ? "online" : "batch";
}

/* After an epoch: the phase's end, or convergence. */
static dtf_status next_phase(dtf_em_t *s, int rose) {
  s->converged = 0;
  if (s->phase == EM_WARMUP && (s->delta < WARMUP_TOL || s->phase_epochs >= WARMUP_MAX)) {
    /* the prior from the rows the warm-up found, the noise from their residuals */
    s->phase = s->opt.algorithm == DTF_EM_ONLINE ? EM_ONLINE : EM_BATCH;
    s->phase_epochs = 0;
    return s->mops->update_prior(s->model, &s->comm);
  }
  if (s->phase == EM_ONLINE && s->phase_epochs >= ONLINE_MIN &&
      (s->delta < SETTLE_TOL || rose || s->phase_epochs >= ONLINE_MAX)) {
    s->phase = EM_BATCH;
    s->phase_epochs = 0;
    return DTF_OK;
  }
  s->converged = s->phase == EM_BATCH && s->phase_epochs > 1 && !s->pruned_now && s->delta < s->opt.tol &&
                 s->wchange < s->opt.tol;
  return DTF_OK;
}

static dtf_status iterate(void *impl, dtf_progress_t *p) {
  dtf_em_t *s = impl;
  const dtf_grid_t *g = s->grid;
  double t0 = dtf_now();
  uint64_t b0 = s->comm.bytes_sent;
  s->epoch++;
  dtf_status st = DTF_OK;
  if (em_online(s)) {
    int B = s->opt.batches;
    em_draw_batches(s);
    st = dtf_allreduce(g->comm, s->batch_sizes, B, MPI_INT64_T, MPI_SUM, &s->comm);
    for (int b = 0; !st && b < B; b++)
      if (s->batch_sizes[b]) st = em_sweep(s, b, (double)s->n_train / (double)s->batch_sizes[b]);
  } else
    st = em_sweep(s, -1, 1.0);
  if (!st) st = em_prune(s);
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
  if (!st) st = check_collapse(s, R);
  if (!st && s->tv) st = metrics(s, s->tv, s->test_m, NULL, NULL);
  if (st) return st;
  s->fit = ssy > 0 ? 1 - sqrt(sse / ssy) : 0;
  double loss = s->train_m[s->lik->loss];
  if (!s->lik->lower_is_better[s->lik->loss]) loss = -loss;
  if (!isfinite(loss))
    return dtf_error(DTF_ERR_NUMERIC, "the train %s became non-finite at epoch %d",
                     s->lik->metric[s->lik->loss], s->epoch);
  int rose = isfinite(s->loss) && loss > s->loss, ran = s->phase;
  s->delta = isfinite(s->loss) ? fabs(loss - s->loss) / fmax(fabs(s->loss), 1e-300) : NAN;
  s->loss = loss;
  s->phase_epochs++;
  s->warmup_epochs += ran == EM_WARMUP && s->opt.algorithm != DTF_EM_ALS;
  s->online_epochs += ran == EM_ONLINE;
  if ((st = next_phase(s, rose))) return st;
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
    char dims[48] = "";
    if (nr > 1) {
      int64_t r64[DTF_MAX_MODES];
      for (int k = 0; k < nr; k++) r64[k] = rk[k];
      dtf_format_dims(nr, r64, dims, sizeof dims);
    }
    if (s->opt.algorithm != DTF_EM_ALS)
      snprintf(p->note, sizeof p->note, "%s%s%s", phase_name(ran), nr > 1 ? ", bonds " : "", dims);
    else if (nr > 1)
      snprintf(p->note, sizeof p->note, "bonds %s", dims);
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
    } else if (s->lik->deviance && s->opt.algorithm != DTF_EM_ALS) {
      p->extra_name[p->nextra] = "dispersion";
      p->extra[p->nextra++] = 1 / s->beta;
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
  else if (s->lik->deviance && s->opt.algorithm != DTF_EM_ALS) { /* a checkpoint's exactly */
    dtf_state_real(out, "dispersion", DTF_ATTR_STATE, NULL, 1 / s->beta);
    if (checkpoint) dtf_state_real(out, "dispersion_precision", DTF_ATTR_STATE, NULL, s->beta);
  }
  if (s->opt.algorithm == DTF_EM_ALS) dtf_state_real(out, "reg", DTF_ATTR_OPTION, "--reg", s->opt.reg);
  if (s->opt.algorithm == DTF_EM_ONLINE) {
    dtf_state_int(out, "batches", DTF_ATTR_OPTION, "--batches", s->opt.batches);
    dtf_state_real(out, "kappa", DTF_ATTR_OPTION, "--kappa", s->opt.kappa);
  }
  if (s->opt.algorithm != DTF_EM_ALS) {
    dtf_state_real(out, "prune", DTF_ATTR_OPTION, "--prune", s->opt.prune);
    dtf_state_real(out, "merge", DTF_ATTR_OPTION, "--merge", s->opt.merge);
  }
  dtf_state_text_option(out, "bias_terms", "--bias", s->bias ? "on" : "off");
  if (s->bias) em_bias_describe(s, checkpoint, 1 / s->scale, out);
  if (!checkpoint) return DTF_OK;
  dtf_state_real(out, "loss", DTF_ATTR_STATE, NULL, s->loss);
  dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
  dtf_state_undefined_ok(out, "delta");
  dtf_state_real(out, "sse_avg", DTF_ATTR_STATE, NULL, s->sse_avg);
  dtf_state_replicated(out, "em_gamma", em_nparts(s), 0, s->gamma);
  dtf_state_int(out, "steps", DTF_ATTR_STATE, NULL, s->steps);
  dtf_state_int(out, "phase", DTF_ATTR_STATE, NULL, s->phase);
  dtf_state_int(out, "phase_epochs", DTF_ATTR_STATE, NULL, s->phase_epochs);
  dtf_state_int(out, "warmup_epochs", DTF_ATTR_STATE, NULL, s->warmup_epochs);
  dtf_state_int(out, "online_epochs", DTF_ATTR_STATE, NULL, s->online_epochs);
  dtf_state_int(out, "prune_after", DTF_ATTR_STATE, NULL, s->prune_after);
  dtf_state_int(out, "prune_refused", DTF_ATTR_STATE, NULL, s->prune_refused);
  dtf_state_replicated(out, "history_train", s->epoch, 0, s->hist_train);
  dtf_state_replicated(out, "history_test", s->epoch, 0, s->hist_test);
  dtf_state_undefined_ok(out, "history_test"); /* NaN without test entries */
  dtf_state_replicated(out, "history_seconds", s->epoch, 0, s->hist_sec);
  dtf_state_replicated(out, "history_rank", s->epoch, 0, s->hist_rank);
  for (int b = 0; s->stats[0] && b < em_nparts(s); b++) {
    int off = b >= s->nblocks;
    dtf_factor_t *f = off ? &s->off.rows[b - s->nblocks] : s->mops->block(s->model, b);
    char name[32];
    snprintf(name, sizeof name, off ? "em_stats_bias_%d" : "em_stats_%d", off ? b - s->nblocks : b);
    dtf_state_rows(out, name, f->rows, em_width(f->R), f->own_start, f->own_len, f->own_start, f->own_len,
                   s->stats[b]);
    snprintf(name, sizeof name, off ? "em_updates_bias_%d" : "em_updates_%d", off ? b - s->nblocks : b);
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
  for (int b = 0; !st && s->stats[0] && b < em_nparts(s); b++) st = alloc_stats(s, b);
  if (!st) st = em_ensure_buffers(s);
  st = dtf_agree(s->grid->comm, st);
  if (st) return st;
  s->epoch = (int)it;
  if ((st = dtf_solver_restore_fields(state, s, read, ctx))) return st;
  s->t_total = s->hist_sec[it - 1]; /* the seconds go on from the checkpoint's */
  if (!dtf_state_get_real(file, "noise_precision", &beta)) s->beta = beta;
  if (!dtf_state_get_real(file, "dispersion_precision", &beta)) s->beta = beta;
  int64_t phase = 0, phase_epochs = 0, warmup = 0, online = 0;
  if (dtf_state_get_int(file, "phase", &phase) || dtf_state_get_int(file, "phase_epochs", &phase_epochs) ||
      dtf_state_get_int(file, "warmup_epochs", &warmup) ||
      dtf_state_get_int(file, "online_epochs", &online) || phase < EM_WARMUP || phase > EM_BATCH ||
      phase_epochs < 0 || phase_epochs > it || warmup < 0 || online < 0 || warmup + online > it)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks the EM phase (attributes phase, phase_epochs, "
                                    "warmup_epochs, online_epochs), or they are out of range");
  s->phase = (int)phase;
  s->phase_epochs = (int)phase_epochs;
  s->warmup_epochs = (int)warmup;
  s->online_epochs = (int)online;
  int64_t after = 0, refused = 0; /* a checkpoint before these: none refused */
  dtf_state_get_int(file, "prune_after", &after);
  dtf_state_get_int(file, "prune_refused", &refused);
  s->prune_after = after < 0 || after > INT32_MAX ? 0 : (int)after;
  s->prune_refused = refused < 0 || refused > EM_MAX_BACKOFF ? 0 : (int)refused;
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
  o->collapsed = s->collapsed;
  o->collapse_why = s->collapsed ? s->collapse_why : "";
  o->warmup_epochs = s->warmup_epochs;
  o->online_epochs = s->online_epochs;
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
  em_bias_free(s);
  for (int b = 0; b < 2 * DTF_MAX_MODES; b++) {
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
  free(s->o);
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
