/* The tensor operations table beyond MTTKRP, dense, sparse and observed entries, against
 * naive loops: the entries view (global indices, stable order, every entry once) and the
 * weighted MTTKRP (weights per entry of the view), 3 to 5 modes, blocks that do not start
 * at 0; the row-order MTTKRP of the completion solvers over subsets of the observations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/observed.h"
#include "dtf/rng.h"
#include "dtf/tensor.h"
#include "naive.h"

static const int64_t shapes[][6] = {
    {3, 7, 5, 3}, {3, 1, 9, 4}, {4, 3, 5, 7, 2}, {4, 6, 1, 5, 3}, {5, 3, 2, 5, 3, 4}, {5, 2, 3, 1, 4, 3},
};

/* C-order position of block-local coordinates */
static int64_t linear(int N, const int64_t *dims, const int64_t *sub) {
  int64_t lin = 0;
  for (int k = 0; k < N; k++) lin = lin * dims[k] + sub[k];
  return lin;
}

/* Walk the view in uneven chunks; W (dense, zero-filled) receives weight(global index) at
 * each entry's cell, which must hold the entry's value in X and be visited once. */
static void check_view(const dtf_tensor_t *t, const double *X, double *W, int64_t expect) {
  int N = t->nmodes;
  int64_t n = t->ops->entries(t), cells = product(N, t->dims);
  assert_int_equal(n, expect);
  char *seen = calloc((size_t)cells, 1);
  int64_t inds[7 * 8];
  double vals[7];
  for (int64_t k0 = 0; k0 < n; k0 += 7) {
    int64_t c = n - k0 < 7 ? n - k0 : 7;
    t->ops->entries_get(t, k0, c, inds, vals);
    for (int64_t j = 0; j < c; j++) {
      int64_t sub[8], glin = 0;
      for (int m = 0; m < N; m++) {
        sub[m] = inds[j * N + m] - t->start[m];
        assert_true(sub[m] >= 0 && sub[m] < t->dims[m]);
        glin = glin * 1000 + inds[j * N + m];
      }
      int64_t at = linear(N, t->dims, sub);
      assert_false(seen[at]);
      seen[at] = 1;
      assert_true(vals[j] == X[at]);
      W[at] = dtf_rng_normal(3, 7, (uint64_t)glin, 0); /* keyed by the global index */
    }
  }
  free(seen);
}

enum { DENSE, SPARSE, OBSERVED };

static void run(int N, const int64_t *dims, int kind, uint64_t seed) {
  int sparse = kind != DENSE;
  int R = 3;
  int64_t n = product(N, dims), start[8];
  for (int m = 0; m < N; m++) start[m] = 2 * m + 1;
  double *X = calloc((size_t)n, sizeof(double)), *W = calloc((size_t)n, sizeof(double));
  int64_t *inds = malloc((size_t)n * N * sizeof(int64_t)), nnz = 0, sub[8] = {0};
  double *vals = malloc((size_t)n * sizeof(double));
  for (int64_t i = 0; i < n; i++) {
    if (dtf_rng_uniform(seed, 5, 0, (uint64_t)i) < 0.45) {
      X[i] = dtf_rng_normal(seed, 6, 0, (uint64_t)i);
      for (int k = 0; k < N; k++) inds[nnz * N + k] = sub[k];
      vals[nnz++] = X[i];
    }
    for (int k = N - 1; k >= 0 && ++sub[k] == dims[k]; k--) sub[k] = 0;
  }
  for (int64_t k = nnz - 1; k > 0; k--) { /* the input order must not matter */
    int64_t j = (int64_t)(dtf_rng_u64(seed, 8, 0, (uint64_t)k) % (uint64_t)(k + 1)), tmp[8];
    double v = vals[k];
    memcpy(tmp, inds + k * N, (size_t)N * sizeof(int64_t));
    memcpy(inds + k * N, inds + j * N, (size_t)N * sizeof(int64_t));
    memcpy(inds + j * N, tmp, (size_t)N * sizeof(int64_t));
    vals[k] = vals[j];
    vals[j] = v;
  }
  dtf_tensor_t *t;
  double *copy = malloc((size_t)n * sizeof(double));
  memcpy(copy, X, (size_t)n * sizeof(double));
  if (kind == OBSERVED) { /* it takes its arrays */
    int64_t *ic = malloc((size_t)(nnz ? nnz : 1) * N * sizeof(int64_t));
    double *vc = malloc((size_t)(nnz ? nnz : 1) * sizeof(double));
    memcpy(ic, inds, (size_t)nnz * N * sizeof(int64_t));
    memcpy(vc, vals, (size_t)nnz * sizeof(double));
    assert_int_equal(dtf_observed_tensor_create(N, start, dims, nnz, ic, vc, &t), DTF_OK);
    free(copy);
  } else if (sparse) {
    assert_int_equal(dtf_sparse_tensor_create(N, start, dims, nnz, inds, vals, &t), DTF_OK);
    free(copy);
  } else
    assert_int_equal(dtf_dense_tensor_wrap(N, start, dims, copy, &t), DTF_OK);
  check_view(t, X, W, sparse ? nnz : n);
  /* the weights in view order */
  int64_t m = t->ops->entries(t), *vi = malloc((size_t)(m ? m : 1) * N * sizeof(int64_t));
  double *w = malloc((size_t)(m ? m : 1) * sizeof(double));
  t->ops->entries_get(t, 0, m, vi, NULL);
  for (int64_t k = 0; k < m; k++) {
    int64_t s2[8];
    for (int q = 0; q < N; q++) s2[q] = vi[k * N + q] - start[q];
    w[k] = W[linear(N, dims, s2)];
  }
  double *F[8];
  for (int k = 0; k < N; k++) {
    F[k] = malloc((size_t)(dims[k] * R) * sizeof(double));
    for (int64_t i = 0; i < dims[k] * R; i++) F[k][i] = dtf_rng_normal(seed, 9, (uint64_t)k, (uint64_t)i);
  }
  for (int rep = 0; rep < 2; rep++) /* twice: the sparse maps are built once, then reused */
    for (int mode = 0; mode < N; mode++) {
      double ref[64], got[64];
      naive_mttkrp(N, dims, W, mode, F, R, ref);
      assert_int_equal(t->ops->weighted_mttkrp(t, mode, (const double *const *)F, w, R, got), DTF_OK);
      assert_true(max_rel_diff(dims[mode] * R, got, ref) < 1e-12);
    }
  for (int k = 0; k < N; k++) free(F[k]);
  dtf_tensor_free(t);
  free(X);
  free(W);
  free(w);
  free(vi);
  free(inds);
  free(vals);
}

static void test_dense_view_and_weighted_mttkrp(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    run((int)shapes[s][0], &shapes[s][1], DENSE, s);
}

static void test_sparse_view_and_weighted_mttkrp(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    run((int)shapes[s][0], &shapes[s][1], SPARSE, s + 40);
}

static void test_observed_view_and_weighted_mttkrp(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    run((int)shapes[s][0], &shapes[s][1], OBSERVED, s + 80);
}

/* dtf_rows_mttkrp over a random subset of each mode's row order, in uneven chunks (a
 * chunk may start inside a row or a fibre, after empty rows), with weights per listed
 * observation and W columns: the naive MTTKRP of the tensor holding those weights; and
 * dtf_rows_gram (chunks of up to 70: one SYRK buffer and a remainder) against the sums of
 * w h h^T and c h over the same observations. */
static void test_rows_mttkrp_subsets(void **state) {
  (void)state;
  enum { W = 5 };
  for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
    int N = (int)shapes[sh][0];
    const int64_t *dims = &shapes[sh][1];
    int64_t n = product(N, dims), *inds = malloc((size_t)n * N * sizeof(int64_t)), nnz = 0, sub[8] = {0};
    double *vals = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++) { /* dense enough for long fibres, sparse enough for empty rows */
      if (dtf_rng_uniform(sh, 5, 1, (uint64_t)i) < 0.6) {
        for (int k = 0; k < N; k++) inds[nnz * N + k] = sub[k];
        vals[nnz++] = 1.0;
      }
      for (int k = N - 1; k >= 0 && ++sub[k] == dims[k]; k--) sub[k] = 0;
    }
    int64_t start[8] = {0};
    dtf_tensor_t *t;
    assert_int_equal(dtf_observed_tensor_create(N, start, dims, nnz, inds, vals, &t), DTF_OK);
    const dtf_observed_view_t *v = dtf_observed_view(t);
    double *F[8], *X = malloc((size_t)n * sizeof(double)), *w = malloc((size_t)(nnz + 1) * sizeof(double));
    int64_t *pos = malloc((size_t)(nnz + 1) * sizeof(int64_t));
    for (int k = 0; k < N; k++) {
      F[k] = malloc((size_t)(dims[k] * W) * sizeof(double));
      for (int64_t i = 0; i < dims[k] * W; i++) F[k][i] = dtf_rng_normal(sh, 9, (uint64_t)k, (uint64_t)i);
    }
    for (int mode = 0; mode < N; mode++) {
      int64_t m = 0;
      memset(X, 0, (size_t)n * sizeof(double));
      for (int64_t p = 0; p < v->nnz; p++)
        if (dtf_rng_uniform(sh, 11, (uint64_t)mode, (uint64_t)p) < 0.7) {
          pos[m] = p;
          w[m] = dtf_rng_normal(sh, 12, (uint64_t)mode, (uint64_t)p);
          X[linear(N, dims, v->row_inds[mode] + p * N)] = w[m++];
        }
      double ref[64 * W], got[64 * W], work[W];
      unsigned char touched[64] = {0};
      naive_mttkrp(N, dims, X, mode, F, W, ref);
      memset(got, 0, sizeof got);
      for (int64_t k0 = 0, c = 1; k0 < m; k0 += c, c = c % 4 + 1) {
        int64_t cnt = m - k0 < c ? m - k0 : c;
        dtf_rows_mttkrp(N, mode, v->fibre[mode], dims[mode], v->row_ptr[mode], v->row_inds[mode], cnt,
                        pos + k0, w + k0, (const double *const *)F, W, got, W, touched, work);
      }
      assert_true(max_rel_diff(dims[mode] * W, got, ref) < 1e-12);
      for (int64_t i = 0; i < dims[mode]; i++) {
        int any = 0;
        for (int64_t k = 0; k < m; k++) any |= v->row_inds[mode][pos[k] * N + mode] == i;
        assert_int_equal(touched[i], any);
      }
      /* the Gram of the design rows with weights |w| and the right-hand side with w */
      enum { T = W * (W + 1) / 2, LD = T + W };
      double gref[64 * LD], ggot[64 * LD], aw[64 * 8], gwork[(64 + W) * W];
      memset(gref, 0, sizeof gref);
      memset(ggot, 0, sizeof ggot);
      for (int64_t k = 0; k < m; k++) {
        const int64_t *ix = v->row_inds[mode] + pos[k] * N;
        double h[W], *o = gref + ix[mode] * LD;
        aw[k] = fabs(w[k]);
        for (int r = 0; r < W; r++) {
          h[r] = 1;
          for (int q = 0; q < N; q++)
            if (q != mode) h[r] *= F[q][ix[q] * W + r];
        }
        for (int r = 0, j = 0; r < W; r++) {
          for (int u = r; u < W; u++, j++) o[j] += aw[k] * h[r] * h[u];
          o[T + r] += w[k] * h[r];
        }
      }
      for (int64_t k0 = 0, c = 70; k0 < m; k0 += c, c = c % 70 + 1) {
        int64_t cnt = m - k0 < c ? m - k0 : c;
        dtf_rows_gram(N, mode, dims[mode], v->row_ptr[mode], v->row_inds[mode], cnt, pos + k0, aw + k0,
                      w + k0, (const double *const *)F, W, ggot, LD, NULL, gwork);
      }
      assert_true(max_rel_diff(dims[mode] * LD, ggot, gref) < 1e-12);
    }
    for (int k = 0; k < N; k++) free(F[k]);
    free(X);
    free(w);
    free(pos);
    dtf_tensor_free(t);
  }
}

/* dtf_norm keeps its value at scales where the sum of squares would underflow to 0 or
 * overflow to Inf. */
static void test_norm_without_overflow(void **state) {
  (void)state;
  enum { N = 1000 };
  double x[N], ref = 0;
  for (int i = 0; i < N; i++) {
    x[i] = dtf_rng_normal(1, 2, 0, (uint64_t)i);
    ref += x[i] * x[i];
  }
  ref = sqrt(ref);
  const double scales[] = {1e-170, 1e155, 1.0};
  for (int k = 0; k < 3; k++) {
    double y[N];
    for (int i = 0; i < N; i++) y[i] = x[i] * scales[k];
    double got = dtf_norm(N, y) / scales[k];
    assert_true(fabs(got - ref) <= 1e-13 * ref);
  }
  assert_true(dtf_pow2_scale(1e155) * 1e155 >= 0.5 && dtf_pow2_scale(1e155) * 1e155 < 1.0);
  assert_true(dtf_pow2_scale(3e-168) * 3e-168 >= 0.5 && dtf_pow2_scale(3e-168) * 3e-168 < 1.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_view_and_weighted_mttkrp),
      cmocka_unit_test(test_sparse_view_and_weighted_mttkrp),
      cmocka_unit_test(test_observed_view_and_weighted_mttkrp),
      cmocka_unit_test(test_rows_mttkrp_subsets),
      cmocka_unit_test(test_norm_without_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
