/* The distributed CP model: allocation, fit against a tensor, factor match score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/cp.h"
#include "dtf/kernels.h"

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

dtf_status dtf_cp_fit(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_cp_model_t *m, double *fit) {
  int N = m->nmodes, R = m->R, last = N - 1;
  int64_t RR = (int64_t)R * R;
  double *buf = malloc((size_t)(N * RR + 2) * sizeof(double));
  double *mloc = malloc((size_t)(m->factors[last].block_len * R + 1) * sizeof(double));
  dtf_status st = (buf && mloc) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st) {
    const double *F[DTF_MAX_MODES];
    uint64_t v[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) {
      F[n] = m->factors[n].block;
      v[n] = dtf_tensor_next_version();
      dtf_gram(m->factors[n].own_len, R, dtf_factor_owned(&m->factors[n]), buf + n * RR);
    }
    st = t->ops->mttkrp(t, last, F, v, R, mloc);
    /* <X, M> is a sum over every rank's block: no reduce-scatter needed */
    double ip = 0.0;
    for (int64_t i = 0; i < m->factors[last].block_len; i++)
      for (int r = 0; r < R; r++) ip += m->lambda[r] * F[last][i * R + r] * mloc[i * R + r];
    buf[N * RR] = ip;
    buf[N * RR + 1] = t->ops->sum_squares(t);
  }
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce_sum(g->comm, buf, N * RR + 2, NULL);
  if (!st) {
    const double *G[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) G[n] = buf + n * RR;
    double nx2 = buf[N * RR + 1], ip = buf[N * RR], nm2 = dtf_cp_norm2(N, R, m->lambda, G);
    if (nx2 <= 0.0)
      st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: the fit is undefined");
    else
      *fit = 1.0 - sqrt(fmax(0.0, nx2 + nm2 - 2.0 * ip)) / sqrt(nx2);
  }
  free(buf);
  free(mloc);
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
