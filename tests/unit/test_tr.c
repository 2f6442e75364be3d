/* The tensor-ring kernels against naive loops, 3 to 5 modes, unequal bond ranks: the
 * chain products, the design rows, the dense and entry-wise contractions, the Gram of
 * the design rows and ||model||^2 from the transfer matrices, and TR-SVD. */
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
#include "naive.h"

typedef struct {
  int N;
  int64_t dims[5];
  int ranks[5];
} shape_t;

static const shape_t shapes[] = {
    {3, {4, 5, 3}, {2, 3, 4}},
    {4, {3, 4, 2, 5}, {3, 2, 2, 3}},
    {5, {2, 3, 2, 3, 2}, {2, 2, 3, 2, 2}},
};

static double *random_cores(const shape_t *s, uint64_t seed, double **cores) {
  for (int n = 0; n < s->N; n++) {
    int64_t len = s->dims[n] * s->ranks[n] * s->ranks[(n + 1) % s->N];
    cores[n] = malloc((size_t)len * sizeof(double));
    for (int64_t i = 0; i < len; i++) cores[n][i] = dtf_rng_normal(seed, 1, (uint64_t)n, (uint64_t)i);
  }
  return NULL;
}

/* Z (R_from x R_to) = G_from[i_from] ... over `count` cores cyclically from `from` */
static void naive_chain(const shape_t *s, double *const *cores, const int64_t *ix, int from, int count,
                        double *Z) {
  int N = s->N, k = from % N, rows = s->ranks[k], cols = s->ranks[(k + 1) % N];
  double a[64], b[64];
  memcpy(a, cores[k] + ix[k] * rows * cols, (size_t)rows * cols * sizeof(double));
  for (int c = 1; c < count; c++) {
    k = (k + 1) % N;
    int next = s->ranks[(k + 1) % N];
    const double *g = cores[k] + ix[k] * cols * next;
    for (int i = 0; i < rows; i++)
      for (int j = 0; j < next; j++) {
        double t = 0;
        for (int l = 0; l < cols; l++) t += a[i * cols + l] * g[l * next + j];
        b[i * next + j] = t;
      }
    memcpy(a, b, (size_t)rows * next * sizeof(double));
    cols = next;
  }
  memcpy(Z, a, (size_t)rows * cols * sizeof(double));
}

static double naive_value(const shape_t *s, double *const *cores, const int64_t *ix) {
  double Z[64];
  naive_chain(s, cores, ix, 0, s->N, Z);
  double t = 0;
  for (int a = 0; a < s->ranks[0]; a++) t += Z[a * s->ranks[0] + a];
  return t;
}

/* h (R_n x R_{n+1}) = (G_{n+1} ... G_{n-1})^T */
static void naive_design(const shape_t *s, double *const *cores, const int64_t *ix, int n, double *h) {
  int N = s->N, Rn = s->ranks[n], Rn1 = s->ranks[(n + 1) % N];
  double Z[64];
  naive_chain(s, cores, ix, n + 1, N - 1, Z);
  for (int a = 0; a < Rn; a++)
    for (int b = 0; b < Rn1; b++) h[a * Rn1 + b] = Z[b * Rn + a];
}

static void next_index(int N, const int64_t *dims, int64_t *sub) {
  for (int k = N - 1; k >= 0 && ++sub[k] == dims[k]; k--) sub[k] = 0;
}

static void test_chain_and_design(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
    const shape_t *s = &shapes[c];
    int N = s->N;
    double *cores[5];
    random_cores(s, c, cores);
    /* the chain of the first N - 1 modes, every tuple */
    int64_t k = N - 1, P = product((int)k, s->dims);
    double *out = malloc((size_t)dtf_tr_chain_size((int)k, s->dims, s->ranks) * sizeof(double));
    double *work = malloc((size_t)dtf_tr_chain_work((int)k, s->dims, s->ranks) * sizeof(double));
    dtf_tr_chain((int)k, s->dims, s->ranks, (const double *const *)cores, out, work);
    int64_t sub[5] = {0};
    int R0 = s->ranks[0], Rk = s->ranks[k];
    for (int64_t t = 0; t < P; t++, next_index((int)k, s->dims, sub)) {
      double Z[64];
      naive_chain(s, cores, sub, 0, (int)k, Z);
      assert_true(max_rel_diff(R0 * Rk, out + t * R0 * Rk, Z) < 1e-12);
    }
    /* design rows: <G_n[i_n], h> is the entry, for every mode */
    double h[64], w[256];
    memset(sub, 0, sizeof sub);
    for (int64_t e = 0; e < product(N, s->dims); e++, next_index(N, s->dims, sub))
      for (int n = 0; n < N; n++) {
        double ref[64];
        int D = s->ranks[n] * s->ranks[(n + 1) % N];
        dtf_tr_design(N, n, s->ranks, (const double *const *)cores, sub, h, w);
        naive_design(s, cores, sub, n, ref);
        assert_true(max_rel_diff(D, h, ref) < 1e-12);
        double x = 0;
        for (int j = 0; j < D; j++) x += cores[n][sub[n] * D + j] * h[j];
        double want = naive_value(s, cores, sub);
        assert_true(fabs(x - want) <= 1e-12 * fmax(1, fabs(want)));
      }
    free(out);
    free(work);
    for (int n = 0; n < N; n++) free(cores[n]);
  }
}

/* dense and entry-wise contractions against sum X(i) h(i); the Gram against sum h h^T */
static void test_contractions_and_gram(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
    const shape_t *s = &shapes[c];
    int N = s->N;
    int64_t cells = product(N, s->dims);
    double *cores[5], *X = malloc((size_t)cells * sizeof(double));
    random_cores(s, c + 10, cores);
    int64_t *inds = malloc((size_t)cells * N * sizeof(int64_t)), nnz = 0, sub[5] = {0};
    double *vals = malloc((size_t)cells * sizeof(double)), nm2 = 0;
    for (int64_t e = 0; e < cells; e++, next_index(N, s->dims, sub)) {
      X[e] = dtf_rng_normal(c, 2, 0, (uint64_t)e);
      double y = naive_value(s, cores, sub);
      nm2 += y * y;
      if (dtf_rng_uniform(c, 3, 0, (uint64_t)e) < 0.4) { /* the entries a sparse block would hold */
        memcpy(inds + nnz * N, sub, (size_t)N * sizeof(int64_t));
        vals[nnz++] = X[e];
      }
    }
    double *G[5], work[16384];
    for (int n = 0; n < N; n++) {
      int Ra = s->ranks[n], Rb = s->ranks[(n + 1) % N];
      G[n] = malloc((size_t)Ra * Ra * Rb * Rb * sizeof(double));
      dtf_tr_transfer(s->dims[n], Ra, Rb, cores[n], G[n], work);
    }
    assert_true(fabs(dtf_tr_norm2(N, s->ranks, (const double *const *)G, work) - nm2) <= 1e-10 * nm2);
    for (int n = 0; n < N; n++) {
      int D = s->ranks[n] * s->ranks[(n + 1) % N];
      int64_t In = s->dims[n];
      double *ref = calloc((size_t)(In * D), sizeof(double)),
             *sref = calloc((size_t)(In * D), sizeof(double));
      double *got = malloc((size_t)(In * D) * sizeof(double)),
             *sgot = calloc((size_t)(In * D), sizeof(double));
      double Vref[4096] = {0}, V[4096], h[64];
      memset(sub, 0, sizeof sub);
      for (int64_t e = 0; e < cells; e++, next_index(N, s->dims, sub)) {
        naive_design(s, cores, sub, n, h);
        for (int j = 0; j < D; j++) ref[sub[n] * D + j] += X[e] * h[j];
        if (sub[n] == 0) /* the Gram sums over the other modes' indices only */
          for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) Vref[a * D + b] += h[a] * h[b];
      }
      for (int64_t e = 0; e < nnz; e++) {
        naive_design(s, cores, inds + e * N, n, h);
        for (int j = 0; j < D; j++) sref[inds[e * N + n] * D + j] += vals[e] * h[j];
      }
      double *dw = malloc((size_t)dtf_tr_dense_work(N, s->dims, s->ranks, n) * sizeof(double));
      dtf_tr_dense_contract(N, s->dims, X, n, (const double *const *)cores, s->ranks, got, dw);
      assert_true(max_rel_diff(In * D, got, ref) < 1e-12);
      dtf_tr_entries_contract(N, n, s->ranks, (const double *const *)cores, nnz, inds, vals, sgot, work);
      assert_true(max_rel_diff(In * D, sgot, sref) < 1e-12);
      dtf_tr_gram(N, n, s->ranks, (const double *const *)G, V, work);
      assert_true(max_rel_diff(D * D, V, Vref) < 1e-12);
      free(dw);
      free(ref);
      free(sref);
      free(got);
      free(sgot);
    }
    for (int n = 0; n < N; n++) free(cores[n]), free(G[n]);
    free(X);
    free(inds);
    free(vals);
  }
}

/* TR-SVD of a tensor train (a ring whose closing bond R_1 is 1) of the requested bonds
 * reproduces it: the sequential SVDs are then TT-SVD, exact at the true ranks. (For a ring
 * with R_1 > 1 the split of the first unfolding's R_1 R_2 columns into two bonds is one of
 * many, and the later unfoldings may need larger ranks: TR-SVD is a start, not a fit.) */
static void test_tr_svd_exact(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
    shape_t s = shapes[c];
    int N = s.N;
    for (int n = 0; n < N; n++) s.dims[n] += 6; /* unfoldings of full rank */
    s.ranks[0] = 1;
    int64_t cells = product(N, s.dims), sub[5] = {0};
    double *cores[5], *got[5], *X = malloc((size_t)cells * sizeof(double));
    random_cores(&s, c + 20, cores);
    for (int64_t e = 0; e < cells; e++, next_index(N, s.dims, sub)) X[e] = naive_value(&s, cores, sub);
    for (int n = 0; n < N; n++)
      got[n] = malloc((size_t)(s.dims[n] * s.ranks[n] * s.ranks[(n + 1) % N]) * sizeof(double));
    double *work = malloc((size_t)dtf_tr_svd_work(N, s.dims, s.ranks) * sizeof(double));
    assert_int_equal(dtf_tr_svd(N, s.dims, X, s.ranks, got, work), DTF_OK);
    double err = 0, nx = 0;
    memset(sub, 0, sizeof sub);
    for (int64_t e = 0; e < cells; e++, next_index(N, s.dims, sub)) {
      double y = naive_value(&s, got, sub);
      err += (y - X[e]) * (y - X[e]);
      nx += X[e] * X[e];
    }
    assert_true(sqrt(err / nx) < 1e-9);
    for (int n = 0; n < N; n++) free(cores[n]), free(got[n]);
    free(X);
    free(work);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain_and_design),
      cmocka_unit_test(test_contractions_and_gram),
      cmocka_unit_test(test_tr_svd_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
