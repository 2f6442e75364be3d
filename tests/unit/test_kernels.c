/* Node-local kernels against naive reference loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/rng.h"
#include "dtf/tensor.h"
#include "naive.h"

static double *random_array(int64_t n, uint64_t seed) {
  double *x = malloc((size_t)n * sizeof(double));
  for (int64_t i = 0; i < n; i++) x[i] = dtf_rng_normal(seed, 99, 0, (uint64_t)i);
  return x;
}

static const int64_t shapes[][6] = {
    /* nmodes, dims... : 3 to 5 modes, odd sizes, size-1 modes */
    {3, 7, 5, 3},    {3, 1, 9, 4},       {3, 11, 1, 6},      {4, 3, 5, 7, 2},
    {4, 6, 1, 5, 3}, {5, 3, 2, 5, 3, 4}, {5, 2, 3, 1, 4, 3},
};

static void test_mttkrp_kernel_all_modes(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int N = (int)shapes[s][0];
    const int64_t *dims = &shapes[s][1];
    for (int R = 1; R <= 6; R += 5) {
      double *X = random_array(product(N, dims), s + 1);
      double *F[8];
      for (int k = 0; k < N; k++) F[k] = random_array(dims[k] * R, 100 + k);
      for (int mode = 0; mode < N; mode++) {
        double *ref = malloc((size_t)(dims[mode] * R) * sizeof(double));
        double *got = malloc((size_t)(dims[mode] * R) * sizeof(double));
        double *work = malloc((size_t)dtf_dense_mttkrp_work(N, dims, mode, R) * sizeof(double));
        naive_mttkrp(N, dims, X, mode, F, R, ref);
        dtf_dense_mttkrp(N, dims, X, mode, (const double *const *)F, R, work, got);
        assert_true(max_rel_diff(dims[mode] * R, got, ref) < 1e-12);
        free(ref);
        free(got);
        free(work);
      }
      for (int k = 0; k < N; k++) free(F[k]);
      free(X);
    }
  }
}

/* The dense tensor kind's dimension tree must match the naive MTTKRP in every mode,
 * also when factors change between calls (stale partial results would show here). */
static void test_dense_tensor_dimension_tree(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int N = (int)shapes[s][0], R = 4;
    const int64_t *dims = &shapes[s][1];
    double *X = random_array(product(N, dims), s + 7);
    double *copy = malloc((size_t)product(N, dims) * sizeof(double));
    memcpy(copy, X, (size_t)product(N, dims) * sizeof(double));
    dtf_tensor_t *t;
    int64_t zero[8] = {0};
    assert_int_equal(dtf_dense_tensor_wrap(N, zero, dims, copy, &t), DTF_OK);
    double *F[8];
    uint64_t v[8];
    for (int k = 0; k < N; k++) {
      F[k] = random_array(dims[k] * R, 200 + k);
      v[k] = dtf_tensor_next_version();
    }
    for (int sweep = 0; sweep < 2; sweep++)
      for (int mode = 0; mode < N; mode++) {
        double ref[64], got[64];
        naive_mttkrp(N, dims, X, mode, F, R, ref);
        assert_int_equal(t->ops->mttkrp(t, mode, (const double *const *)F, v, R, got), DTF_OK);
        assert_true(max_rel_diff(dims[mode] * R, got, ref) < 1e-12);
        /* change the factor as ALS would */
        for (int64_t i = 0; i < dims[mode] * R; i++) F[mode][i] = 0.5 * F[mode][i] + 0.1 * (double)i;
        v[mode] = dtf_tensor_next_version();
      }
    for (int k = 0; k < N; k++) free(F[k]);
    dtf_tensor_free(t);
    free(X);
  }
}

/* The sparse kind (one CSF tree per mode) against the dense kernel on the same tensor:
 * every mode, 3 to 5 modes, empty slices, duplicate coordinates, and no nonzeros. */
static void test_sparse_matches_dense(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int N = (int)shapes[s][0], R = 3;
    const int64_t *dims = &shapes[s][1];
    int64_t n = product(N, dims);
    for (int variant = 0; variant < 2; variant++) { /* 0: ~40% dense, 1: no nonzeros */
      double *X = calloc((size_t)n, sizeof(double));
      int64_t *inds = malloc((size_t)(n + 2) * N * sizeof(int64_t));
      double *vals = malloc((size_t)(n + 2) * sizeof(double));
      int64_t nnz = 0, sub[8] = {0};
      for (int64_t i = 0; i < n; i++) {
        /* keep index 0 of the last mode empty: an empty slice */
        if (variant == 0 && sub[N - 1] != 0 && dtf_rng_uniform(s, 5, 0, (uint64_t)i) < 0.4) {
          X[i] = dtf_rng_normal(s, 6, 0, (uint64_t)i);
          for (int k = 0; k < N; k++) inds[nnz * N + k] = sub[k];
          vals[nnz++] = X[i];
        }
        for (int k = N - 1; k >= 0 && ++sub[k] == dims[k]; k--) sub[k] = 0;
      }
      if (nnz > 0) { /* split the first entry into two duplicates that add up to it */
        memcpy(inds + nnz * N, inds, (size_t)N * sizeof(int64_t));
        vals[nnz] = 0.25 * vals[0];
        vals[0] *= 0.75;
        nnz++;
      }
      dtf_tensor_t *t;
      int64_t zero[8] = {0};
      assert_int_equal(dtf_sparse_tensor_create(N, zero, dims, nnz, inds, vals, &t), DTF_OK);
      assert_int_equal(t->ops->entries(t), nnz > 0 ? nnz - 1 : 0); /* the duplicate merged */
      double *F[8];
      uint64_t v[8] = {0};
      for (int k = 0; k < N; k++) F[k] = random_array(dims[k] * R, 600 + k);
      for (int mode = 0; mode < N; mode++) {
        double ref[64], got[64];
        naive_mttkrp(N, dims, X, mode, F, R, ref);
        assert_int_equal(t->ops->mttkrp(t, mode, (const double *const *)F, v, R, got), DTF_OK);
        assert_true(max_rel_diff(dims[mode] * R, got, ref) < 1e-12);
        if (variant == 1)
          for (int64_t i = 0; i < dims[mode] * R; i++) assert_true(got[i] == 0.0);
      }
      double norm = dtf_norm(n, X); /* of the tensor, duplicates summed */
      assert_true(fabs(t->ops->norm(t) - norm) <= 1e-12 * norm);
      for (int k = 0; k < N; k++) free(F[k]);
      dtf_tensor_free(t);
      free(X);
      free(inds);
      free(vals);
    }
  }
}

static void test_khatri_rao(void **state) {
  (void)state;
  int64_t rows[3] = {3, 4, 2};
  int R = 3;
  double *F[3];
  for (int k = 0; k < 3; k++) F[k] = random_array(rows[k] * R, 300 + k);
  double out[24 * 3];
  dtf_khatri_rao(3, (const double *const *)F, rows, R, out);
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 2; c++)
        for (int r = 0; r < R; r++)
          assert_true(fabs(out[((a * 4 + b) * 2 + c) * R + r] -
                           F[0][a * R + r] * F[1][b * R + r] * F[2][c * R + r]) < 1e-15);
  dtf_khatri_rao(0, NULL, rows, R, out);
  for (int r = 0; r < R; r++) assert_true(out[r] == 1.0);
  for (int k = 0; k < 3; k++) free(F[k]);
}

static void test_cp_full_and_norm(void **state) {
  (void)state;
  int64_t dims[3] = {4, 3, 5};
  int R = 2;
  double *F[3];
  for (int k = 0; k < 3; k++) F[k] = random_array(dims[k] * R, 400 + k);
  double X[60], work[64];
  assert_true(dtf_cp_full_work(3, dims, R) <= 64);
  dtf_cp_full(3, dims, (const double *const *)F, R, work, X);
  double ss = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 5; k++) {
        double v = 0;
        for (int r = 0; r < R; r++) v += F[0][i * R + r] * F[1][j * R + r] * F[2][k * R + r];
        assert_true(fabs(X[(i * 3 + j) * 5 + k] - v) < 1e-13);
        ss += v * v;
      }
  double G[3][4], lambda[2] = {1, 1};
  const double *Gp[3] = {G[0], G[1], G[2]};
  for (int k = 0; k < 3; k++) dtf_gram(dims[k], R, F[k], G[k]);
  assert_true(fabs(dtf_cp_norm2(3, R, lambda, Gp) - ss) < 1e-10 * ss);
  for (int k = 0; k < 3; k++) free(F[k]);
}

static void test_spd_solve(void **state) {
  (void)state;
  int R = 4;
  int64_t rows = 70; /* more than one pseudo-inverse chunk */
  double *A = random_array(10 * R, 500), V[16],
         *work = malloc((size_t)dtf_spd_solve_work(R) * sizeof(double));
  dtf_gram(10, R, A, V);
  double *Xt = random_array(rows * R, 501), *B = malloc((size_t)(rows * R) * sizeof(double));
  for (int64_t i = 0; i < rows; i++)
    for (int r = 0; r < R; r++) {
      B[i * R + r] = 0;
      for (int q = 0; q < R; q++) B[i * R + r] += Xt[i * R + q] * V[q * R + r];
    }
  int pinv = -1;
  assert_int_equal(dtf_spd_solve(R, V, rows, B, work, &pinv), DTF_OK);
  assert_int_equal(pinv, 0);
  assert_true(max_rel_diff(rows * R, B, Xt) < 1e-8);

  /* singular V (two equal columns of A): the pseudo-inverse gives the minimum-norm
   * solution, which still reproduces B = X V */
  for (int i = 0; i < 10; i++) A[i * R + 3] = A[i * R + 2];
  dtf_gram(10, R, A, V);
  for (int64_t i = 0; i < rows; i++)
    for (int r = 0; r < R; r++) {
      B[i * R + r] = 0;
      for (int q = 0; q < R; q++) B[i * R + r] += Xt[i * R + q] * V[q * R + r];
    }
  double *B0 = malloc((size_t)(rows * R) * sizeof(double));
  memcpy(B0, B, (size_t)(rows * R) * sizeof(double));
  assert_int_equal(dtf_spd_solve(R, V, rows, B, work, &pinv), DTF_OK);
  assert_int_equal(pinv, 1);
  for (int64_t i = 0; i < rows; i++) {
    assert_true(fabs(B[i * R + 2] - B[i * R + 3]) < 1e-8 * (1 + fabs(B[i * R + 2])));
    for (int r = 0; r < R; r++) {
      double v = 0;
      for (int q = 0; q < R; q++) v += B[i * R + q] * V[q * R + r];
      assert_true(fabs(v - B0[i * R + r]) < 1e-8 * (1 + fabs(B0[i * R + r])));
    }
  }
  V[5] = NAN;
  assert_int_equal(dtf_spd_solve(R, V, rows, B, work, &pinv), DTF_ERR_NUMERIC);
  free(A);
  free(Xt);
  free(B);
  free(B0);
  free(work);
}

/* the C-order offset of index idx in dims */
static int64_t offset_of(int N, const int64_t *dims, const int64_t *idx) {
  int64_t o = 0;
  for (int k = 0; k < N; k++) o = o * dims[k] + idx[k];
  return o;
}

static int next_index(int N, const int64_t *dims, int64_t *idx) {
  for (int k = N - 1; k >= 0; k--) {
    if (++idx[k] < dims[k]) return 1;
    idx[k] = 0;
  }
  return 0;
}

/* Tucker: the unfolding by columns, the n-mode product both ways (and written over its
 * input, in chunks of 1 and 2), and a core contracted with one row per mode, against naive
 * loops over every index */
static void test_tucker_kernels(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int N = (int)shapes[s][0];
    const int64_t *dims = shapes[s] + 1;
    int64_t total = 1;
    for (int k = 0; k < N; k++) total *= dims[k];
    double *X = random_array(total, 70 + s);
    for (int n = 0; n < N; n++) {
      int64_t L = dims[n], M = total / L, rows = 3;
      /* unfold columns [1, M - 1) times 2 against X_(n)(i, j), j the C-order rank of the other indices */
      double *U = malloc((size_t)(L * M + 1) * sizeof(double));
      int64_t j0 = M > 2 ? 1 : 0, j1 = M > 2 ? M - 1 : M;
      dtf_unfold_columns(N, dims, n, X, j0, j1, 2.0, U);
      int64_t idx[8] = {0};
      do {
        int64_t j = 0;
        for (int k = 0; k < N; k++)
          if (k != n) j = j * dims[k] + idx[k];
        if (j >= j0 && j < j1)
          assert_true(U[idx[n] * (j1 - j0) + (j - j0)] == 2.0 * X[offset_of(N, dims, idx)]);
      } while (next_index(N, dims, idx));
      /* Y = 0.5 op(A) x_n X, op(A) = A (rows x L) or A^T (A L x rows) */
      for (int trans = 0; trans < 2; trans++) {
        double *A = random_array(rows * L, 90 + n);
        int64_t yd[8];
        memcpy(yd, dims, (size_t)N * sizeof(int64_t));
        yd[n] = rows;
        double *Y = malloc((size_t)(total / L * rows) * sizeof(double));
        dtf_ttm(N, dims, n, X, trans, A, rows, 0.5, Y);
        memset(idx, 0, sizeof idx);
        do {
          double ref = 0;
          int64_t xi[8];
          memcpy(xi, idx, sizeof xi);
          for (int64_t i = 0; i < L; i++) {
            xi[n] = i;
            ref += (trans ? A[i * rows + idx[n]] : A[idx[n] * L + i]) * X[offset_of(N, dims, xi)];
          }
          assert_true(fabs(Y[offset_of(N, yd, idx)] - 0.5 * ref) <= 1e-12 * (1 + fabs(ref)));
        } while (next_index(N, yd, idx));
        if (trans && rows <= L) /* the same product written over a copy of X, chunks of 1 and 2 */
          for (int64_t chunk = 1; chunk <= 2; chunk++) {
            double *Z = malloc((size_t)total * sizeof(double)),
                   *w = malloc((size_t)(rows * chunk) * sizeof(double));
            memcpy(Z, X, (size_t)total * sizeof(double));
            dtf_ttm_inplace(N, dims, n, Z, A, rows, 0.5, w, chunk);
            for (int64_t k = 0; k < total / L * rows; k++)
              assert_true(fabs(Z[k] - Y[k]) <= 1e-13 * (1 + fabs(Y[k])));
            free(Z);
            free(w);
          }
        free(A);
        free(Y);
      }
      free(U);
    }
    /* a core of shape dims contracted with one row per mode */
    int ranks[8];
    for (int k = 0; k < N; k++) ranks[k] = (int)dims[k];
    double *rows[8], *work = malloc((size_t)dtf_tucker_point_work(N, ranks) * sizeof(double));
    for (int k = 0; k < N; k++) rows[k] = random_array(dims[k], 120 + k);
    double ref = 0;
    int64_t idx[8] = {0};
    do {
      double p = X[offset_of(N, dims, idx)];
      for (int k = 0; k < N; k++) p *= rows[k][idx[k]];
      ref += p;
    } while (next_index(N, dims, idx));
    double got = dtf_tucker_point(N, ranks, X, (const double *const *)rows, work);
    assert_true(fabs(got - ref) <= 1e-12 * (1 + fabs(ref)));
    for (int k = 0; k < N; k++) free(rows[k]);
    free(work);
    free(X);
  }
}

static void test_rng_is_keyed(void **state) {
  (void)state;
  assert_true(dtf_rng_u64(1, 2, 3, 4) == dtf_rng_u64(1, 2, 3, 4));
  assert_true(dtf_rng_u64(1, 2, 3, 4) != dtf_rng_u64(1, 2, 3, 5));
  assert_true(dtf_rng_u64(1, 2, 3, 4) != dtf_rng_u64(2, 2, 3, 4));
  double s = 0, s2 = 0;
  int n = 100000;
  for (int i = 0; i < n; i++) {
    double u = dtf_rng_uniform(7, 1, 0, (uint64_t)i);
    assert_true(u >= 0 && u < 1);
    double z = dtf_rng_normal(7, 1, 1, (uint64_t)i);
    s += z;
    s2 += z * z;
  }
  assert_true(fabs(s / n) < 0.02);
  assert_true(fabs(s2 / n - 1) < 0.02);
}

/* HALS and BPP: one HALS pass equals the column-at-a-time reference (each column over all rows, as
 * PLANC's formula reads); many passes reach the KKT conditions of nonnegative least
 * squares (nonneg; BPP's exact solution) or the normal equations' solution (without the
 * constraint). */
static void test_hals_rows(void **state) {
  (void)state;
  enum { R = 5, ROWS = 7 };
  double B[ROWS * R], V[R * R], M[ROWS * R], A[ROWS * R], ref[ROWS * R];
  for (int i = 0; i < ROWS * R; i++) B[i] = dtf_rng_normal(11, 1, 0, (uint64_t)i);
  for (int i = 0; i < ROWS * R; i++) M[i] = dtf_rng_normal(11, 2, 0, (uint64_t)i);
  dtf_gram(ROWS, R, B, V);
  for (int r = 0; r < R; r++) V[r * R + r] += 0.1; /* well conditioned */
  for (int nonneg = 0; nonneg <= 1; nonneg++) {
    for (int i = 0; i < ROWS * R; i++) A[i] = ref[i] = fabs(dtf_rng_normal(11, 3, 0, (uint64_t)i));
    dtf_hals_rows(R, V, ROWS, M, A, nonneg);
    for (int r = 0; r < R; r++) /* the reference: column r of every row, then the next column */
      for (int i = 0; i < ROWS; i++) {
        double g = M[i * R + r];
        for (int q = 0; q < R; q++) g -= ref[i * R + q] * V[q * R + r];
        double x = ref[i * R + r] + g / V[r * R + r];
        ref[i * R + r] = nonneg && x < DTF_HALS_FLOOR ? DTF_HALS_FLOOR : x;
      }
    assert_true(max_rel_diff(ROWS * R, A, ref) < 1e-14);
    for (int pass = 0; pass < 2000; pass++) dtf_hals_rows(R, V, ROWS, M, A, nonneg);
    double exact[ROWS * R], *work = malloc((size_t)dtf_spd_solve_work(R) * sizeof(double));
    int pinv = 0;
    memcpy(exact, M, sizeof exact);
    assert_int_equal(dtf_spd_solve(R, V, ROWS, exact, work, &pinv), DTF_OK);
    free(work);
    int active = 0;
    for (int i = 0; i < ROWS; i++)
      for (int r = 0; r < R; r++) {
        double g = -M[i * R + r]; /* the gradient of 1/2 a V a^T - a m */
        for (int q = 0; q < R; q++) g += A[i * R + q] * V[q * R + r];
        if (!nonneg) {
          assert_true(fabs(A[i * R + r] - exact[i * R + r]) < 1e-10);
          continue;
        }
        assert_true(A[i * R + r] >= 0);
        if (A[i * R + r] > 1e-12)
          assert_true(fabs(g) < 1e-10); /* free: stationary */
        else
          assert_true(g > -1e-10), active++; /* at the bound: pushing outwards */
      }
    if (nonneg) assert_true(active > 0); /* the constraint was binding somewhere */
    if (!nonneg) continue;
    /* block principal pivoting solves the same problem exactly, from no start at all */
    double got[ROWS * R], *bw = malloc((size_t)dtf_bpp_work(R) * sizeof(double));
    assert_int_equal(dtf_bpp_rows(R, V, ROWS, M, got, bw), DTF_OK);
    for (int i = 0; i < ROWS * R; i++) assert_true(fabs(got[i] - (A[i] > 1e-12 ? A[i] : 0)) < 1e-10);
    double Vnan[R * R]; /* a non-finite entry is refused, not pivoted on */
    memcpy(Vnan, V, sizeof Vnan);
    Vnan[R + 2] = NAN;
    assert_int_equal(dtf_bpp_rows(R, Vnan, ROWS, M, got, bw), DTF_ERR_NUMERIC);
    assert_int_equal(dtf_normal_check(R, Vnan), DTF_ERR_NUMERIC);
    assert_int_equal(dtf_normal_check(R, V), DTF_OK);
    free(bw);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_khatri_rao),
      cmocka_unit_test(test_mttkrp_kernel_all_modes),
      cmocka_unit_test(test_dense_tensor_dimension_tree),
      cmocka_unit_test(test_sparse_matches_dense),
      cmocka_unit_test(test_cp_full_and_norm),
      cmocka_unit_test(test_spd_solve),
      cmocka_unit_test(test_hals_rows),
      cmocka_unit_test(test_rng_is_keyed),
      cmocka_unit_test(test_tucker_kernels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
