/* The offsets of the EM driver (--bias): x(i) = mu + sum_n o_n(i_n) + the model's
 * predictor, on the likelihood's link scale. mu is one number, o_n a column of I_n
 * numbers distributed like a factor's rows, each entry with the prior N(0, 1 / lam_n).
 * Each o_n is one more block of the sweep (a design row of one constant 1), updated
 * before the model's block n from the same E-step statistics; its mean then moves into
 * mu (the predictions do not change), so that the prior shrinks the row effects, not the
 * overall level. docs/algorithms.md, "Offsets". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_impl.h"

/* The prior precision of the offsets' entries stays within this (data scaled to unit RMS):
 * a column of zeros would send it to infinity. */
#define MAX_PRECISION 1e12

dtf_status em_bias_create(dtf_em_t *s, double mu) {
  s->off.on = 1;
  s->off.mu = mu;
  s->off.nmodes = s->grid->nmodes;
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < s->grid->nmodes; n++) {
    st = dtf_factor_init(s->grid, n, 1, &s->off.rows[n]);
    if (!st) st = dtf_factor_init(s->grid, n, 1, &s->offvar[n]);
    if (!st) st = dtf_factor_init(s->grid, n, 1, &s->offfile[n]);
    s->lam[n] = 1.0;
  }
  return st;
}

void em_bias_free(dtf_em_t *s) {
  dtf_model_bias_free(&s->off);
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    if (s->offvar[n].block) dtf_factor_free(&s->offvar[n]);
    if (s->offfile[n].block) dtf_factor_free(&s->offfile[n]);
  }
}

void em_bias_at(const dtf_em_t *s, int64_t count, const int64_t *inds, double *o) {
  memset(o, 0, (size_t)count * sizeof(double));
  dtf_model_bias_add(&s->off, count, inds, o);
}

dtf_status em_bias_estep(dtf_em_t *s, int n, int bid) {
  const dtf_observed_view_t *v = s->v;
  const dtf_factor_t *f = &s->off.rows[n];
  int N = v->nmodes;
  memset(s->loc, 0, (size_t)(f->block_len * 2) * sizeof(double));
  memset(s->touched, 0, (size_t)f->block_len);
  const int64_t *pos = bid < 0 ? NULL : s->bpos[n] + s->bstart[n][bid];
  int64_t count = bid < 0 ? v->nnz : s->bstart[n][bid + 1] - s->bstart[n][bid];
  const double *y = v->row_vals[n];
  for (int64_t k0 = 0; k0 < count; k0 += CHUNK) {
    int64_t m = count - k0 < CHUNK ? count - k0 : CHUNK;
    for (int64_t k = 0; k < m; k++) {
      int64_t e = pos ? pos[k0 + k] : k0 + k;
      memcpy(s->pinds + k * N, v->row_inds[n] + e * N, N * sizeof(int64_t));
      s->y[k] = s->c[k] = y[e] * s->scale;
      s->w[k] = 1;
    }
    s->mops->predict(s->model, m, s->pinds, s->x);
    dtf_model_bias_add(&s->off, m, s->pinds, s->x);
    if (s->lik->weights) s->lik->weights(m, s->y, s->x, s->w, s->c);
    /* the working response of the entry less everything but this offset */
    for (int64_t k = 0; k < m; k++) {
      int64_t i = s->pinds[k * N + n];
      s->loc[2 * i] += s->w[k];
      s->loc[2 * i + 1] += s->c[k] - s->w[k] * (s->x[k] - f->block[i]);
      s->touched[i] = 1;
    }
  }
  return DTF_OK;
}

dtf_status em_bias_center(dtf_em_t *s, int n) {
  dtf_factor_t *f = &s->off.rows[n];
  double sum = 0;
  const double *o = dtf_factor_owned(f);
  for (int64_t i = 0; i < f->own_len; i++) sum += o[i];
  dtf_status st = dtf_allreduce_sum(s->grid->comm, &sum, 1, &s->comm);
  if (st) return st;
  double m = sum / (double)s->grid->dims[n];
  for (int64_t i = 0; i < f->block_len; i++) f->block[i] -= m;
  s->off.mu += m;
  return DTF_OK;
}

dtf_status em_bias_update_prior(dtf_em_t *s) {
  int N = s->grid->nmodes;
  double q[DTF_MAX_MODES] = {0};
  for (int n = 0; n < N; n++) {
    const double *o = dtf_factor_owned(&s->off.rows[n]), *v = dtf_factor_owned(&s->offvar[n]);
    for (int64_t i = 0; i < s->off.rows[n].own_len; i++) q[n] += o[i] * o[i] + v[i];
  }
  dtf_status st = dtf_allreduce_sum(s->grid->comm, q, N, &s->comm);
  /* the mode of lam_n's conditional under a Gamma(1, 1e-6) hyperprior */
  for (int n = 0; !st && n < N; n++)
    s->lam[n] = fmin(0.5 * (double)s->grid->dims[n] / (1e-6 + 0.5 * q[n]), MAX_PRECISION);
  return st;
}

void em_bias_describe(dtf_em_t *s, int checkpoint, double unscale, dtf_state_t *out) {
  /* bias and bias_n in the data's units, for every reader (a checkpoint too is a model
   * eval and predict read); a checkpoint adds them as the run holds them, read back in
   * place (bias_state, bias_state_n: a product with the scale and back is not exact) */
  s->mu_file = s->off.mu * unscale;
  dtf_state_replicated(out, "bias", 1, 0, &s->mu_file);
  if (checkpoint) dtf_state_replicated(out, "bias_state", 1, 0, &s->off.mu);
  for (int n = 0; n < s->grid->nmodes; n++) {
    dtf_factor_t *f = &s->off.rows[n], *file = &s->offfile[n], *v = &s->offvar[n];
    char name[32];
    for (int64_t i = 0; i < f->block_len; i++) file->block[i] = f->block[i] * unscale;
    snprintf(name, sizeof name, "bias_%d", n);
    dtf_state_rows(out, name, f->rows, 0, f->block_start, f->block_len, f->own_start, f->own_len,
                   file->block);
    if (!checkpoint) continue;
    snprintf(name, sizeof name, "bias_state_%d", n);
    dtf_state_rows(out, name, f->rows, 0, f->block_start, f->block_len, f->own_start, f->own_len, f->block);
    snprintf(name, sizeof name, "bias_variance_%d", n);
    dtf_state_rows(out, name, v->rows, 0, v->block_start, v->block_len, v->own_start, v->own_len, v->block);
  }
  if (checkpoint) dtf_state_replicated(out, "bias_precision", s->grid->nmodes, 0, s->lam);
}
