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
#include "dtf/memory.h"
#include "dtf/rng.h"

typedef struct {
  const dtf_grid_t *g;
  int N, R;
  dtf_cp_model_t m; /* lambda 1: the factors carry the scale */
  double *delta, *tau;
  double a1, a2, dsum;             /* dsum: sum_n I_n, the prior's entries per component */
  dtf_cp_model_t out;              /* the model file's normalised copy */
  double *lambda_file;             /* R: a checkpoint's lambda, the data's units over the model's */
  dtf_factor_t cov[DTF_MAX_MODES]; /* each row's posterior covariance, packed */
  double *colsq;                   /* N x R */
  /* each block row's second moment a a^T + C (packed), recomputed when first read after
   * the rows changed: row i of mode n is current when stamp[n][i] == version[n] */
  double *mom[DTF_MAX_MODES];
  uint64_t *stamp[DTF_MAX_MODES], version;
  double *work; /* for the kernels */
  int als;      /* least squares: rows are never rescaled */
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
  for (int n = 0; n < c->N; n++) {
    if (c->cov[n].block) dtf_factor_free(&c->cov[n]);
    free(c->mom[n]);
    free(c->stamp[n]);
    c->mom[n] = NULL;
    c->stamp[n] = NULL;
  }
  free(c->work);
  c->work = NULL;
}

/* the rows changed: every second moment is stale */
static void invalidate(cp_em_t *c) { c->version++; }

/* zero posterior covariances for R components, and room for the second moments */
static dtf_status init_cov(cp_em_t *c, int R) {
  free_cov(c);
  dtf_status st = DTF_OK;
  int64_t T = dtf_packed_size(R);
  for (int n = 0; !st && n < c->N; n++) {
    st = dtf_factor_init(c->g, n, (int)T, &c->cov[n]);
    if (st) break;
    size_t rows = (size_t)(c->cov[n].block_len ? c->cov[n].block_len : 1);
    c->mom[n] = dtf_alloc_large(rows * (size_t)T * sizeof(double));
    c->stamp[n] = calloc(rows, sizeof(uint64_t));
    if (!c->mom[n] || !c->stamp[n])
      st = dtf_error(DTF_ERR_INPUT, "out of memory for the rows' second moments");
  }
  int64_t gw = dtf_rows_gram_work(R);
  c->work = malloc((size_t)(T > gw ? T : gw) * sizeof(double));
  if (!st && !c->work) st = dtf_error(DTF_ERR_INPUT, "out of memory");
  invalidate(c);
  return st;
}

static void destroy(void *model) {
  cp_em_t *c = model;
  free_cov(c);
  if (c->m.lambda) dtf_cp_model_free(&c->m);
  if (c->out.lambda) dtf_cp_model_free(&c->out);
  free(c->lambda_file);
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
  c->als = o->algorithm == DTF_EM_ALS;
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
 * C_n is the Hadamard product of their second moments a_n a_n^T + C_n, and E[h] that of
 * the means: both statistics are MTTKRPs over the observations, of the second moments
 * (D (D + 1) / 2 columns) with the weights and of the rows (D columns) with the targets.
 * ALS has no covariances: the Gram of the design rows is cheaper there (a row of R
 * doubles read per observation and mode, not a second moment of D (D + 1) / 2). */
static dtf_status stats(void *model, int b, const dtf_observed_view_t *v, int64_t count, const int64_t *pos,
                        const double *w, const double *cw, double *out, int64_t ldo, unsigned char *touched) {
  cp_em_t *c = model;
  int N = c->N, R = c->R;
  int64_t T = dtf_packed_size(R);
  const int64_t *inds = v->row_inds[b];
  int64_t rows = c->m.factors[b].block_len;
  const double *F[DTF_MAX_MODES];
  if (c->als) {
    for (int n = 0; n < N; n++) F[n] = c->m.factors[n].block;
    dtf_rows_gram(N, b, rows, v->row_ptr[b], inds, count, pos, w, cw, F, R, out, ldo, touched, c->work);
    return DTF_OK;
  }
  for (int n = 0; n < N; n++) {
    F[n] = c->mom[n];
    if (n == b) continue;
    const double *A = c->m.factors[n].block, *C = c->cov[n].block;
    double *M = c->mom[n];
    uint64_t *stamp = c->stamp[n];
    for (int64_t k = 0; k < count; k++) {
      int64_t i = inds[(pos ? pos[k] : k) * N + n];
      if (stamp[i] == c->version) continue;
      stamp[i] = c->version;
      const double *a = A + i * R, *Ci = C + i * T;
      double *m = M + i * T;
      for (int r = 0, j = 0; r < R; r++)
        for (int u = r; u < R; u++, j++) m[j] = a[r] * a[u] + Ci[j];
    }
  }
  dtf_rows_mttkrp(N, b, v->fibre[b], rows, v->row_ptr[b], inds, count, pos, w, F, (int)T, out, ldo, touched,
                  c->work);
  for (int n = 0; n < N; n++) F[n] = c->m.factors[n].block;
  dtf_rows_mttkrp(N, b, v->fibre[b], rows, v->row_ptr[b], inds, count, pos, cw, F, R, out + T, ldo, NULL,
                  c->work);
  return DTF_OK;
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
  dtf_mgp_delta(c->tau, c->delta, R); /* tau as a checkpoint or a restored copy left it */
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
    dtf_mgp_tau(c->delta, c->tau, R);
  }
  return DTF_OK;
}

/* packed index of (r, u) in an R x R upper triangle, either order */
static int64_t packed_at(int R, int r, int u) {
  int lo = r < u ? r : u, hi = r < u ? u : r;
  return (int64_t)lo * R - (int64_t)lo * (lo - 1) / 2 + (hi - lo);
}

/* copy the kept columns of every factor, in the order of keep (NULL: the first Rn), into
 * a model of Rn components */
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
          c->cov[n].block[i * Tn + j] = old[n].block[i * To + packed_at(R, ro, uo)];
        }
  for (int n = 0; n < c->N; n++)
    if (old[n].block) dtf_factor_free(&old[n]);
  c->R = Rn;
  return st;
}

/* Every component the same norm in every mode, (prod_n ||A_n(:, r)||)^(1/N): predictions
 * stay, the prior's penalty can only fall. Without it a first sweep from random rows left
 * the first factor small, the next modes tiny design rows: sparse data collapsed to zero. */
static dtf_status balance(void *model, int b, double **rescale, int *changed, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  (void)b;
  int R = c->R, N = c->N;
  int64_t T = dtf_packed_size(R);
  *changed = 0;
  invalidate(c);
  if (c->als) return DTF_OK;
  dtf_status st = column_norms(c, 0, stats);
  if (st) return st;
  double *scale = malloc((size_t)(N * R) * sizeof(double));
  if (!scale) return dtf_error(DTF_ERR_INPUT, "out of memory");
  double most = 0; /* the largest weight: below DTF_BALANCE_VANISHED of it, left alone */
  for (int r = 0; r < R; r++) {
    double w = 1;
    for (int n = 0; n < N; n++) w *= sqrt(c->colsq[n * R + r]);
    most = fmax(most, isfinite(w) ? w : 0);
  }
  for (int r = 0; r < R; r++) {
    double logt = 0, w = 1;
    int ok = 1;
    for (int n = 0; n < N; n++) {
      double g = sqrt(c->colsq[n * R + r]);
      ok &= g > 0 && isfinite(g);
      logt += log(g) / N;
      w *= g;
    }
    ok &= w > DTF_BALANCE_VANISHED * most;
    for (int n = 0; n < N; n++) {
      double k = exp(logt) / sqrt(c->colsq[n * R + r]);
      scale[n * R + r] = ok ? fmin(fmax(k, 1 / DTF_BALANCE_STEP), DTF_BALANCE_STEP) : 1.0;
    }
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
  invalidate(c);
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

/* Order of the components by decreasing weight, or NULL's identity while it is nearly
 * so: no component more than twice the one before it. The multiplicative gamma process
 * shrinks later components harder, so it can take away only what sits behind the last
 * strong component; sorted, the weak ones sit there. The slack keeps two components of
 * about the same weight from swapping back and forth. */
static void order(int R, const double *w, double slack, int *idx) {
  for (int r = 0; r < R; r++) idx[r] = r;
  int sorted = 1;
  for (int r = 1; r < R; r++) sorted &= !(w[r] > slack * w[r - 1]);
  if (sorted) return;
  for (int r = 1; r < R; r++) /* insertion sort, stable */
    for (int k = r; k > 0 && w[idx[k]] > w[idx[k - 1]]; k--) {
      int t = idx[k];
      idx[k] = idx[k - 1];
      idx[k - 1] = t;
    }
}

#define MERGE_MAX 3 /* components fused at once */

/* The sum of the s components S[0..s) (S[s-1] the weakest) as s - 1 components, each
 * column u = A_n(:, S) C_n(:, j) in the span of theirs: CP-ALS of rank s - 1 on the
 * sum, in the coordinates of that span, so that only the Grams G_n (R x R) are needed
 * (for mode n: C_n V = P, V = *_{m != n} C_m^T M_m C_m, P = *_{m != n} M_m C_m, M_m
 * the Gram of the s columns). C_n is s x (s - 1) row-major in C[n]. Started from the
 * s - 1 stronger components as they are. Returns the squared error of the fit. */
static double fuse(int N, int R, const double *G, int s, const int *S, double C[][MERGE_MAX * MERGE_MAX]) {
  int k = s - 1;
  double M[DTF_MAX_MODES][MERGE_MAX * MERGE_MAX], MC[DTF_MAX_MODES][MERGE_MAX * MERGE_MAX],
      CMC[DTF_MAX_MODES][MERGE_MAX * MERGE_MAX], work[64];
  double total = 0, err = INFINITY;
  for (int n = 0; n < N; n++) {
    for (int i = 0; i < s; i++)
      for (int j = 0; j < s; j++) M[n][i * s + j] = G[(int64_t)n * R * R + S[i] * R + S[j]];
    for (int i = 0; i < s; i++)
      for (int j = 0; j < k; j++) C[n][i * k + j] = i == j;
  }
  for (int i = 0; i < s; i++)
    for (int j = 0; j < s; j++) {
      double t = 1;
      for (int n = 0; n < N; n++) t *= M[n][i * s + j];
      total += t;
    }
    /* MC = M C (s x k), CMC = C^T M C (k x k) */
#define FUSE_PRODUCTS(n)                                                                                     \
  do {                                                                                                       \
    for (int i = 0; i < s; i++)                                                                              \
      for (int j = 0; j < k; j++) {                                                                          \
        double t = 0;                                                                                        \
        for (int l = 0; l < s; l++) t += M[n][i * s + l] * C[n][l * k + j];                                  \
        MC[n][i * k + j] = t;                                                                                \
      }                                                                                                      \
    for (int i = 0; i < k; i++)                                                                              \
      for (int j = 0; j < k; j++) {                                                                          \
        double t = 0;                                                                                        \
        for (int l = 0; l < s; l++) t += C[n][l * k + i] * MC[n][l * k + j];                                 \
        CMC[n][i * k + j] = t;                                                                               \
      }                                                                                                      \
  } while (0)
  for (int n = 0; n < N; n++) FUSE_PRODUCTS(n);
  for (int it = 0; it < 200; it++) {
    for (int n = 0; n < N; n++) {
      double V[MERGE_MAX * MERGE_MAX], P[MERGE_MAX * MERGE_MAX];
      for (int i = 0; i < k * k; i++) V[i] = 1;
      for (int i = 0; i < s * k; i++) P[i] = 1;
      for (int m = 0; m < N; m++)
        if (m != n) {
          for (int i = 0; i < k * k; i++) V[i] *= CMC[m][i];
          for (int i = 0; i < s * k; i++) P[i] *= MC[m][i];
        }
      int pinv = 0;
      if (dtf_spd_solve(k, V, s, P, work, &pinv)) return INFINITY;
      memcpy(C[n], P, (size_t)(s * k) * sizeof(double));
      FUSE_PRODUCTS(n);
    }
    /* ||sum - fit||^2 = total - 2 <sum, fit> + ||fit||^2 */
    double cross = 0, fit = 0;
    for (int i = 0; i < s; i++)
      for (int j = 0; j < k; j++) {
        double t = 1;
        for (int n = 0; n < N; n++) t *= MC[n][i * k + j];
        cross += t;
      }
    for (int i = 0; i < k * k; i++) {
      double t = 1;
      for (int n = 0; n < N; n++) t *= CMC[n][i];
      fit += t;
    }
    double before = err;
    err = fmax(total - 2 * cross + fit, 0.0);
    if (fabs(before - err) <= 1e-12 * total) break;
  }
#undef FUSE_PRODUCTS
  return err;
}

/* The fused components replace S[0..s-1) (S[s-1] goes): column j of mode n becomes
 * A_n(:, S) C_n(:, j); the Grams and the rows' covariances follow. */
static void join(cp_em_t *c, int s, const int *S, double C[][MERGE_MAX * MERGE_MAX], double *G) {
  int R = c->R, k = s - 1;
  int64_t T = dtf_packed_size(R);
  for (int n = 0; n < c->N; n++) {
    const double *Cn = C[n];
    double *Gn = G + (int64_t)n * R * R, col[MERGE_MAX * MERGE_MAX];
    dtf_factor_t *f = &c->m.factors[n], *P = &c->cov[n];
    for (int64_t i = 0; i < f->block_len; i++) {
      double *a = f->block + i * R, *V = P->block + i * T, u[MERGE_MAX], vs[MERGE_MAX * MERGE_MAX];
      for (int j = 0; j < k; j++) {
        u[j] = 0;
        for (int l = 0; l < s; l++) u[j] += a[S[l]] * Cn[l * k + j];
      }
      for (int j = 0; j < k; j++) a[S[j]] = u[j];
      /* covariances: C^T V_SS C inside, C^T V_Sx with the others */
      for (int x = 0; x < s; x++)
        for (int y = 0; y < s; y++) vs[x * s + y] = V[packed_at(R, S[x], S[y])];
      for (int x = 0; x < R; x++) {
        int in = 0;
        for (int l = 0; l < s; l++) in |= x == S[l];
        if (in) continue;
        for (int j = 0; j < k; j++) {
          u[j] = 0;
          for (int l = 0; l < s; l++) u[j] += Cn[l * k + j] * V[packed_at(R, S[l], x)];
        }
        for (int j = 0; j < k; j++) V[packed_at(R, S[j], x)] = u[j];
      }
      for (int j = 0; j < k; j++)
        for (int jj = j; jj < k; jj++) {
          double t = 0;
          for (int l = 0; l < s; l++)
            for (int ll = 0; ll < s; ll++) t += Cn[l * k + j] * vs[l * s + ll] * Cn[ll * k + jj];
          V[packed_at(R, S[j], S[jj])] = t;
        }
    }
    /* the same on the Gram */
    double Ms[MERGE_MAX * MERGE_MAX];
    for (int x = 0; x < s; x++)
      for (int y = 0; y < s; y++) Ms[x * s + y] = Gn[S[x] * R + S[y]];
    for (int x = 0; x < R; x++) {
      int in = 0;
      for (int l = 0; l < s; l++) in |= x == S[l];
      if (in) continue;
      for (int j = 0; j < k; j++) {
        col[j] = 0;
        for (int l = 0; l < s; l++) col[j] += Cn[l * k + j] * Gn[S[l] * R + x];
      }
      for (int j = 0; j < k; j++) Gn[S[j] * R + x] = Gn[x * R + S[j]] = col[j];
    }
    for (int j = 0; j < k; j++)
      for (int jj = 0; jj < k; jj++) {
        double t = 0;
        for (int l = 0; l < s; l++)
          for (int ll = 0; ll < s; ll++) t += Cn[l * k + j] * Ms[l * s + ll] * Cn[ll * k + jj];
        Gn[S[j] * R + S[jj]] = t;
      }
  }
}

/* Merge, drop, order.
 * - Two components that one rank-one component approximates up to an error of at most
 *   (1 - how->merge) times the weaker one's squared weight are one component split in
 *   two (parallel columns in all modes but one make an exact split): the data cannot
 *   tell the parts apart, what they fit beyond the one is noise, and the prior's pull
 *   towards one of them is slow. They become that rank-one component (join()).
 * - Components below how->tol times the largest weight go.
 * - The rest are ordered for the prior (order()). */
/* component r's weight from the N factor Grams (R x R each) */
static double gram_weight(int N, int R, const double *G, int r) {
  double w = 1;
  for (int n = 0; n < N; n++) w *= sqrt(G[(int64_t)n * R * R + r * R + r]);
  return w;
}

static dtf_status prune(void *model, const dtf_em_reshape_t *how, int *removed, int *moved, int **keep,
                        double **scale, double **T, int *dense, dtf_comm_stats_t *stats) {
  cp_em_t *c = model;
  (void)T;
  *dense = 0;
  int R = c->R, N = c->N, Rn = 0;
  *removed = *moved = 0;
  double w[R], most = 0;
  int alive[R], idx[R];
  double *G = calloc((size_t)(2 * N * R * R), sizeof(double)), *G0 = G + (int64_t)N * R * R;
  if (!G) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0; n < N; n++) {
    const dtf_factor_t *f = &c->m.factors[n];
    dtf_gram(f->own_len, R, dtf_factor_owned(f), G + (int64_t)n * R * R);
  }
  dtf_status st = dtf_allreduce_sum(c->g->comm, G, (int64_t)N * R * R, stats);
  if (st) {
    free(G);
    return st;
  }
  memcpy(G0, G, (size_t)(N * R * R) * sizeof(double));
  memset(w, 0, sizeof w);
  for (int r = 0; r < R; r++) {
    alive[r] = 1;
    w[r] = gram_weight(N, R, G, r);
  }
  /* weakest first: can fewer components stand for it and one or two stronger ones? With
   * each stronger one in turn, then with the two most congruent to it. */
  order(R, w, 1.0, idx);
  for (int a = R - 1; how->merge > 0 && a > 0; a--) {
    int q = idx[a];
    if (!(w[q] > 0)) continue;
    int best[2] = {-1, -1};
    double cong[2] = {-1, -1};
    for (int b = 0; b < a; b++) {
      int r = idx[b];
      if (!alive[r]) continue;
      double t = 1;
      for (int n = 0; n < N; n++) {
        const double *Gn = G + (int64_t)n * R * R;
        t *= fabs(Gn[r * R + q]) / sqrt(Gn[r * R + r] * Gn[q * R + q]);
      }
      if (t > cong[0]) {
        best[1] = best[0];
        cong[1] = cong[0];
        best[0] = r;
        cong[0] = t;
      } else if (t > cong[1]) {
        best[1] = r;
        cong[1] = t;
      }
    }
    int done = 0;
    for (int b = 0; !done && b <= a; b++) {
      int S[MERGE_MAX], s;
      if (b < a) { /* a pair */
        if (!alive[idx[b]]) continue;
        S[0] = idx[b];
        s = 2;
      } else { /* the triple */
        if (best[1] < 0 || MERGE_MAX < 3) break;
        S[0] = best[0];
        S[1] = best[1];
        s = 3;
      }
      S[s - 1] = q;
      double C[DTF_MAX_MODES][MERGE_MAX * MERGE_MAX];
      if (fuse(N, R, G, s, S, C) > (1 - how->merge) * w[q] * w[q]) continue;
      join(c, s, S, C, G);
      invalidate(c);
      for (int j = 0; j < s - 1; j++) w[S[j]] = gram_weight(N, R, G, S[j]);
      alive[q] = 0;
      (*removed)++;
      done = 1;
    }
  }
  for (int r = 0; r < R; r++)
    if (alive[r] && (w[r] = gram_weight(N, R, G, r)) > most) most = w[r];
  int *kp = keep[0], weakest = -1, nalive = 0, below = 0, drop = -1;
  double wn[R];
  for (int r = 0; r < R; r++) {
    below += alive[r] && how->tol > 0 && !(w[r] >= how->tol * most);
    nalive += alive[r];
    if (alive[r] && (weakest < 0 || w[r] < w[weakest])) weakest = r;
  }
  if (how->weakest && !*removed && !below && nalive > 1) drop = weakest; /* on trial */
  for (int r = 0; r < R; r++)
    if (alive[r] && r != drop && (!(how->tol > 0) || w[r] >= how->tol * most)) {
      wn[Rn] = w[r];
      kp[Rn++] = r;
    } else if (alive[r])
      (*removed)++;
  if (Rn == 0) *removed = 0; /* nothing would be left: the model stays as it is */
  order(Rn, wn, 2.0, idx);
  int perm[Rn];
  for (int k = 0; k < Rn; k++) perm[k] = kp[idx[k]];
  memcpy(kp, perm, sizeof perm);
  for (int k = 0; k < Rn; k++) *moved |= kp[k] != k;
  /* block b's design coefficient is the product of the other modes' entries: a joined
   * component's changed by about the ratio of the norms of the changed columns */
  for (int b = 0; b < N; b++) {
    if (b) memcpy(keep[b], kp, (size_t)Rn * sizeof(int));
    for (int k = 0; k < Rn; k++) {
      int r = kp[k];
      scale[b][k] = 1;
      for (int n = 0; n < N; n++) {
        double g = G[(int64_t)n * R * R + r * R + r], g0 = G0[(int64_t)n * R * R + r * R + r];
        /* a column of zeros (kept at --prune 0) has nothing to scale */
        if (n != b && g0 > 0) scale[b][k] *= sqrt(g / g0);
      }
    }
  }
  free(G);
  if (!*removed && !*moved) return DTF_OK;
  double tau[Rn];
  for (int k = 0; k < Rn; k++) tau[k] = c->tau[kp[k]];
  /* the kept components keep their prior precisions: tau follows, delta its ratios */
  st = reshape(c, Rn, kp);
  if (!st) st = alloc_prior(c, Rn);
  if (st) return st;
  memcpy(c->tau, tau, sizeof tau);
  dtf_mgp_delta(c->tau, c->delta, Rn);
  return DTF_OK;
}

static int rank(const void *model) { return ((const cp_em_t *)model)->R; }

static int ranks(const void *model, int *out) {
  out[0] = ((const cp_em_t *)model)->R;
  return 1;
}

/* rows, their covariances and second moments, the prior, the kernels' work */
static double memory(const dtf_grid_t *g, const dtf_em_options_t *o, int *width) {
  double R = o->rank, rows = 0;
  for (int n = 0; n < g->nmodes; n++) rows += (double)g->len[n];
  *width = o->rank;
  return rows * R * 8 + rows * R * (R + 1) * 8 + (g->nmodes + 3) * R * 8 +
         (double)dtf_rows_gram_work(o->rank) * 8;
}

static dtf_status describe(void *model, int checkpoint, double unscale, dtf_state_t *s) {
  cp_em_t *c = model;
  int R = c->R;
  if (checkpoint) { /* the factors as they are, lambda unscale: a CP model of the data as it is */
    double *l = realloc(c->lambda_file, (size_t)R * sizeof(double));
    if (!l) return dtf_error(DTF_ERR_INPUT, "out of memory");
    c->lambda_file = l;
    for (int r = 0; r < R; r++) l[r] = unscale;
    dtf_cp_model_t data_units = c->m;
    data_units.lambda = l;
    dtf_cp_model_describe(&data_units, s);
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
    for (int r = 0; r < R; r++) c->out.lambda[r] = unscale;
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
  invalidate(c); /* the checkpoint's rows replace these */
  if (R == c->R) return DTF_OK;
  dtf_status st = reshape(c, (int)R, NULL);
  if (!st) st = alloc_prior(c, (int)R);
  return st;
}

const dtf_em_model_ops_t dtf_cp_em_ops = {"cp",       memory, create,  destroy, nblocks,  block,
                                          covariance, stats,  predict, prior,   balance,  update_prior,
                                          prune,      rank,   ranks,   weights, describe, resize};
