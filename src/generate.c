/* Synthetic dense tensors from planted normal factors plus Gaussian noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/generate.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"

dtf_status dtf_generate_dense(const dtf_grid_t *g, int R, double noise, uint64_t seed, double **local,
                              dtf_cp_model_t *truth) {
  *local = NULL;
  if (R < 1) return dtf_error(DTF_ERR_USAGE, "--rank must be at least 1, not %d", R);
  if (!(noise >= 0) || !isfinite(noise))
    return dtf_error(DTF_ERR_USAGE, "--noise must be >= 0, not %g", noise);
  int N = g->nmodes;
  dtf_cp_model_t m;
  dtf_status st = dtf_cp_model_init(g, R, &m);
  int64_t n = 1;
  for (int k = 0; k < N; k++) n *= g->len[k];
  double *X = NULL, *work = NULL;
  if (!st) {
    X = dtf_alloc_large((size_t)n * sizeof(double));
    work = malloc((size_t)dtf_cp_full_work(N, g->len, R) * sizeof(double));
    if (!X || !work)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for a %.1f MiB block", (double)n * 8 / 1048576.0);
  }
  st = dtf_agree(g->comm, st);
  if (st) {
    free(X);
    free(work);
    if (m.lambda) dtf_cp_model_free(&m);
    return st;
  }
  const double *F[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) {
    dtf_factor_fill_normal(&m.factors[k], seed, DTF_STREAM_TRUTH);
    F[k] = m.factors[k].block;
  }
  dtf_cp_full(N, g->len, F, R, work, X);
  free(work);
  if (noise > 0) {
    int64_t bad;
    double ss = dtf_sum_squares(n, X, &bad);
    st = dtf_allreduce_sum(g->comm, &ss, 1, NULL);
    double total = 1;
    for (int k = 0; k < N; k++) total *= (double)g->dims[k];
    double sd = noise * sqrt(ss / total);
    /* walk the local block in C order, tracking the global linear index */
    int64_t sub[DTF_MAX_MODES] = {0}, stride[DTF_MAX_MODES];
    stride[N - 1] = 1;
    for (int k = N - 2; k >= 0; k--) stride[k] = stride[k + 1] * g->dims[k + 1];
    for (int64_t i = 0; i < n; i++) {
      int64_t gi = 0;
      for (int k = 0; k < N; k++) gi += (g->start[k] + sub[k]) * stride[k];
      X[i] += sd * dtf_rng_normal(seed, DTF_STREAM_NOISE, (uint64_t)gi, 0);
      for (int k = N - 1; k >= 0 && ++sub[k] == g->len[k]; k--) sub[k] = 0;
    }
  }
  *local = X;
  if (!truth) {
    dtf_cp_model_free(&m);
    return st;
  }
  /* unit-norm columns, the norms multiplied into lambda, as in a fitted model */
  double *norms = calloc((size_t)(N * R), sizeof(double));
  if (!norms) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int k = 0; k < N; k++) {
    const dtf_factor_t *f = &m.factors[k];
    const double *A = dtf_factor_owned(f);
    for (int64_t i = 0; i < f->own_len; i++)
      for (int r = 0; r < R; r++) norms[k * R + r] += A[i * R + r] * A[i * R + r];
  }
  if (!st) st = dtf_allreduce_sum(g->comm, norms, N * R, NULL);
  for (int r = 0; r < R; r++) m.lambda[r] = 1.0;
  for (int k = 0; k < N; k++)
    for (int r = 0; r < R; r++) {
      double s = sqrt(norms[k * R + r]);
      m.lambda[r] *= s;
      for (int64_t i = 0; i < m.factors[k].block_len; i++)
        m.factors[k].block[i * R + r] = s > 0 ? m.factors[k].block[i * R + r] / s : 0.0;
    }
  free(norms);
  *truth = m;
  return st;
}
