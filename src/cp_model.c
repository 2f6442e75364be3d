/* The distributed CP model: allocation, its manifest, checks, fit against a tensor, factor
 * match score, and the "cp" model kind of dtf_model_kind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/cp.h"
#include "dtf/kernels.h"
#include "dtf/model.h"

dtf_status dtf_cp_model_init(const dtf_grid_t *g, int R, dtf_cp_model_t *m) {
  memset(m, 0, sizeof *m);
  if (R < 1) return dtf_error(DTF_ERR_USAGE, "the rank must be at least 1, not %d", R);
  m->nmodes = g->nmodes;
  memcpy(m->dims, g->dims, sizeof m->dims);
  m->R = R;
  m->lambda = malloc((size_t)R * sizeof(double));
  if (!m->lambda) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int r = 0; r < R; r++) m->lambda[r] = 1.0;
  for (int n = 0; n < g->nmodes; n++) {
    dtf_status st = dtf_factor_init(g, n, R, &m->factors[n]);
    if (st) {
      dtf_cp_model_free(m);
      return st;
    }
  }
  return DTF_OK;
}

void dtf_cp_model_free(dtf_cp_model_t *m) {
  for (int n = 0; n < m->nmodes; n++) dtf_factor_free(&m->factors[n]);
  free(m->lambda);
  m->lambda = NULL;
}

void dtf_cp_model_describe(dtf_cp_model_t *m, dtf_state_t *s) {
  dtf_state_int(s, "rank", DTF_ATTR_OPTION, "--rank", m->R);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, m->fit);
  dtf_state_int(s, "iterations", DTF_ATTR_STATE, NULL, m->iterations);
  dtf_state_replicated(s, "lambda", m->R, 0, m->lambda);
  for (int n = 0; n < m->nmodes; n++) {
    char name[32];
    dtf_factor_t *f = &m->factors[n];
    snprintf(name, sizeof name, "factor_%d", n);
    dtf_state_rows(s, name, f->rows, m->R, f->block_start, f->block_len, f->own_start, f->own_len, f->block);
  }
}

dtf_status dtf_cp_model_check(const dtf_grid_t *g, const dtf_cp_model_t *m, const char *what) {
  dtf_status st = DTF_OK;
  int R = m->R;
  int64_t bad = dtf_first_nonfinite(R, m->lambda);
  if (bad >= 0)
    st = dtf_error(DTF_ERR_NUMERIC, "%s has the value %g in lambda (entry %lld): not a usable model", what,
                   m->lambda[bad], (long long)bad);
  for (int n = 0; !st && n < m->nmodes; n++) {
    const dtf_factor_t *f = &m->factors[n];
    bad = dtf_first_nonfinite(f->own_len * R, dtf_factor_owned(f));
    if (bad >= 0)
      st = dtf_error(DTF_ERR_NUMERIC,
                     "%s has the value %g in factor_%d (row %lld, column %lld): not a usable model", what,
                     dtf_factor_owned(f)[bad], n, (long long)(f->own_start + bad / R), (long long)(bad % R));
  }
  return dtf_agree(g->comm, st);
}

dtf_status dtf_cp_fit(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_cp_model_t *m, double *fit) {
  int N = m->nmodes, R = m->R, last = N - 1;
  int64_t RR = (int64_t)R * R;
  double *buf = malloc((size_t)(N * RR + 1) * sizeof(double));
  double *mloc = malloc((size_t)(m->factors[last].block_len * R + 1) * sizeof(double));
  double *ls = malloc((size_t)R * sizeof(double));
  double norm = 0;
  dtf_status st = (buf && mloc && ls) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_tensor_norm(g, t, &norm);
  if (!st && !(norm > 0.0)) st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: the fit is undefined");
  /* X' = scale X and M' = M / 2^el near 1 (lambda carries a model's scale): scale M = 2^K M' */
  double scale = dtf_pow2_scale(norm), most = 0;
  for (int r = 0; r < R; r++) most = fmax(most, fabs(m->lambda[r]));
  int el = dtf_pow2_exponent(most), K = el - dtf_pow2_exponent(norm);
  if (!st) {
    const double *F[DTF_MAX_MODES];
    uint64_t v[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) {
      F[n] = m->factors[n].block;
      v[n] = dtf_tensor_next_version();
      dtf_gram(m->factors[n].own_len, R, dtf_factor_owned(&m->factors[n]), buf + n * RR);
    }
    for (int r = 0; r < R; r++) ls[r] = ldexp(m->lambda[r], -el);
    st = t->ops->mttkrp(t, last, F, v, R, mloc);
    /* <X', M'>, a sum over every rank's block: no reduce-scatter needed */
    double ip = 0.0;
    for (int64_t i = 0; i < m->factors[last].block_len; i++)
      for (int r = 0; r < R; r++) ip += ls[r] * F[last][i * R + r] * (mloc[i * R + r] * scale);
    buf[N * RR] = ip;
    st = dtf_agree(g->comm, st);
  }
  if (!st) st = dtf_allreduce_sum(g->comm, buf, N * RR + 1, NULL);
  if (!st) {
    const double *G[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) G[n] = buf + n * RR;
    double nx2 = (norm * scale) * (norm * scale), nm2 = dtf_cp_norm2(N, R, ls, G);
    *fit = dtf_fit_scaled(nx2, nm2, buf[N * RR], K);
    if (!isfinite(*fit)) st = dtf_fit_not_finite(*fit);
  }
  free(buf);
  free(mloc);
  free(ls);
  return st;
}

dtf_status dtf_cp_fms(const dtf_grid_t *g, const dtf_cp_model_t *a, const dtf_cp_model_t *b, double *score) {
  int N = a->nmodes, Ra = a->R, Rb = b->R;
  int64_t per = (int64_t)Ra * Rb + Ra + Rb;
  double *buf = calloc((size_t)(N * per), sizeof(double));
  double *S = malloc((size_t)Ra * Rb * sizeof(double));
  char *ua = calloc((size_t)Ra, 1), *ub = calloc((size_t)Rb, 1);
  dtf_status st = (buf && S && ua && ub) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st && N != b->nmodes) st = dtf_error(DTF_ERR_INPUT, "the models have different numbers of modes");
  for (int n = 0; !st && n < N; n++) {
    const dtf_factor_t *fa = &a->factors[n], *fb = &b->factors[n];
    double *C = buf + n * per, *na = C + (int64_t)Ra * Rb, *nb = na + Ra;
    dtf_cross(fa->own_len, Ra, dtf_factor_owned(fa), Rb, dtf_factor_owned(fb), C);
    for (int64_t i = 0; i < fa->own_len; i++) {
      for (int r = 0; r < Ra; r++)
        na[r] += dtf_factor_owned(fa)[i * Ra + r] * dtf_factor_owned(fa)[i * Ra + r];
      for (int r = 0; r < Rb; r++)
        nb[r] += dtf_factor_owned(fb)[i * Rb + r] * dtf_factor_owned(fb)[i * Rb + r];
    }
  }
  if (!st) st = dtf_allreduce_sum(g->comm, buf, N * per, NULL);
  if (!st) {
    for (int r = 0; r < Ra; r++)
      for (int s = 0; s < Rb; s++) {
        double v = 1.0;
        for (int n = 0; n < N; n++) {
          const double *C = buf + n * per, *na = C + (int64_t)Ra * Rb, *nb = na + Ra;
          double d = sqrt(na[r] * nb[s]);
          v *= d > 0 ? fabs(C[r * Rb + s]) / d : 0.0;
        }
        S[r * Rb + s] = v;
      }
    /* greedy matching: take the best remaining pair until one side runs out */
    int pairs = Ra < Rb ? Ra : Rb;
    double total = 0.0;
    for (int k = 0; k < pairs; k++) {
      int br = -1, bs = -1;
      for (int r = 0; r < Ra; r++)
        for (int s = 0; s < Rb; s++)
          if (!ua[r] && !ub[s] && (br < 0 || S[r * Rb + s] > S[br * Rb + bs])) {
            br = r;
            bs = s;
          }
      ua[br] = ub[bs] = 1;
      total += S[br * Rb + bs];
    }
    *score = total / (Ra > Rb ? Ra : Rb);
  }
  free(buf);
  free(S);
  free(ua);
  free(ub);
  return st;
}

/* ---- the "cp" model kind ---- */

static dtf_status cp_create(const dtf_grid_t *g, const dtf_state_t *h, const char *file, void **out,
                            dtf_state_t *fields) {
  int64_t R = 0;
  *out = NULL;
  if (dtf_state_get_int(h, "rank", &R) || R < 1 || R > 1000000)
    return dtf_error(DTF_ERR_INPUT, "'%s': attribute 'rank' is missing or invalid", file);
  dtf_cp_model_t *m = calloc(1, sizeof *m);
  if (!m) return dtf_error(DTF_ERR_INPUT, "out of memory");
  dtf_status st = dtf_cp_model_init(g, (int)R, m);
  if (st) {
    free(m);
    return st;
  }
  dtf_model_progress(h, &m->fit, &m->iterations);
  dtf_state_init(fields, h->solver, "cp", 0, g->nmodes, g->dims);
  dtf_cp_model_describe(m, fields);
  *out = m;
  return DTF_OK;
}

static dtf_status cp_check(const dtf_grid_t *g, void *m, const char *file) {
  char what[4200];
  snprintf(what, sizeof what, "model '%s'", file);
  return dtf_cp_model_check(g, m, what);
}

static dtf_status cp_fit(const dtf_grid_t *g, dtf_tensor_t *t, const void *m, double *fit) {
  return dtf_cp_fit(g, t, m, fit);
}

void dtf_cp_model_predict(const dtf_cp_model_t *m, int64_t count, const int64_t *inds, double *x) {
  enum { BLOCK = 64 }; /* components at a time: the products vectorise over r */
  int N = m->nmodes, R = m->R;
  for (int64_t k = 0; k < count; k++) {
    const int64_t *ix = inds + k * N;
    double s = 0, h[BLOCK];
    for (int r0 = 0; r0 < R; r0 += BLOCK) {
      int rc = R - r0 < BLOCK ? R - r0 : BLOCK;
      const double *a = m->factors[0].block + ix[0] * R + r0;
      for (int r = 0; r < rc; r++) h[r] = m->lambda[r0 + r] * a[r];
      for (int n = 1; n < N; n++) {
        a = m->factors[n].block + ix[n] * R + r0;
        for (int r = 0; r < rc; r++) h[r] *= a[r];
      }
      for (int r = 0; r < rc; r++) s += h[r];
    }
    x[k] = s;
  }
}

static void cp_predict(const void *model, int64_t count, const int64_t *inds, double *x) {
  dtf_cp_model_predict(model, count, inds, x);
}

static void cp_destroy(void *m) {
  if (!m) return;
  dtf_cp_model_free(m);
  free(m);
}

const dtf_model_ops_t dtf_cp_model_ops = {"cp", cp_create, cp_check, cp_fit, cp_predict, cp_destroy};
