/* The tensor-ring model of the completion solvers: x(i) = trace(G_1[i_1] ... G_N[i_N]),
 * each core entry G_n[a, i, b] ~ N(0, 1 / (tau_{n,a} tau_{n+1,b})), where bond n (the
 * index shared by cores n-1 and n) has a multiplicative gamma process over its
 * components, tau_{n,r} = delta_{n,1} ... delta_{n,r}, as in the Bayesian tensor ring of
 * Tao, Tanaka and Zhao: later components of every bond shrink harder, and components the
 * data do not need fall away, so each bond finds its rank. The cores are point estimates
 * (the EM of the reference: the E-step is over the likelihood's latent variables, the
 * Polya-Gamma weights), so the statistics are the design rows' Gram, not expected second
 * moments. Each row keeps its posterior covariance (the inverse of its normal equations)
 * for the prior only: the expected squares of the cores, mean^2 + variance, set the
 * bonds' shrinkage; with the squares of the means alone (MAP) a planted ring's extra
 * components kept 5 to 40% of the strongest's weight and fitted the noise. Block n of the EM driver is core
 * n; a row's design row is the transposed subchain of the other cores (kernels.h, dtf_tr_design). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/em.h"
#include "dtf/kernels.h"
#include "dtf/rng.h"
#include "dtf/tr.h"

typedef struct {
  const dtf_grid_t *g;
  int N, als;
  dtf_tr_model_t m;                /* m.ranks: the current bond ranks */
  dtf_factor_t cov[DTF_MAX_MODES]; /* each core row's posterior covariance, packed (not under ALS) */
  int start[DTF_MAX_MODES];
  double *delta[DTF_MAX_MODES], *tau[DTF_MAX_MODES]; /* per bond, into: */
  double *delta_all, *tau_all;                       /* every bond's, bond after bond */
  double a1, a2;
  double *work;  /* the kernels' */
  double *norms; /* per bond: 4 x R: weighted and plain squared norms of the two cores' slices */
  int64_t nnorms;
} tr_em_t;

static int bond(const tr_em_t *c, int n) { return c->m.ranks[((n % c->N) + c->N) % c->N]; }

static void free_parts(tr_em_t *c) {
  free(c->delta_all);
  free(c->tau_all);
  free(c->work);
  free(c->norms);
  c->delta_all = c->tau_all = c->work = c->norms = NULL;
}

/* prior and workspaces for the current bond ranks */
static dtf_status alloc_parts(tr_em_t *c) {
  free_parts(c);
  int64_t work = 1, total = 0;
  for (int n = 0; n < c->N; n++) {
    int64_t w = dtf_tr_rows_gram_work(c->N, c->m.ranks, n);
    if (w > work) work = w;
    total += bond(c, n);
  }
  c->nnorms = 4 * total;
  c->work = malloc((size_t)work * sizeof(double));
  c->norms = malloc((size_t)c->nnorms * sizeof(double));
  c->delta_all = malloc((size_t)total * sizeof(double));
  c->tau_all = malloc((size_t)total * sizeof(double));
  for (int n = 0, k = 0; n < c->N; n++) {
    c->delta[n] = c->delta_all + k;
    c->tau[n] = c->tau_all + k;
    k += bond(c, n);
  }
  return c->work && c->norms && c->delta_all && c->tau_all ? DTF_OK
                                                           : dtf_error(DTF_ERR_INPUT, "out of memory");
}

static void free_cov(tr_em_t *c) {
  for (int n = 0; n < c->N; n++)
    if (c->cov[n].block) dtf_factor_free(&c->cov[n]);
  memset(c->cov, 0, sizeof c->cov);
}

/* zero covariances for the current bond ranks */
static dtf_status init_cov(tr_em_t *c) {
  free_cov(c);
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < c->N && !c->als; n++)
    st = dtf_factor_init(c->g, n, (int)dtf_packed_size(bond(c, n) * bond(c, n + 1)), &c->cov[n]);
  return st;
}

/* position of (j, k) in a packed symmetric matrix of order D */
static int64_t packed_at(int D, int j, int k) {
  if (j > k) {
    int t = j;
    j = k;
    k = t;
  }
  return (int64_t)j * D - (int64_t)j * (j - 1) / 2 + (k - j);
}

static void destroy(void *model) {
  tr_em_t *c = model;
  if (!c) return;
  free_cov(c);
  dtf_tr_model_free(&c->m);
  free_parts(c);
  free(c);
}

static void start_ranks(const dtf_grid_t *g, const dtf_em_options_t *o, int *r) {
  for (int n = 0; n < g->nmodes; n++) r[n] = o->bond_ranks[n] > 0 ? o->bond_ranks[n] : o->rank;
}

static double memory(const dtf_grid_t *g, const dtf_em_options_t *o, int *width) {
  int r[DTF_MAX_MODES], N = g->nmodes;
  start_ranks(g, o, r);
  double bytes = 0;
  *width = 1;
  for (int n = 0; n < N; n++) {
    int D = r[n] * r[(n + 1) % N];
    if (D > *width) *width = D;
    bytes += (double)g->len[n] * D * 8 * 2 + (double)dtf_tr_rows_gram_work(N, r, n) * 8 + 6.0 * r[n] * 8;
    if (o->algorithm != DTF_EM_ALS) bytes += (double)g->len[n] * D * (D + 1) / 2 * 8;
  }
  return bytes;
}

static dtf_status create(const dtf_grid_t *g, const dtf_em_options_t *o, double scale, void **model) {
  *model = NULL;
  tr_em_t *c = calloc(1, sizeof *c);
  if (!c) return dtf_error(DTF_ERR_INPUT, "out of memory");
  c->g = g;
  c->N = g->nmodes;
  c->a1 = o->a1;
  c->a2 = o->a2;
  c->als = o->algorithm == DTF_EM_ALS;
  start_ranks(g, o, c->start);
  dtf_status st = dtf_tr_model_init(g, c->start, &c->m);
  if (!st) st = alloc_parts(c);
  if (!st) st = init_cov(c);
  st = dtf_agree(g->comm, st);
  if (st) {
    destroy(c);
    return st;
  }
  /* normal cores scaled so that a predictor has the RMS `scale`: a trace of products of N
   * R x R matrices of entries of variance s^2 has variance prod_n R_n s^(2N) */
  double paths = 1;
  for (int n = 0; n < c->N; n++) paths *= c->start[n];
  double s = pow(scale / sqrt(paths), 1.0 / c->N);
  for (int n = 0; n < c->N; n++) {
    dtf_factor_t *f = &c->m.cores[n];
    dtf_factor_fill_normal(f, o->seed, DTF_STREAM_INIT, NULL);
    for (int64_t i = 0; i < f->block_len * f->R; i++) f->block[i] *= s;
    for (int r = 0; r < c->start[n]; r++) c->delta[n][r] = c->tau[n][r] = 1.0;
  }
  *model = c;
  return DTF_OK;
}

static int nblocks(const void *model) { return ((const tr_em_t *)model)->N; }

static dtf_factor_t *block(void *model, int b) { return &((tr_em_t *)model)->m.cores[b]; }

static dtf_factor_t *covariance(void *model, int b) {
  tr_em_t *c = model;
  return c->als ? NULL : &c->cov[b];
}

static dtf_status stats(void *model, int b, const dtf_observed_view_t *v, int64_t count, const int64_t *pos,
                        const double *w, const double *cw, double *out, int64_t ldo, unsigned char *touched) {
  tr_em_t *c = model;
  const double *C[DTF_MAX_MODES];
  for (int n = 0; n < c->N; n++) C[n] = c->m.cores[n].block;
  dtf_tr_rows_gram(c->N, b, c->m.cores[b].block_len, v->row_ptr[b], v->row_inds[b], count, pos, w, cw,
                   c->m.ranks, C, out, ldo, touched, c->work);
  return DTF_OK;
}

static void predict(const void *model, int64_t count, const int64_t *inds, double *x) {
  dtf_tr_model_predict(&((const tr_em_t *)model)->m, count, inds, x);
}

/* core b's coefficient (a, e) has precision tau_{b,a} tau_{b+1,e} */
static void prior(const void *model, int b, double *diag) {
  const tr_em_t *c = model;
  int Ra = bond(c, b), Rb = bond(c, b + 1);
  const double *ta = c->tau[b], *tb = c->tau[(b + 1) % c->N];
  for (int a = 0; a < Ra; a++)
    for (int e = 0; e < Rb; e++) diag[a * Rb + e] = ta[a] * tb[e];
}

/* For every bond n, over all ranks: the squared norms of core n-1's slices G[:, :, r] and
 * of core n's slices G[r, :, :]: expected (mean^2 + posterior variance) and weighted by
 * the other index's prior precision (wA, wB), and plain (uA, uB); bond n's four
 * R_n-vectors start at *off[n]. Collective. */
static dtf_status slice_norms(tr_em_t *c, int64_t *off, dtf_comm_stats_t *stats) {
  int N = c->N;
  memset(c->norms, 0, (size_t)c->nnorms * sizeof(double));
  for (int n = 0, k = 0; n < N; n++) {
    off[n] = k;
    k += 4 * bond(c, n);
  }
  for (int n = 0; n < N; n++) {
    const dtf_factor_t *f = &c->m.cores[n];
    int Ra = bond(c, n), Rb = bond(c, n + 1);
    int nb = (n + 1) % N; /* core n's second index is bond n+1's "A" side */
    double *wA = c->norms + off[nb], *uA = wA + 2 * Rb, *wB = c->norms + off[n] + Ra, *uB = wB + 2 * Ra;
    const double *ta = c->tau[n], *tb = c->tau[nb], *G = dtf_factor_owned(f);
    const double *V = c->als ? NULL : dtf_factor_owned(&c->cov[n]);
    int D = Ra * Rb;
    int64_t T = dtf_packed_size(D);
    for (int64_t i = 0; i < f->own_len; i++)
      for (int a = 0; a < Ra; a++)
        for (int e = 0; e < Rb; e++) {
          double g2 = G[(i * Ra + a) * Rb + e] * G[(i * Ra + a) * Rb + e];
          double x2 = g2 + (V ? V[i * T + packed_at(D, a * Rb + e, a * Rb + e)] : 0.0); /* expected square */
          wA[e] += ta[a] * x2;
          uA[e] += g2;
          wB[a] += tb[e] * x2;
          uB[a] += g2;
        }
  }
  return dtf_allreduce_sum(c->g->comm, c->norms, c->nnorms, stats);
}

/* Balance every bond: the slice r of core n-1 (second index) times k, of core n (first
 * index) divided by k, with k^4 = wB / wA, which leaves the predictions and minimises the
 * prior's penalty tau_{n,r} (k^2 wA + wB / k^2). Block n's design coefficient (a, e) is
 * then multiplied by k_{n,a} / k_{n+1,e}. ALS: nothing to balance (no prior). */
static dtf_status balance(void *model, int b, double **rescale, int *changed, dtf_comm_stats_t *stats) {
  tr_em_t *c = model;
  (void)b;
  *changed = 0;
  if (c->als) return DTF_OK;
  int N = c->N;
  int64_t off[DTF_MAX_MODES];
  dtf_status st = slice_norms(c, off, stats);
  if (st) return st;
  double *k[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) {
    int R = bond(c, n);
    dtf_mgp_delta(c->tau[n], c->delta[n], R); /* tau as a checkpoint or a restored copy left it */
    const double *wA = c->norms + off[n], *wB = wA + R;
    k[n] = c->norms + off[n] + 2 * R; /* in place of the plain norms, not needed here */
    double most = 0; /* the bond's largest component: DTF_BALANCE_VANISHED of it, left alone */
    for (int r = 0; r < R; r++) most = fmax(most, sqrt(wA[r] * wB[r]));
    for (int r = 0; r < R; r++) {
      int ok = wA[r] > 0 && wB[r] > 0 && isfinite(wA[r]) && isfinite(wB[r]) &&
               sqrt(wA[r] * wB[r]) > DTF_BALANCE_VANISHED * most;
      k[n][r] = ok ? fmin(fmax(pow(wB[r] / wA[r], 0.25), 1 / DTF_BALANCE_STEP), DTF_BALANCE_STEP) : 1.0;
    }
  }
  for (int n = 0; n < N; n++) {
    dtf_factor_t *f = &c->m.cores[n];
    int Ra = bond(c, n), Rb = bond(c, n + 1);
    const double *ka = k[n], *kb = k[(n + 1) % N];
    for (int64_t i = 0; i < f->block_len; i++)
      for (int a = 0; a < Ra; a++)
        for (int e = 0; e < Rb; e++) f->block[(i * Ra + a) * Rb + e] *= kb[e] / ka[a];
    if (c->cov[n].block) { /* coefficient j = (a, e) was multiplied by kb[e] / ka[a] */
      int D = Ra * Rb;
      int64_t T = dtf_packed_size(D);
      for (int64_t i = 0; i < f->block_len; i++)
        for (int j = 0, q = 0; j < D; j++)
          for (int l = j; l < D; l++, q++)
            c->cov[n].block[i * T + q] *= kb[j % Rb] / ka[j / Rb] * kb[l % Rb] / ka[l / Rb];
    }
    for (int a = 0; a < Ra; a++)
      for (int e = 0; e < Rb; e++) rescale[n][a * Rb + e] = ka[a] / kb[e];
  }
  *changed = 1;
  return DTF_OK;
}

/* Each delta_{n,l} at the mode of its conditional Gamma: shape a_l + cnt_n (R_n - l + 1) / 2
 * (cnt_n the core entries one component of bond n scales: R_{n-1} I_{n-1} + I_n R_{n+1}),
 * rate 1 + 1/2 sum_{r >= l} tau_{n,r} / delta_{n,l} (wA_r + wB_r). A core entry's
 * precision is the product of two bonds' tau, so the weighted norms of a bond depend on
 * its neighbours' tau: the bonds are updated one after the other, each from norms
 * weighted by the neighbours' new values (updated together they oscillated and diverged
 * on a planted ring). */
static dtf_status update_prior(void *model, dtf_comm_stats_t *stats) {
  tr_em_t *c = model;
  int N = c->N;
  int64_t off[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) {
    dtf_status st = slice_norms(c, off, stats);
    if (st) return st;
    int R = bond(c, n);
    dtf_mgp_delta(c->tau[n], c->delta[n], R); /* tau as a checkpoint or a restored copy left it */
    const double *wA = c->norms + off[n], *wB = wA + R;
    double cnt = (double)bond(c, n - 1) * (double)c->g->dims[(n + N - 1) % N] +
                 (double)c->g->dims[n] * (double)bond(c, n + 1);
    for (int l = 0; l < R; l++) {
      double shape = (l == 0 ? c->a1 : c->a2) + 0.5 * cnt * (R - l), rate = 1.0, prod = 1.0;
      for (int r = 0; r < R; r++) {
        if (r != l) prod *= c->delta[n][r];
        if (r >= l) rate += 0.5 * prod * (wA[r] + wB[r]);
      }
      c->delta[n][l] = fmax(shape - 1.0, 1e-12) / rate;
      dtf_mgp_tau(c->delta[n], c->tau[n], R);
    }
  }
  return DTF_OK;
}

static int rank(const void *model) {
  const tr_em_t *c = model;
  int t = 0;
  for (int n = 0; n < c->N; n++) t += bond(c, n);
  return t;
}

static int ranks(const void *model, int *out) {
  const tr_em_t *c = model;
  for (int n = 0; n < c->N; n++) out[n] = bond(c, n);
  return c->N;
}

/* the weight of component r of bond n: the norm of core n-1's slice r times core n's */
static dtf_status weights(void *model, double *w, dtf_comm_stats_t *stats) {
  tr_em_t *c = model;
  int64_t off[DTF_MAX_MODES];
  dtf_status st = slice_norms(c, off, stats);
  for (int n = 0, k = 0; n < c->N; n++) {
    int R = bond(c, n);
    const double *uA = c->norms + off[n] + 2 * R, *uB = uA + R;
    for (int r = 0; r < R; r++) w[k++] = sqrt(uA[r] * uB[r]);
  }
  return st;
}

/* Move every bond n to newR[n] components by the gauge maps Mi[n] (newR x R_n) and M[n]
 * (R_n x newR), both of row stride R_n: core b -> Mi[b] G_b M[b+1], its covariance
 * following (coefficients map by L = Mi[b] (x) M[b+1]^T, V -> L V L^T); component j of
 * bond n keeps the prior of old component from[n][j]. Exact when Mi[n] M[n] is the
 * identity; a truncation otherwise. */
static dtf_status transform(tr_em_t *c, const int *newR, double *const *Mi, double *const *M,
                            int *const *from) {
  int N = c->N;
  dtf_tr_model_t m;
  dtf_factor_t cov[DTF_MAX_MODES];
  memset(cov, 0, sizeof cov);
  dtf_status st = dtf_tr_model_init(c->g, newR, &m);
  for (int n = 0; !st && n < N && !c->als; n++)
    st = dtf_factor_init(c->g, n, (int)dtf_packed_size(newR[n] * newR[(n + 1) % N]), &cov[n]);
  double *L = NULL, *t = NULL, *full = NULL;
  int Dmax = 1;
  for (int n = 0; n < N; n++)
    if (bond(c, n) * bond(c, n + 1) > Dmax) Dmax = bond(c, n) * bond(c, n + 1);
  if (!st && !(L = malloc((size_t)Dmax * Dmax * 3 * sizeof(double))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory");
  if (L) {
    t = L + (int64_t)Dmax * Dmax;
    full = t + (int64_t)Dmax * Dmax;
  }
  for (int b = 0; !st && b < N; b++) {
    const dtf_factor_t *o = &c->m.cores[b];
    dtf_factor_t *f = &m.cores[b];
    int Ra = bond(c, b), Rb = bond(c, b + 1), na = newR[b], nb = newR[(b + 1) % N], Do = Ra * Rb,
        Dn = na * nb;
    const double *Ma = Mi[b], *Mb = M[(b + 1) % N];
    /* L (Dn x Do): (a', e') <- (a, e) with weight Mi[a'][a] M[e][e'] */
    for (int a2 = 0; a2 < na; a2++)
      for (int e2 = 0; e2 < nb; e2++)
        for (int a = 0; a < Ra; a++)
          for (int e = 0; e < Rb; e++)
            L[(int64_t)(a2 * nb + e2) * Do + a * Rb + e] =
                Ma[(int64_t)a2 * Ra + a] * Mb[(int64_t)e * Rb + e2];
    for (int64_t i = 0; i < f->block_len; i++) {
      dtf_matmul(0, 0, Dn, 1, Do, L, o->block + i * Do, f->block + i * Dn);
      if (!cov[b].block) continue;
      const double *V = c->cov[b].block + i * dtf_packed_size(Do);
      for (int j = 0, q = 0; j < Do; j++)
        for (int l = j; l < Do; l++, q++) full[j * Do + l] = full[l * Do + j] = V[q];
      dtf_matmul(0, 0, Dn, Do, Do, L, full, t);
      dtf_matmul(0, 1, Dn, Dn, Do, t, L, full);
      double *W = cov[b].block + i * dtf_packed_size(Dn);
      for (int j = 0, q = 0; j < Dn; j++)
        for (int l = j; l < Dn; l++, q++) W[q] = full[j * Dn + l];
    }
  }
  free(L);
  double *tau = NULL;
  if (!st) {
    int total = 0;
    for (int n = 0; n < N; n++) total += newR[n];
    if (!(tau = malloc((size_t)total * sizeof(double)))) st = dtf_error(DTF_ERR_INPUT, "out of memory");
    for (int n = 0, k = 0; !st && n < N; n++)
      for (int r = 0; r < newR[n]; r++) tau[k++] = c->tau[n][from[n][r]];
  }
  if (st) {
    dtf_tr_model_free(&m);
    for (int n = 0; n < N; n++)
      if (cov[n].block) dtf_factor_free(&cov[n]);
    return st;
  }
  m.fit = c->m.fit;
  m.iterations = c->m.iterations;
  dtf_tr_model_free(&c->m);
  free_cov(c);
  c->m = m;
  memcpy(c->cov, cov, sizeof cov);
  st = alloc_parts(c);
  for (int n = 0, k = 0; !st && n < N; k += newR[n++]) {
    memcpy(c->tau[n], tau + k, (size_t)newR[n] * sizeof(double));
    dtf_mgp_delta(c->tau[n], c->delta[n], newR[n]);
  }
  free(tau);
  return st;
}

/* the selection maps of keeping components keep[n][0..newR[n]) of every bond */
static dtf_status select_components(tr_em_t *c, const int *newR, int *const *keep) {
  int N = c->N;
  double *Mi[DTF_MAX_MODES] = {0}, *M[DTF_MAX_MODES] = {0};
  dtf_status st = DTF_OK;
  for (int n = 0; n < N && !st; n++) {
    int R = bond(c, n);
    Mi[n] = calloc((size_t)R * R, sizeof(double));
    M[n] = calloc((size_t)R * R, sizeof(double));
    if (!Mi[n] || !M[n]) {
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
      break;
    }
    for (int j = 0; j < newR[n]; j++) {
      Mi[n][(int64_t)j * R + keep[n][j]] = 1.0;
      M[n][(int64_t)keep[n][j] * R + j] = 1.0;
    }
  }
  if (!st) st = transform(c, newR, Mi, M, keep);
  for (int n = 0; n < N; n++) {
    free(Mi[n]);
    free(M[n]);
  }
  return st;
}

/* The Gram of core n-1's columns of bond n, P = A^T A (A: core n-1 as (R_{n-1} I_{n-1}) x
 * R_n), and of core n's rows, Q = B B^T (B: core n as R_n x (I_n R_{n+1})), for every
 * bond; and the same with each entry weighted by the prior precision of its other bond
 * (tau_{n-1} for A's rows, tau_{n+1} for B's columns), Pw and Qw, whose diagonals give the
 * prior's penalty of bond n, sum_r tau_{n,r} (Pw_rr + Qw_rr). Over all ranks: bond n's
 * P, Q, Pw, Qw at buf + off[n]. Collective. */
static dtf_status bond_grams(tr_em_t *c, double *buf, int64_t *off, dtf_comm_stats_t *stats) {
  int N = c->N;
  int64_t k = 0;
  for (int n = 0; n < N; n++) {
    off[n] = k;
    k += 4 * (int64_t)bond(c, n) * bond(c, n);
  }
  memset(buf, 0, (size_t)k * sizeof(double));
  for (int n = 0; n < N; n++) {
    const dtf_factor_t *f = &c->m.cores[n];
    int Ra = bond(c, n), Rb = bond(c, n + 1), nb = (n + 1) % N;
    int64_t A2 = (int64_t)Ra * Ra, B2 = (int64_t)Rb * Rb;
    const double *G = dtf_factor_owned(f), *ta = c->tau[n], *tb = c->tau[nb];
    /* core n is bond n+1's A side (its columns) and bond n's B side (its rows) */
    double *P = buf + off[nb], *Pw = P + 2 * B2, *Q = buf + off[n] + A2, *Qw = Q + 2 * A2;
    for (int64_t i = 0; i < f->own_len; i++) {
      const double *g = G + i * Ra * Rb;
      for (int a = 0; a < Ra; a++)
        for (int e = 0; e < Rb; e++)
          for (int e2 = 0; e2 < Rb; e2++) {
            double v = g[a * Rb + e] * g[a * Rb + e2];
            P[e * Rb + e2] += v;
            Pw[e * Rb + e2] += ta[a] * v;
          }
      for (int a = 0; a < Ra; a++)
        for (int a2 = 0; a2 < Ra; a2++)
          for (int e = 0; e < Rb; e++) {
            double v = g[a * Rb + e] * g[a2 * Rb + e];
            Q[a * Ra + a2] += v;
            Qw[a * Ra + a2] += tb[e] * v;
          }
    }
  }
  return dtf_allreduce_sum(c->g->comm, buf, k, stats);
}

/* Bond n in canonical form (the ring's gauge: core n-1 -> core n-1 M, core n -> M^-1 core
 * n leaves every prediction): P^{1/2} Q P^{1/2} = U diag(s^2) U^T, M = P^{-1/2} U
 * diag(s)^{1/2}, so that both Grams become diag(s), s descending: the bond's components
 * are then ordered by their weight s, the MGP's order, and a weak one is dropped by
 * dropping its column of M. keep of them: those with s >= tol s_max (at least one, at
 * most most); M (R x keep) and Minv (keep x R) into the given room, the weakest kept
 * one's s / s_max into *last. Returns keep, 0 on failure. */
static int canonical(int R, const double *P, const double *Q, double tol, int most, double *M, double *Minv,
                     double *work, double *last) {
  double *V = work, *p = V + R * R, *Ph = p + R, *Pih = Ph + R * R, *S = Pih + R * R, *s = S + R * R,
         *t = s + R, *ew = t + R * R;
  memcpy(V, P, (size_t)R * R * sizeof(double));
  if (dtf_sym_eigen(R, V, p, ew)) return 0;
  double pmax = fmax(p[R - 1], 0);
  for (int i = 0; i < R; i++)
    for (int j = 0; j < R; j++) {
      double a = 0, b = 0;
      for (int k = 0; k < R; k++) {
        if (!(p[k] > 1e-13 * pmax)) continue;
        a += V[k * R + i] * sqrt(p[k]) * V[k * R + j];
        b += V[k * R + i] / sqrt(p[k]) * V[k * R + j];
      }
      Ph[i * R + j] = a;
      Pih[i * R + j] = b;
    }
  dtf_matmul(0, 0, R, R, R, Ph, Q, t);
  dtf_matmul(0, 0, R, R, R, t, Ph, S);
  for (int i = 0; i < R; i++) /* symmetric up to rounding */
    for (int j = 0; j < i; j++) S[i * R + j] = S[j * R + i] = 0.5 * (S[i * R + j] + S[j * R + i]);
  if (dtf_sym_eigen(R, S, s, ew)) return 0;
  double smax = sqrt(fmax(s[R - 1], 0));
  if (!(smax > 0)) return 0;
  int keep = 0;
  for (int k = R - 1; k >= 0; k--) { /* descending */
    double sk = sqrt(fmax(s[k], 0));
    if (keep > 0 && (keep == most || !(sk >= tol * smax && sk > 1e-12 * smax))) break;
    *last = sk / smax;
    const double *u = S + (int64_t)k * R; /* eigenvector k */
    double r = sqrt(sk);
    for (int i = 0; i < R;
         i++) { /* column keep of M = P^{-1/2} u sqrt(s); row keep of Minv = u^T P^{1/2} / sqrt(s) */
      double a = 0, b = 0;
      for (int j = 0; j < R; j++) {
        a += Pih[i * R + j] * u[j];
        b += u[j] * Ph[j * R + i];
      }
      M[i * R + keep] = a * r;
      Minv[keep * R + i] = b / r;
    }
    keep++;
  }
  return keep;
}

/* canonical() of a bond from its Grams P, Q (R x R each, one after the other), or, a zero
 * or broken bond, the bond as it is (M and Minv the identity) */
static int bond_form(int R, const double *PQ, double tol, int most, double *M, double *Minv, double *work,
                     double *last) {
  int keep = canonical(R, PQ, PQ + (int64_t)R * R, tol, most, M, Minv, work, last);
  if (keep) return keep;
  *last = INFINITY;
  for (int i = 0; i < R * R; i++) M[i] = Minv[i] = i % (R + 1) == 0;
  return R;
}

/* Per bond: the canonical form above, dropping the components whose weight is below
 * how->tol times the bond's strongest (one always stays), or the one weakest trial. Fusion of split
 * components (how->merge) is CP's: a ring's bond is reduced by its canonical form instead. The design values
 * of block b transform by T_b = M_b^T (x) Minv_{b+1}: core b's first index follows bond b's M, its second
 * bond b+1's Minv. A transform whose M differs from the identity by less than 1e-3 (relative) is not made:
 * the bonds are then canonical enough, and an epoch that moves nothing lets the run converge. */
static dtf_status prune(void *model, const dtf_em_reshape_t *how, int *removed, int *moved, int **keep,
                        double **scale, double **T, int *dense, dtf_comm_stats_t *stats) {
  tr_em_t *c = model;
  int N = c->N, newR[DTF_MAX_MODES];
  (void)keep, (void)scale;
  *removed = *moved = 0, *dense = 1;
  int64_t off[DTF_MAX_MODES], gsize = 0, msize = 0, wsize = 0;
  for (int n = 0; n < N; n++) {
    int64_t R = bond(c, n);
    gsize += 4 * R * R;
    msize += 2 * R * R;
    if (6 * R * R + 3 * R + dtf_sym_eigen_work((int)R) > wsize)
      wsize = 6 * R * R + 3 * R + dtf_sym_eigen_work((int)R);
  }
  double *grams = malloc((size_t)gsize * sizeof(double)), *mats = malloc((size_t)msize * sizeof(double));
  double *work = malloc((size_t)wsize * sizeof(double));
  dtf_status st = grams && mats && work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  st = dtf_agree(c->g->comm, st);
  if (!st) st = bond_grams(c, grams, off, stats);
  double *M[DTF_MAX_MODES], *Minv[DTF_MAX_MODES], last[DTF_MAX_MODES], change = 0;
  int cut = 0;
  for (int n = 0, k = 0; !st && n < N; n++) {
    int R = bond(c, n);
    M[n] = mats + k;
    Minv[n] = M[n] + (int64_t)R * R;
    k += 2 * R * R;
    cut += R - (newR[n] = bond_form(R, grams + off[n], how->tol, R, M[n], Minv[n], work, &last[n]));
  }
  /* nothing below tol: the weakest component of the bonds on trial */
  int w = -1;
  for (int n = 0; !st && how->weakest && !cut && n < N; n++)
    if (newR[n] > 1 && (w < 0 || last[n] < last[w])) w = n;
  if (w >= 0)
    newR[w] = bond_form(bond(c, w), grams + off[w], how->tol, newR[w] - 1, M[w], Minv[w], work, &last[w]);
  for (int n = 0; !st && n < N; n++) {
    int R = bond(c, n);
    const double *Pw = grams + off[n] + 2 * (int64_t)R * R, *Qw = Pw + (int64_t)R * R;
    /* then each kept component balanced for the prior, as balance() does: column r of M
     * times k_r, row r of Minv divided by it, k_r^4 = (Minv Qw Minv^T)_rr / (M^T Pw M)_rr */
    for (int r = 0; r < newR[n]; r++) {
      double wa = 0, wb = 0;
      for (int i = 0; i < R; i++)
        for (int j = 0; j < R; j++) {
          wa += M[n][i * R + r] * Pw[i * R + j] * M[n][j * R + r];
          wb += Minv[n][(int64_t)r * R + i] * Qw[i * R + j] * Minv[n][(int64_t)r * R + j];
        }
      double kr = wa > 0 && wb > 0 ? pow(wb / wa, 0.25) : 1.0;
      for (int i = 0; i < R; i++) {
        M[n][i * R + r] *= kr;
        Minv[n][(int64_t)r * R + i] /= kr;
      }
    }
    *removed += R - newR[n];
    /* M is R x newR with row stride R */
    double big = 1e-300;
    for (int i = 0; i < R; i++)
      for (int j = 0; j < newR[n]; j++) big = fmax(big, fabs(M[n][i * R + j]));
    for (int i = 0; i < R; i++)
      for (int j = 0; j < newR[n]; j++) change = fmax(change, fabs(M[n][i * R + j] - (i == j)) / big);
  }
  if (!st && (*removed || change > 1e-3)) {
    *moved = 1;
    /* T_b (D after x D before) */
    for (int b = 0; b < N; b++) {
      int Ra = bond(c, b), Rb = bond(c, b + 1), na = newR[b], nb = newR[(b + 1) % N];
      const double *Ma = M[b], *Mi = Minv[(b + 1) % N];
      for (int a = 0; a < na; a++)
        for (int e = 0; e < nb; e++)
          for (int x = 0; x < Ra; x++)
            for (int y = 0; y < Rb; y++)
              T[b][((int64_t)a * nb + e) * (Ra * Rb) + x * Rb + y] = Ma[x * Ra + a] * Mi[(int64_t)e * Rb + y];
    }
    int *from[DTF_MAX_MODES], *ids = malloc((size_t)rank(c) * sizeof(int));
    if (!ids) st = dtf_error(DTF_ERR_INPUT, "out of memory");
    for (int n = 0, k = 0; !st && n < N; n++) { /* component j keeps the prior of place j */
      from[n] = ids + k;
      for (int r = 0; r < newR[n]; r++) from[n][r] = r;
      k += newR[n];
    }
    if (!st) st = transform(c, newR, Minv, M, from);
    free(ids);
  }
  free(grams);
  free(mats);
  free(work);
  return st;
}

static dtf_status describe(void *model, int checkpoint, double unscale, dtf_state_t *s) {
  tr_em_t *c = model;
  int N = c->N;
  int64_t r[DTF_MAX_MODES] = {0}, total = 0;
  for (int n = 0; n < N; n++) {
    r[n] = bond(c, n);
    total += r[n];
  }
  if (checkpoint) {
    for (int n = 0; n < N; n++) {
      char name[32];
      dtf_factor_t *f = &c->m.cores[n];
      snprintf(name, sizeof name, "core_rows_%d", n);
      dtf_state_rows(s, name, f->rows, f->R, f->block_start, f->block_len, f->own_start, f->own_len,
                     f->block);
      dtf_factor_t *v = &c->cov[n];
      if (!v->block) continue;
      snprintf(name, sizeof name, "covariance_%d", n);
      dtf_state_rows(s, name, v->rows, v->R, v->block_start, v->block_len, v->own_start, v->own_len,
                     v->block);
    }
    dtf_state_replicated(s, "mgp_delta", total, 0, c->delta_all);
    dtf_state_real(s, "model_scale", DTF_ATTR_STATE, NULL,
                   1 / unscale); /* the cores are of the data times it */
  } else
    dtf_tr_model_describe(&c->m, unscale, s);
  /* the bonds shrink as components are pruned: not an option a resume must match */
  dtf_state_ints(s, "bond_ranks", DTF_ATTR_STATE, NULL, r, N);
  int64_t st[DTF_MAX_MODES] = {0};
  for (int n = 0; n < N; n++) st[n] = c->start[n];
  dtf_state_ints(s, "start_bond_ranks", DTF_ATTR_OPTION, "--ranks", st, N);
  dtf_state_replicated(s, "mgp_tau", total, 0, c->tau_all);
  return DTF_OK;
}

/* the bonds of the checkpoint, each a prefix of this run's */
static dtf_status resize(void *model, const dtf_state_t *file) {
  tr_em_t *c = model;
  const dtf_attr_t *a = dtf_state_attr(file, "bond_ranks");
  int N = c->N, newR[DTF_MAX_MODES], same = 1, *kp[DTF_MAX_MODES];
  if (!a || a->type != DTF_ATTR_INTS || a->n != N)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks its bond ranks (attribute bond_ranks)");
  int *ids = malloc((size_t)rank(c) * sizeof(int));
  if (!ids) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0, k = 0; n < N; n++) {
    if (a->ints[n] < 1 || a->ints[n] > bond(c, n)) {
      free(ids);
      return dtf_error(DTF_ERR_INPUT, "the checkpoint's bond %d has rank %lld, above this run's %d", n + 1,
                       (long long)a->ints[n], bond(c, n));
    }
    newR[n] = (int)a->ints[n];
    same &= newR[n] == bond(c, n);
    kp[n] = ids + k;
    for (int r = 0; r < newR[n]; r++) kp[n][r] = r;
    k += newR[n];
  }
  dtf_status st = same ? DTF_OK : select_components(c, newR, kp);
  free(ids);
  return st;
}

const dtf_em_model_ops_t dtf_tr_em_ops = {"tr",       memory, create,  destroy, nblocks,  block,
                                          covariance, stats,  predict, prior,   balance,  update_prior,
                                          prune,      rank,   ranks,   weights, describe, resize};
