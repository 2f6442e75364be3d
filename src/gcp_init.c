/* GCP's initial factors (--init): normal draws, K sweeps of CP-ALS from the same draws,
 * or the leading singular vectors of each mode's unfolding (ST-HOSVD) with the weights
 * that fit them best. The model fitted is of the data times s->scale with unit lambda,
 * so a start's weights are spread over its modes: row r of every factor gets
 * |lambda_r|^(1/N), mode 0 the sign. docs/algorithms.md, "GCP's start". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/rng.h"
#include "dtf/tucker.h"
#include "gcp_impl.h"

int gcp_init_choice(const dtf_tensor_t *t, const dtf_gcp_options_t *o) {
  if (o->init != DTF_GCP_INIT_AUTO) return o->init;
  dtf_gcp_options_t svd = *o;
  svd.init = DTF_GCP_INIT_SVD;
  return !strcmp(t->ops->name, "dense") && !gcp_init_refusal(t, &svd) ? DTF_GCP_INIT_SVD
                                                                      : DTF_GCP_INIT_RANDOM;
}

const char *gcp_init_refusal(const dtf_tensor_t *t, const dtf_gcp_options_t *o) {
  if (o->init == DTF_GCP_INIT_RANDOM) return NULL;
  if (o->init != DTF_GCP_INIT_SVD && o->init != DTF_GCP_INIT_ALS) return "is not one of random, svd, als:K";
  if (o->init == DTF_GCP_INIT_ALS && (o->init_sweeps < 1 || o->init_sweeps > 1000))
    return "needs 1 to 1000 sweeps (als:K)";
  if (strcmp(o->loss->name, "gaussian") && strcmp(o->loss->name, "poisson-identity"))
    return "fits least squares: it starts the gaussian and poisson-identity losses (the others' model "
           "values are on a log or logit scale); use --init random";
  if (t->ops->zeros_are_data)
    return "reads every cell of a dense or sparse tensor; this one is partly observed: use --init random";
  return NULL;
}

/* normal draws keyed by (seed, mode, original row, column), scaled so that the model's
 * values have the loss's scale s->start_scale; a nonnegative loss takes |draws| */
static void random_start(dtf_gcp_t *s) {
  double scale = s->start_scale;
  int N = s->N, R = s->R, nonneg = isfinite(s->opt.loss->lower);
  double c = nonneg ? pow(scale / R, 1.0 / N) / 0.7978845608028654 /* E|z| = sqrt(2/pi) */
                    : pow(scale * scale / R, 0.5 / N);
  for (int n = 0; n < N; n++) {
    dtf_factor_t *f = &s->model.factors[n];
    dtf_factor_fill_normal(f, s->opt.seed, DTF_STREAM_INIT, s->opt.row_labels[n]);
    for (int64_t i = 0; i < f->block_len * R; i++)
      f->block[i] = (nonneg ? fabs(f->block[i]) : f->block[i]) * c;
  }
}

/* column r of mode n's block rows (ld R) times lambda_r spread over the modes */
static void spread(dtf_gcp_t *s, int n, const double *rows, int64_t ld, int cols, const double *lambda) {
  dtf_factor_t *f = &s->model.factors[n];
  int nonneg = isfinite(s->opt.loss->lower);
  for (int r = 0; r < cols; r++) {
    double w = pow(fabs(lambda[r]) * s->scale, 1.0 / s->N) * (n == 0 && lambda[r] < 0 ? -1 : 1);
    for (int64_t i = 0; i < f->block_len; i++) {
      double v = rows[i * ld + r] * w;
      f->block[i * s->R + r] = nonneg ? fabs(v) : v;
    }
  }
}

static dtf_status als_start(dtf_gcp_t *s) {
  dtf_cp_options_t co;
  dtf_cp_options_default(&co);
  co.rank = s->R;
  co.max_iters = s->opt.init_sweeps;
  co.tol = 0;
  co.seed = s->opt.seed;
  memcpy(co.row_labels, s->opt.row_labels, sizeof co.row_labels);
  co.max_mem = s->opt.max_mem;
  co.log = s->opt.log;
  co.ctx = s->opt.ctx;
  dtf_cp_als_t *als = NULL;
  dtf_status st = dtf_cp_als_init(s->grid, s->t, &co, &als);
  for (int k = 0; !st && k < s->opt.init_sweeps; k++) st = dtf_cp_als_iterate(als, NULL);
  for (int n = 0; !st && n < s->N; n++)
    spread(s, n, als->model.factors[n].block, s->R, s->R, als->model.lambda);
  if (als) {
    s->comm.bytes_sent += als->comm.bytes_sent;
    s->comm.bytes_uncompressed += als->comm.bytes_uncompressed;
  }
  dtf_cp_als_free(als);
  return st;
}

/* ST-HOSVD of rank min(R, I_n) in each mode: factor n's first columns are U_n's block
 * rows, lambda_r the core's diagonal entry (r, .., r) (the least-squares weight of
 * orthonormal columns); a column beyond the core's shape keeps its random start */
static dtf_status svd_start(dtf_gcp_t *s) {
  int N = s->N, R = s->R, shape[DTF_MAX_MODES], diag = R;
  dtf_tucker_t *tk = NULL;
  dtf_status st =
      dtf_tucker_cp_start(s->grid, s->t, R, s->opt.seed, s->opt.max_mem, s->opt.log, s->opt.ctx, &tk, shape);
  for (int n = 0; n < N; n++)
    if (shape[n] < diag) diag = shape[n];
  if (!st) {
    dtf_tucker_summary_t sm;
    dtf_tucker_summary(tk, &sm);
    double *lambda = calloc((size_t)R, sizeof(double));
    if (!lambda) st = dtf_error(DTF_ERR_INPUT, "out of memory");
    for (int r = 0; !st && r < diag; r++) {
      int64_t at = 0;
      for (int n = 0; n < N; n++) at = at * shape[n] + r;
      lambda[r] = sm.model->core[at];
    }
    for (int n = 0; !st && n < N; n++) {
      const dtf_factor_t *f = &s->model.factors[n];
      spread(s, n, sm.model->factors[n] + f->block_start * shape[n], shape[n], diag, lambda);
    }
    free(lambda);
  }
  dtf_tucker_free(tk);
  return st;
}

dtf_status gcp_start(dtf_gcp_t *s) {
  random_start(s);
  if (s->opt.init == DTF_GCP_INIT_ALS) return als_start(s);
  if (s->opt.init == DTF_GCP_INIT_SVD) return svd_start(s);
  return DTF_OK;
}
