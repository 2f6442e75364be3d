/* The CP model of the completion solvers: x(i_1..i_N) = sum_r prod_n A_n(i_n, r), with
 * the multiplicative gamma process shrinkage prior A_n(i, r) ~ N(0, 1 / tau_r),
 * tau_r = delta_1 ... delta_r, delta_1 ~ Gamma(a1, 1), delta_l ~ Gamma(a2, 1), so that
 * later components shrink harder and vanish when the data do not need them. Block n of
 * the EM driver is the factor A_n; a row's design row is the Hadamard product of the
 * other factors' rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/cp.h"
#include "dtf/em.h"
#include "dtf/kernels.h"
#include "dtf/rng.h"

typedef struct {
  const dtf_grid_t *g;
  int N, R;
  dtf_cp_model_t m; /* lambda 1: the factors carry the scale */
  double *delta, *tau;
  double a1, a2, dsum;             /* dsum: sum_n I_n, the prior's entries per component */
  dtf_cp_model_t out;              /* the model file's normalised copy */
  dtf_factor_t cov[DTF_MAX_MODES]; /* each row's posterior covariance, packed */
  double *colsq;                   /* N x R */
} cp_em_t;

static dtf_status alloc_prior(cp_em_t *c, int R) {
  free(c->delta);
  free(c->tau);
  free(c->colsq);
  c->delta = malloc((size_t)R * sizeof(double));
  c->tau = malloc((size_t)R * sizeof(double));
  c->colsq = malloc((size_t)(c->N * R) * sizeof(double));
  return c->delta && c->tau && c->colsq ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
}

static void free_cov(cp_em_t *c) {
  for (int n = 0; n < c->N; n++)
    if (c->cov[n].block) dtf_factor_free(&c->cov[n]);
}

/* zero posterior covariances for R components */
static dtf_status init_cov(cp_em_t *c, int R) {
  free_cov(c);
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < c->N; n++) st = dtf_factor_init(c->g, n, (int)dtf_packed_size(R), &c->cov[n]);
  return st;
}

static void destroy(void *model) {
  cp_em_t *c = model;
  free_cov(c);
  if (c->m.lambda) dtf_cp_model_free(&c->m);
  if (c->out.lambda) dtf_cp_model_free(&c->out);
  free(c->delta);
  free(c->tau);
  free(c->colsq);
  free(c);
}

static dtf_status create(const dtf_grid_t *g, const dtf_em_options_t *o, double scale, void **model) {
  *model = NULL;
  cp_em_t *c = calloc(1, sizeof *c);
  if (!c) return dtf_error(DTF_ERR_INPUT, "out of memory");
  c->g = g;
  c->N = g->nmodes;
  c->R = o->rank;
  c->a1 = o->a1;
  c->a2 = o->a2;
  for (int n = 0; n < c->N; n++) c->dsum += (double)g->dims[n];
  dtf_status st = dtf_cp_model_init(g, c->R, &c->m);
  if (!st) st = alloc_prior(c, c->R);
  if (!st) st = init_cov(c, c->R);
  st = dtf_agree(g->comm, st);
  if (st) {
    destroy(c);
    return st;
  }
  /* standard normal rows times s: a predictor then has variance R s^(2N) = scale^2 */
  double s = pow(scale * scale / c->R, 0.5 / c->N);
  for (int n = 0; n < c->N; n++) {
    dtf_factor_t *f = &c->m.factors[n];
    dtf_factor_fill_normal(f, o->seed, DTF_STREAM_INIT, NULL);
    for (int64_t i = 0; i < f->block_len * c->R; i++) f->block[i] *= s;
  }
  for (int r = 0; r < c->R; r++) c->delta[r] = c->tau[r] = 1.0;
  *model = c;
  return DTF_OK;
}

static int nblocks(const void *model) { return ((const cp_em_t *)model)->N; }

static dtf_factor_t *block(void *model, int b) { return &((cp_em_t *)model)->m.factors[b]; }

static dtf_factor_t *covariance(void *model, int b) { return &((cp_em_t *)model)->cov[b]; }

/* E[h h^T] of the Hadamard product h of independent rows with means a_n and covariances
 * C_n is the Hadamard product of their second moments a_n a_n^T + C_n. */
static void design(const void *model, int b, const dtf_observed_view_t *v, int64_t count, const int64_t *ids,
                   double *H, int64_t ldh, double *x, double *Q) {
  const cp_em_t *c = model;
  int N = c->N, R = c->R;
  int64_t T = dtf_packed_size(R);
  for (int64_t k = 0; Q && k < count; k++) {
    const int64_t *ix = v->row_inds[b] + ids[k] * N;
    double *q = Q + k * T;
    for (int64_t j = 0; j < T; j++) q[j] = 1.0;
    for (int n = 0; n < N; n++) {
      if (n == b) continue;
      const double *a = c->m.factors[n].block + ix[n] * R, *C = c->cov[n].block + ix[n] * T;
      for (int r = 0, j = 0; r < R; r++)
        for (int u = r; u < R; u++, j++) q[j] *= a[r] * a[u] + C[j];
    }
  }
  for (int64_t k = 0; k < count; k++) {
    const int64_t *ix = v->row_inds[b] + ids[k] * N;
    double *h = H + k * ldh;
    int first = b == 0 ? 1 : 0;
    memcpy(h, c->m.factors[first].block + ix[first] * R, (size_t)R * sizeof(double));
    for (int n = first + 1; n < N; n++) {
      if (n == b) continue;
      const double *a = c->m.factors[n].block + ix[n] * R;
      for (int r = 0; r < R; r++) h[r] *= a[r];
    }
    const double *a = c->m.factors[b].block + ix[b] * R;
    double s = 0;
    for (int r = 0; r < R; r++) s += h[r] * a[r];
    x[k] = s;
    if (Q) /* the covariance part: E[h h^T] - h h^T */
      for (int r = 0, j = 0; r < R; r++)
        for (int u = r; u < R; u++, j++) Q[k * T + j] -= h[r] * h[u];
  }
}

static void predict(const void *model, int64_t count, const int64_t *inds, double *x) {
  dtf_cp_model_predict(&((const cp_em_t *)model)->m, count, inds, x);
}

static void prior(const void *model, int b, double *diag) {
  const cp_em_t *c = model;
  (void)b;
  memcpy(diag, c->tau, (size_t)c->R * sizeof(double));
}

/* colsq[n R + r] = ||A_n(:, r)||^2 over all ranks; expected: plus the rows' posterior
 * variances, E ||A_n(:, r)||^2 */
static dtf_status column_norms(cp_em_t *c, int expected, dtf_comm_stats_t *stats) {
  int R = c->R;
  int64_t T = dtf_packed_size(R);
  memset(c->colsq, 0, (size_t)(c->N * R) * sizeof(double));
  for (int n = 0; n < c->N; n++) {
    const dtf_factor_t *f = &c->m.factors[n];
    const double *A = dtf_factor_owned(f), *C = dtf_factor_owned(&c->cov[n]);
    for (int64_t i = 0; i < f->own_len; i++)
      for (int r = 0; r < R; r++) {
        c->colsq[n * R + r] += A[i * R + r] * A[i * R + r];
        if (expected) c->colsq[n * R + r] += C[i * T + (int64_t)r * R - (int64_t)r * (r - 1) / 2];
      }
  }
  return dtf_allreduce_sum(c->g->comm, c->colsq, c->N * R, stats);
}

/* Each delta_l at the mode of its conditional Gamma given the rows and the others:
 * shape a_l + (sum_n I_n) (R - l + 1) / 2, rate 1 + 1/2 sum_{r >= l} tau_r / delta_l s_r,
 * s_r = sum_n ||A_n(:, r)||^2. */
static dtf_status update_prior(void *model, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  int R = c->R;
  dtf_status st = column_norms(c, 1, stats);
  if (st) return st;
  for (int l = 0; l < R; l++) {
    double rate = 1.0, shape = (l == 0 ? c->a1 : c->a2) + 0.5 * c->dsum * (R - l), prod = 1.0;
    for (int r = 0; r < R; r++) {
      if (r != l) prod *= c->delta[r];
      if (r < l) continue;
      double s = 0;
      for (int n = 0; n < c->N; n++) s += c->colsq[n * R + r];
      rate += 0.5 * prod * s;
    }
    c->delta[l] = fmax(shape - 1.0, 1e-12) / rate;
    double t = 1.0;
    for (int r = 0; r < R; r++) c->tau[r] = (t *= c->delta[r]);
  }
  return DTF_OK;
}

/* copy the kept columns of every factor into a model of R' components */
static dtf_status reshape(cp_em_t *c, int Rn, const int *keep) {
  dtf_cp_model_t m;
  dtf_status st = dtf_cp_model_init(c->g, Rn, &m);
  if (st) return st;
  int R = c->R;
  for (int n = 0; n < c->N; n++) {
    const dtf_factor_t *f = &c->m.factors[n];
    for (int64_t i = 0; i < f->block_len; i++)
      for (int k = 0; k < Rn; k++) m.factors[n].block[i * Rn + k] = f->block[i * R + (keep ? keep[k] : k)];
  }
  dtf_cp_model_free(&c->m);
  c->m = m;
  /* the kept components' covariances */
  dtf_factor_t old[DTF_MAX_MODES];
  memcpy(old, c->cov, sizeof old);
  memset(c->cov, 0, sizeof c->cov);
  st = init_cov(c, Rn);
  int64_t To = dtf_packed_size(R), Tn = dtf_packed_size(Rn);
  for (int n = 0; !st && n < c->N; n++)
    for (int64_t i = 0; i < old[n].block_len; i++)
      for (int r = 0, j = 0; r < Rn; r++)
        for (int u = r; u < Rn; u++, j++) {
          int ro = keep ? keep[r] : r, uo = keep ? keep[u] : u;
          c->cov[n].block[i * Tn + j] =
              old[n].block[i * To + (int64_t)ro * R - (int64_t)ro * (ro - 1) / 2 + (uo - ro)];
        }
  for (int n = 0; n < c->N; n++)
    if (old[n].block) dtf_factor_free(&old[n]);
  c->R = Rn;
  return st;
}

/* Give every component the same norm in every mode, (prod_n ||A_n(:, r)||)^(1/N): the
 * predictions do not change and the prior's penalty sum_n tau_r ||A_n(:, r)||^2 can only
 * fall. Without it, a first sweep from random rows leaves the first factor small (a least
 * squares fit to random design rows), the next modes see tiny design rows, and the prior
 * wins: the model collapses to zero on sparse data. */
static dtf_status balance(void *model, int b, double **rescale, int *changed, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  (void)b;
  int R = c->R, N = c->N;
  int64_t T = dtf_packed_size(R);
  *changed = 0;
  dtf_status st = column_norms(c, 0, stats);
  if (st) return st;
  double *scale = malloc((size_t)(N * R) * sizeof(double));
  if (!scale) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int r = 0; r < R; r++) {
    double logt = 0;
    int ok = 1;
    for (int n = 0; n < N; n++) {
      double g = sqrt(c->colsq[n * R + r]);
      ok &= g > 0 && isfinite(g);
      logt += log(g) / N;
    }
    for (int n = 0; n < N; n++) scale[n * R + r] = ok ? exp(logt) / sqrt(c->colsq[n * R + r]) : 1.0;
  }
  for (int n = 0; n < N; n++) {
    const double *k = scale + n * R;
    dtf_factor_t *f = &c->m.factors[n], *C = &c->cov[n];
    for (int64_t i = 0; i < f->block_len; i++) {
      for (int r = 0; r < R; r++) f->block[i * R + r] *= k[r];
      for (int r = 0, j = 0; r < R; r++)
        for (int u = r; u < R; u++, j++) C->block[i * T + j] *= k[r] * k[u];
    }
    /* block n's design coefficient r is the product of the other modes' entries */
    for (int r = 0; r < R; r++) rescale[n][r] = 1.0 / k[r];
  }
  free(scale);
  *changed = 1;
  return DTF_OK;
}

/* the weight of component r: prod_n ||A_n(:, r)|| */
static dtf_status weights(void *model, double *w, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  int R = c->R;
  dtf_status st = column_norms(c, 0, stats);
  for (int r = 0; r < R; r++) {
    w[r] = 1.0;
    for (int n = 0; n < c->N; n++) w[r] *= sqrt(c->colsq[n * R + r]);
  }
  return st;
}

static dtf_status prune(void *model, double tol, int *removed, int **keep, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  int R = c->R, Rn = 0;
  *removed = 0;
  double w[R], most = 0;
  dtf_status st = weights(c, w, stats);
  if (st) return st;
  for (int r = 0; r < R; r++)
    if (w[r] > most) most = w[r];
  for (int r = 0; r < R; r++)
    if (w[r] >= tol * most) keep[0][Rn++] = r;
  if (Rn == R || Rn == 0) return DTF_OK;
  for (int n = 1; n < c->N; n++) memcpy(keep[n], keep[0], (size_t)Rn * sizeof(int));
  /* the kept components keep their prior precisions: tau compacted, delta its ratios */
  double tau[R];
  for (int k = 0; k < Rn; k++) tau[k] = c->tau[keep[0][k]];
  st = reshape(c, Rn, keep[0]);
  if (!st) st = alloc_prior(c, Rn);
  if (st) return st;
  for (int k = 0; k < Rn; k++) {
    c->tau[k] = tau[k];
    c->delta[k] = k ? tau[k] / tau[k - 1] : tau[0];
  }
  *removed = R - Rn;
  return DTF_OK;
}

static int rank(const void *model) { return ((const cp_em_t *)model)->R; }

static dtf_status describe(void *model, int checkpoint, dtf_state_t *s) {
  cp_em_t *c = model;
  int R = c->R;
  if (checkpoint) {
    dtf_cp_model_describe(&c->m, s);
    dtf_state_replicated(s, "mgp_delta", R, 0, c->delta);
    for (int n = 0; n < c->N; n++) {
      char name[32];
      dtf_factor_t *f = &c->cov[n];
      snprintf(name, sizeof name, "covariance_%d", n);
      dtf_state_rows(s, name, f->rows, f->R, f->block_start, f->block_len, f->own_start, f->own_len,
                     f->block);
    }
  } else {
    /* unit-norm columns, the norms in lambda, as every CP model file */
    dtf_status st = DTF_OK;
    if (c->out.lambda && c->out.R != R) dtf_cp_model_free(&c->out);
    if (!c->out.lambda) st = dtf_cp_model_init(c->g, R, &c->out);
    if (!st) st = column_norms(c, 0, NULL);
    if (st) return st;
    for (int r = 0; r < R; r++) c->out.lambda[r] = 1.0;
    for (int n = 0; n < c->N; n++)
      for (int r = 0; r < R; r++) {
        double norm = sqrt(c->colsq[n * R + r]);
        c->out.lambda[r] *= norm;
        const dtf_factor_t *f = &c->m.factors[n];
        for (int64_t i = 0; i < f->block_len; i++)
          c->out.factors[n].block[i * R + r] = norm > 0 ? f->block[i * R + r] / norm : 0.0;
      }
    dtf_cp_model_describe(&c->out, s);
  }
  /* the rank changes as components are pruned: not an option a resume must match */
  dtf_state_int(s, "rank", DTF_ATTR_STATE, NULL, R);
  dtf_state_replicated(s, "mgp_tau", R, 0, c->tau);
  return DTF_OK;
}

static dtf_status resize(void *model, const dtf_state_t *file) {
  cp_em_t *c = model;
  int64_t R;
  if (dtf_state_get_int(file, "rank", &R) || R < 1 || R > c->R)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint's rank is missing or above this run's --rank %d", c->R);
  if (R == c->R) return DTF_OK;
  dtf_status st = reshape(c, (int)R, NULL);
  if (!st) st = alloc_prior(c, (int)R);
  return st;
}

static const dtf_em_model_ops_t cp_em_ops = {"cp",   create,  destroy,  nblocks, block,        covariance,
                                             design, predict, prior,    balance, update_prior, prune,
                                             rank,   weights, describe, resize};

const dtf_em_model_ops_t *dtf_em_model(const char *name) { return !strcmp(name, "cp") ? &cp_em_ops : NULL; }
