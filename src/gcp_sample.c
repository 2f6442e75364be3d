/* The entries a GCP step reads (src/gcp.c's header, step 1): every one, or a sample drawn
 * from the counter-based RNG keyed by (seed, step) and each entry's global index; the loss
 * estimate on the fixed sample; this rank's part of the gradients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/observed.h"
#include "dtf/rng.h"
#include "gcp_impl.h"

int gcp_sampling(const dtf_tensor_t *t, const dtf_gcp_options_t *o, double cells_local) {
  int observed = t->ops->zeros_are_data, full = (double)t->ops->entries(t) == cells_local;
  if (observed) return o->sample ? STORED : ALL;
  if (!full) return STRATIFIED;
  return o->sample ? UNIFORM : ALL;
}

static dtf_status grow(sample_t *s, int64_t n, int N) {
  if (n <= s->cap) return DTF_OK;
  int64_t cap = n > 2 * s->cap ? n : 2 * s->cap;
  int64_t *i = realloc(s->inds, (size_t)cap * N * sizeof(int64_t));
  if (i) s->inds = i;
  double *x = realloc(s->x, (size_t)cap * sizeof(double));
  if (x) s->x = x;
  double *w = realloc(s->w, (size_t)cap * sizeof(double));
  if (w) s->w = w;
  double *m = realloc(s->m, (size_t)cap * sizeof(double));
  if (m) s->m = m;
  if (!i || !x || !w || !m)
    return dtf_error(DTF_ERR_INPUT, "out of memory for a sample of %lld entries", (long long)n);
  s->cap = cap;
  return DTF_OK;
}

void gcp_free_sample(sample_t *s) {
  free(s->inds);
  free(s->x);
  free(s->w);
  free(s->m);
  memset(s, 0, sizeof *s);
}

/* global linear index -> block-local indices; 0 if not in this rank's block */
static int local_of(const dtf_grid_t *g, uint64_t lin, int64_t *ix) {
  int in = 1;
  for (int m = g->nmodes - 1; m >= 0; m--) {
    int64_t i = (int64_t)(lin % (uint64_t)g->dims[m]);
    lin /= (uint64_t)g->dims[m];
    ix[m] = i - g->start[m];
    in &= ix[m] >= 0 && ix[m] < g->len[m];
  }
  return in;
}

dtf_status gcp_draw(dtf_gcp_t *s, sample_t *out, int64_t S, uint64_t key) {
  const dtf_grid_t *g = s->grid;
  int N = s->N;
  dtf_tensor_t *t = s->t;
  out->n = 0;
  dtf_status st = DTF_OK;
  uint64_t cells = (uint64_t)s->cells;
  if (s->how == UNIFORM || s->how == STRATIFIED) {
    /* uniform draws over the cells; stratified: the half from the unstored cells */
    int64_t draws = s->how == UNIFORM ? S : S - S / 2;
    double w = s->how == UNIFORM ? 1.0 / (double)S : (s->cells - s->stored) / ((double)draws * s->cells);
    for (int64_t k = 0; k < draws && !st; k++) {
      uint64_t lin = dtf_rng_u64(s->opt.seed, DTF_STREAM_GCP, key, (uint64_t)k) % cells;
      if (!(st = grow(out, out->n + 1, N)) && local_of(g, lin, out->inds + out->n * N)) out->w[out->n++] = w;
    }
    if (st) return st;
    /* values (stratified: drop draws that hit a stored entry) */
    for (int64_t k0 = 0; k0 < out->n && !st; k0 += CHUNK) {
      int64_t c = out->n - k0 < CHUNK ? out->n - k0 : CHUNK;
      st = t->ops->values_at(t, c, out->inds + k0 * N, out->x + k0, s->found);
      for (int64_t k = 0; k < c; k++) {
        out->x[k0 + k] *= s->scale;
        if (s->how == STRATIFIED && s->found[k]) out->w[k0 + k] = 0.0;
      }
    }
    if (st || s->how == UNIFORM) return st;
  }
  /* Bernoulli draws of the stored entries, each with probability q: weight 1 / (q n) */
  int64_t want = s->how == STRATIFIED ? S / 2 : S;
  double q = fmin(1.0, (double)want / s->stored), w = 1.0 / (q * s->entries);
  int64_t n = t->ops->entries(t);
  for (int64_t e0 = 0; e0 < n && !st; e0 += CHUNK) {
    int64_t c = n - e0 < CHUNK ? n - e0 : CHUNK;
    t->ops->entries_get(t, e0, c, s->ibuf, s->xbuf);
    for (int64_t k = 0; k < c && !st; k++) {
      uint64_t ek = dtf_entry_key(N, g->dims, s->ibuf + k * N);
      if (!(dtf_rng_uniform(s->opt.seed, DTF_STREAM_GCP, key, ek) < q)) continue;
      if ((st = grow(out, out->n + 1, N))) break;
      for (int m = 0; m < N; m++) out->inds[out->n * N + m] = s->ibuf[k * N + m] - g->start[m];
      out->x[out->n] = s->xbuf[k] * s->scale;
      out->w[out->n++] = w;
    }
  }
  return st;
}

dtf_status gcp_loss_estimate(dtf_gcp_t *s, double *loss) {
  const dtf_loss_t *L = s->opt.loss;
  double sum = 0;
  if (s->how == ALL) {
    int64_t n = s->t->ops->entries(s->t);
    for (int64_t e0 = 0; e0 < n; e0 += CHUNK) {
      int64_t c = n - e0 < CHUNK ? n - e0 : CHUNK;
      s->t->ops->entries_get(s->t, e0, c, s->ibuf, s->xbuf);
      for (int64_t k = 0; k < c; k++)
        for (int m = 0; m < s->N; m++) s->ibuf[k * s->N + m] -= s->grid->start[m];
      dtf_cp_model_predict(&s->model, c, s->ibuf, s->mall);
      for (int64_t k = 0; k < c; k++) sum += L->value(s->xbuf[k] * s->scale, s->mall[k]);
    }
    sum /= s->entries;
  } else {
    sample_t *p = &s->lsmp;
    dtf_cp_model_predict(&s->model, p->n, p->inds, p->m);
    for (int64_t k = 0; k < p->n; k++) sum += p->w[k] * L->value(p->x[k], p->m[k]);
  }
  for (int m = 0; m < s->N; m++) /* a non-finite factor entry: a non-finite loss, the epoch undone */
    if (dtf_first_nonfinite(s->model.factors[m].block_len * s->R, s->model.factors[m].block) >= 0) sum = NAN;
  dtf_status st = dtf_allreduce_sum(s->grid->comm, &sum, 1, &s->comm);
  *loss = sum;
  return st;
}

dtf_status gcp_local_gradients(dtf_gcp_t *s, uint64_t step) {
  const dtf_loss_t *L = s->opt.loss;
  int N = s->N, R = s->R;
  const double *F[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) F[n] = s->model.factors[n].block;
  dtf_status st = DTF_OK;
  if (s->how == ALL) { /* y at every entry in the entries view, then the weighted MTTKRPs */
    int64_t n = s->t->ops->entries(s->t);
    for (int64_t e0 = 0; e0 < n; e0 += CHUNK) {
      int64_t c = n - e0 < CHUNK ? n - e0 : CHUNK;
      s->t->ops->entries_get(s->t, e0, c, s->ibuf, s->xbuf);
      for (int64_t k = 0; k < c; k++)
        for (int m = 0; m < N; m++) s->ibuf[k * N + m] -= s->grid->start[m];
      dtf_cp_model_predict(&s->model, c, s->ibuf, s->mall + e0);
      for (int64_t k = 0; k < c; k++)
        s->wall[e0 + k] = L->deriv(s->xbuf[k] * s->scale, s->mall[e0 + k]) / s->entries;
    }
    for (int m = 0; !st && m < N; m++) st = s->t->ops->weighted_mttkrp(s->t, m, F, s->wall, R, s->grad[m]);
    return st;
  }
  sample_t *p = &s->smp;
  if ((st = gcp_draw(s, p, s->opt.sample, step))) return st;
  dtf_cp_model_predict(&s->model, p->n, p->inds, p->m);
  for (int64_t k = 0; k < p->n; k++) p->m[k] = p->w[k] * L->deriv(p->x[k], p->m[k]);
  for (int m = 0; m < N; m++) {
    memset(s->grad[m], 0, (size_t)(s->model.factors[m].block_len * R) * sizeof(double));
    dtf_coo_mttkrp(N, m, p->n, p->inds, p->m, F, R, s->grad[m]);
  }
  return DTF_OK;
}
