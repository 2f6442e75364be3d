/* The model kinds dtf reads: each a table of functions (include/dtf/model.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/kernels.h"
#include "dtf/model.h"
#include "dtf/observed.h"
#include "dtf/status.h"

extern const dtf_model_ops_t dtf_cp_model_ops, dtf_tr_model_ops, dtf_tucker_model_ops;

static const dtf_model_ops_t *const kinds[] = {&dtf_cp_model_ops, &dtf_tr_model_ops, &dtf_tucker_model_ops};

const dtf_model_ops_t *dtf_model_kind(const char *name) {
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (!strcmp(kinds[k]->name, name)) return kinds[k];
  return NULL;
}

dtf_status dtf_model_ranks_attr(const dtf_state_t *h, const char *name, int n, const int64_t *limit,
                                int64_t most, const char *file, int *ranks) {
  const dtf_attr_t *a = dtf_state_attr(h, name);
  if (!a || a->type != DTF_ATTR_INTS || a->n != n)
    return dtf_error(DTF_ERR_INPUT, "'%s': attribute '%s' (one per mode) is missing or invalid", file, name);
  for (int k = 0; k < n; k++) {
    int64_t hi = limit ? limit[k] : most;
    if (a->ints[k] < 1 || a->ints[k] > hi)
      return dtf_error(DTF_ERR_INPUT, "'%s': %s[%d] is %lld; it must be from 1 to %lld", file, name, k,
                       (long long)a->ints[k], (long long)hi);
    ranks[k] = (int)a->ints[k];
  }
  return DTF_OK;
}

void dtf_model_progress(const dtf_state_t *h, double *fit, int *iterations) {
  double f = 0;
  int64_t it = 0;
  dtf_state_get_real(h, "fit", &f);
  dtf_state_get_int(h, "iterations", &it);
  *fit = f;
  *iterations = (int)it;
}

dtf_status dtf_fit_not_finite(double fit) {
  if (fit < 0)
    return dtf_error(DTF_ERR_NUMERIC,
                     "the fit is below -1e308: the model's norm is more than 1e308 times the "
                     "tensor's (a model of data in other units?)");
  return dtf_error(DTF_ERR_NUMERIC, "the fit is not finite (the model's ||M|| or <X, M> is not a number)");
}

/* ---- offsets ---------------------------------------------------------------------------- */

static int has_field(const dtf_state_t *h, const char *name) {
  for (int k = 0; k < h->nfields; k++)
    if (!strcmp(h->fields[k].name, name)) return 1;
  return 0;
}

dtf_status dtf_model_bias_fields(const dtf_grid_t *g, const dtf_state_t *h, const char *file,
                                 dtf_model_bias_t *b, dtf_state_t *fields) {
  memset(b, 0, sizeof *b);
  if (!has_field(h, "bias")) return DTF_OK;
  b->on = 1;
  b->nmodes = g->nmodes;
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < g->nmodes; n++) {
    char name[32];
    snprintf(name, sizeof name, "bias_%d", n);
    if (!has_field(h, name))
      st = dtf_error(DTF_ERR_INPUT, "'%s' has the offset 'bias' but no dataset '%s'", file, name);
    if (!st) st = dtf_factor_init(g, n, 1, &b->rows[n]);
    if (st) break;
    dtf_factor_t *f = &b->rows[n];
    dtf_state_rows(fields, name, f->rows, 0, f->block_start, f->block_len, f->own_start, f->own_len,
                   f->block);
  }
  dtf_state_replicated(fields, "bias", 1, 0, &b->mu);
  return dtf_agree(g->comm, st);
}

dtf_status dtf_model_bias_check(const dtf_grid_t *g, const dtf_model_bias_t *b, const char *file) {
  dtf_status st = DTF_OK;
  if (b->on && !isfinite(b->mu))
    st = dtf_error(DTF_ERR_NUMERIC, "model '%s' has the value %g in bias", file, b->mu);
  for (int n = 0; !st && b->on && n < b->nmodes; n++) {
    const dtf_factor_t *f = &b->rows[n];
    int64_t at = dtf_first_nonfinite(f->own_len, dtf_factor_owned(f));
    if (at >= 0)
      st = dtf_error(DTF_ERR_NUMERIC, "model '%s' has the value %g in bias_%d (entry %lld, 0-based)", file,
                     dtf_factor_owned(f)[at], n, (long long)(f->own_start + at));
  }
  return dtf_agree(g->comm, st);
}

void dtf_model_bias_add(const dtf_model_bias_t *b, int64_t count, const int64_t *inds, double *x) {
  if (!b || !b->on) return;
  int N = b->nmodes;
  for (int64_t k = 0; k < count; k++) {
    double t = b->mu;
    for (int n = 0; n < N; n++) t += b->rows[n].block[inds[k * N + n]];
    x[k] += t;
  }
}

void dtf_model_bias_free(dtf_model_bias_t *b) {
  for (int n = 0; n < DTF_MAX_MODES; n++)
    if (b->rows[n].block) dtf_factor_free(&b->rows[n]);
  memset(b, 0, sizeof *b);
}

/* the predictions at entries [e0, e0 + m) of t's entries view (global indices gi) */
static void predict_entries(const dtf_grid_t *g, const dtf_model_ops_t *kind, const void *model,
                            const dtf_model_bias_t *b, int64_t m, int64_t *gi, double *x) {
  for (int64_t k = 0; k < m; k++)
    for (int n = 0; n < g->nmodes; n++) gi[k * g->nmodes + n] -= g->start[n];
  kind->predict(model, m, gi, x);
  dtf_model_bias_add(b, m, gi, x);
}

dtf_status dtf_model_fit_cells(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_model_ops_t *kind,
                               const void *model, const dtf_model_bias_t *b, double *fit) {
  int64_t cells = 1;
  for (int k = 0; k < g->nmodes; k++) cells *= g->len[k];
  if (t->ops->zeros_are_data || dtf_observed_view(t) || t->ops->entries(t) != cells)
    return dtf_error(DTF_ERR_INPUT, "the fit of a model with offsets (bias) is computed over every cell of a "
                                    "dense tensor; for the listed entries of a sparse tensor use --test");
  enum { CH = 4096 };
  int N = g->nmodes;
  int64_t *gi = malloc((size_t)CH * N * sizeof(int64_t));
  double *x = malloc(CH * sizeof(double)), *y = malloc(CH * sizeof(double));
  dtf_status st = dtf_agree(g->comm, gi && x && y ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
  int64_t n = st ? 0 : t->ops->entries(t);
  /* two passes: the model's largest value, then the sums over X' and M' of about 1 */
  double most = 0, q[3] = {0, 0, 0};
  for (int64_t e0 = 0; e0 < n; e0 += CH) {
    int64_t m = n - e0 < CH ? n - e0 : CH;
    t->ops->entries_get(t, e0, m, gi, NULL);
    predict_entries(g, kind, model, b, m, gi, x);
    for (int64_t k = 0; k < m; k++) most = fmax(most, fabs(x[k]));
  }
  if (!st) st = dtf_allreduce(g->comm, &most, 1, MPI_DOUBLE, MPI_MAX, NULL);
  double norm = t->ops->norm(t);
  if (!st) st = dtf_allreduce_norm(g->comm, norm, &norm, NULL);
  double xs = dtf_pow2_scale(norm);
  int el = dtf_pow2_exponent(most), K = el - dtf_pow2_exponent(norm);
  for (int64_t e0 = 0; !st && e0 < n; e0 += CH) {
    int64_t m = n - e0 < CH ? n - e0 : CH;
    t->ops->entries_get(t, e0, m, gi, y);
    predict_entries(g, kind, model, b, m, gi, x);
    for (int64_t k = 0; k < m; k++) {
      double a = y[k] * xs, c = ldexp(x[k], -el);
      q[0] += a * a;
      q[1] += c * c;
      q[2] += a * c;
    }
  }
  if (!st) st = dtf_allreduce_sum(g->comm, q, 3, NULL);
  free(gi);
  free(x);
  free(y);
  if (st) return st;
  *fit = dtf_fit_scaled(q[0], q[1], q[2], K);
  return isfinite(*fit) ? DTF_OK : dtf_fit_not_finite(*fit);
}
